// Slot masks as colour: each pixel of the image tinted with the slots' colours, weighted by how much each
// slot attends there, so one picture shows which slot took which object (a legend names the colours).

import SVQData

public enum SlotOverlay {
    /// Slot `s`'s colour.
    public static func colour(slot s: Int) -> Colour { Colour.categorical[s % Colour.categorical.count] }

    /// How much of a pixel is tint: the rest is the image, so objects stay recognisable under their colour.
    public static let tint = 0.6

    /// `image` blended with Σ_s attention_s · colour(s); `attention` is `[slots, H·W]` row-major per slot
    /// (values clamped to [0, 1]).
    public static func image(_ image: RGBImage, attention: [Float], slots: Int) -> RGBImage {
        let plane = image.width * image.height
        precondition(attention.count == slots * plane, "\(attention.count) attention values for \(slots) slots of a \(image.width)×\(image.height) image")
        var out = image
        for p in 0..<plane {
            var mix = (0.0, 0.0, 0.0)
            for s in 0..<slots {
                let a = Double(min(max(attention[s * plane + p], 0), 1)), c = colour(slot: s)
                mix = (mix.0 + a * c.red, mix.1 + a * c.green, mix.2 + a * c.blue)
            }
            for (k, m) in [mix.0, mix.1, mix.2].enumerated() {
                let v = (1 - tint) * Double(image.pixels[3 * p + k]) + tint * 255 * min(m, 1)
                out.pixels[3 * p + k] = UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return out
    }

    /// The legend entries for `slots` slots.
    public static func legend(slots: Int) -> [(label: String, colour: Colour)] {
        (0..<slots).map { ("slot \($0)", colour(slot: $0)) }
    }
}
