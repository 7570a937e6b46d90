// What a 2D Sprites dataset looks like: image size, object counts and sizes, how many shapes and colours,
// the attribute rule (variant) and the background. Stored in `dataset.json` so a dataset describes itself.

/// How object attributes are drawn.
public enum SpriteVariant: String, Codable, CaseIterable, Sendable {
    /// Each object's shape and colour independent and uniform.
    case random
    /// Scenes satisfying the odd-one-out rule (see `OddOneOut` and `SpriteGenerator`).
    case oddOneOut = "odd-one-out"
}

/// What the objects are drawn on.
public enum SpriteBackground: String, Codable, CaseIterable, Sendable {
    case black
    /// A smooth procedural texture of dim sinusoidal gratings (no channel above 0.35).
    case textured
}

public struct SpriteOptions: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var minObjects: Int
    public var maxObjects: Int
    /// Range of the drawing box's side in pixels (uniform integer).
    public var minObjectSize: Int
    public var maxObjectSize: Int
    /// How many shapes and colours are used: the first k of `SpriteShape.allCases` and `SpritePalette.colours`.
    public var shapes: Int
    public var colours: Int
    public var variant: SpriteVariant
    public var background: SpriteBackground
    public var seed: UInt64

    public init(imageSize: Int = 64, minObjects: Int = 3, maxObjects: Int = 4, minObjectSize: Int = 14,
                maxObjectSize: Int = 20, shapes: Int = 12, colours: Int = 7, variant: SpriteVariant = .oddOneOut,
                background: SpriteBackground = .black, seed: UInt64 = 0) {
        self.imageSize = imageSize
        self.minObjects = minObjects
        self.maxObjects = maxObjects
        self.minObjectSize = minObjectSize
        self.maxObjectSize = maxObjectSize
        self.shapes = shapes
        self.colours = colours
        self.variant = variant
        self.background = background
        self.seed = seed
    }

    /// Empty space required between any two drawing boxes, in pixels.
    public static let minimumGap = 2

    /// Throws `SpriteError.invalidOptions` describing the first inconsistent setting.
    public func validate() throws {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw SpriteError.invalidOptions(message()) }
        }
        try check(imageSize >= 8 && imageSize <= PNG.maxSide, "image size \(imageSize) must be from 8 to \(PNG.maxSide)")
        try check(minObjects >= 1 && minObjects <= maxObjects, "object counts from \(minObjects) to \(maxObjects) are not a valid range")
        try check(maxObjects <= 255, "at most 255 objects (the mask stores labels as bytes)")
        try check(minObjectSize >= 4 && minObjectSize <= maxObjectSize,
                  "object sizes from \(minObjectSize) to \(maxObjectSize) must be a range starting at 4 or more")
        try check(maxObjectSize <= imageSize, "objects of \(maxObjectSize) px do not fit a \(imageSize) px image")
        try check((1...SpriteShape.allCases.count).contains(shapes), "shapes must be from 1 to \(SpriteShape.allCases.count)")
        try check((1...SpritePalette.colours.count).contains(colours), "colours must be from 1 to \(SpritePalette.colours.count)")
        if variant == .oddOneOut {
            try check(minObjects >= 3, "odd-one-out scenes need at least 3 objects")
            try check(shapes >= 2 && colours >= 2, "odd-one-out scenes need at least 2 shapes and 2 colours")
        }
        // Room check: all objects at the largest size, each with its gap, must fit in the image's area.
        let cell = maxObjectSize + Self.minimumGap
        try check(maxObjects * cell * cell <= (imageSize + Self.minimumGap) * (imageSize + Self.minimumGap) / 2,
                  "\(maxObjects) objects of up to \(maxObjectSize) px are too crowded for a \(imageSize) px image")
    }
}

public enum SpriteError: Error, Equatable, CustomStringConvertible {
    case invalidOptions(String)
    /// No non-overlapping layout was found within the retry budget.
    case layoutFailed(index: Int)
    case badMask(String)

    public var description: String {
        switch self {
        case .invalidOptions(let message): return "invalid sprite options: \(message)"
        case .layoutFailed(let index): return "scene \(index): no non-overlapping layout found; use fewer or smaller objects"
        case .badMask(let message): return "malformed object mask: \(message)"
        }
    }
}
