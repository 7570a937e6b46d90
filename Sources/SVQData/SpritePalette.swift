// The 7 colours of the 2D Sprites dataset: corners of the RGB cube (every channel 0 or 255), so any two
// differ by a full 255 in at least one channel and each stays recognisable by its hue alone when blended
// with the black background at anti-aliased edges (the scene parser relies on this).

/// The sprite colours, in dataset index order.
public enum SpritePalette {
    public struct Colour: Codable, Equatable, Sendable {
        public let name: String
        public let rgb: [UInt8]
    }

    public static let colours: [Colour] = [
        Colour(name: "red", rgb: [255, 0, 0]),
        Colour(name: "green", rgb: [0, 255, 0]),
        Colour(name: "blue", rgb: [0, 0, 255]),
        Colour(name: "yellow", rgb: [255, 255, 0]),
        Colour(name: "magenta", rgb: [255, 0, 255]),
        Colour(name: "cyan", rgb: [0, 255, 255]),
        Colour(name: "white", rgb: [255, 255, 255]),
    ]

    public static var names: [String] { colours.map(\.name) }
}
