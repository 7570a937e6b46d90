// Ground truth of one 2D Sprites image, as written next to it (`000000.json` beside `000000.png`).
// Coordinates are pixels with the origin at the image's top-left corner; pixel (i, j) covers [i, i+1)×[j, j+1).

/// One sprite and its generative factors.
public struct SpriteObject: Codable, Equatable, Sendable {
    public var shape: Int
    public var shapeName: String
    public var colour: Int
    public var colourName: String
    /// Top-left corner of the drawing box (the shape touches all four sides of it).
    public var x: Int
    public var y: Int
    /// Side of the square drawing box.
    public var size: Int
    /// Centre of the drawing box: x + size/2, y + size/2.
    public var centerX: Double
    public var centerY: Double
    /// Discrete factors for factor analysis: centre position in 4 equal bands per axis (0 = left/top),
    /// size in 3 bands over the configured size range (0 = smallest).
    public var xBin: Int
    public var yBin: Int
    public var sizeBin: Int
}

/// The whole scene: objects (in index order: object k is label k + 1 in the mask), the odd-one-out answer
/// for that variant, and the object-index mask.
public struct SpriteScene: Codable, Equatable, Sendable {
    public var index: Int
    public var width: Int
    public var height: Int
    public var objects: [SpriteObject]
    public var oddOneOut: OddOneOutAnswer?
    public var mask: ObjectIndexMap
}

/// Which object each pixel shows (0 = background, k = object k, 1-based), run-length encoded.
///
/// Encoding: `runs` is a flat list `[label₀, length₀, label₁, length₁, …]` over the pixels in row-major
/// order (top row first, left to right); consecutive runs have different labels, lengths are positive and
/// sum to width·height. A pixel takes an object's label when the object covers at least half of it
/// (objects never overlap, so at most one can).
public struct ObjectIndexMap: Codable, Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let runs: [Int]

    /// Encodes a row-major label map.
    public init(labels: [UInt8], width: Int, height: Int) {
        precondition(labels.count == width * height, "\(labels.count) labels for \(width)×\(height)")
        var runs: [Int] = []
        var i = 0
        while i < labels.count {
            var j = i + 1
            while j < labels.count && labels[j] == labels[i] { j += 1 }
            runs += [Int(labels[i]), j - i]
            i = j
        }
        self.width = width
        self.height = height
        self.runs = runs
    }

    /// The row-major label map; throws when the runs are malformed (e.g. a hand-edited file).
    public func labels() throws -> [UInt8] {
        guard runs.count % 2 == 0 else { throw SpriteError.badMask("odd number of run entries") }
        var out: [UInt8] = []
        out.reserveCapacity(width * height)
        for r in stride(from: 0, to: runs.count, by: 2) {
            let (label, length) = (runs[r], runs[r + 1])
            guard (0...255).contains(label), length > 0, out.count + length <= width * height else {
                throw SpriteError.badMask("run \(r / 2) (label \(label), length \(length)) is invalid")
            }
            out += repeatElement(UInt8(label), count: length)
        }
        guard out.count == width * height else {
            throw SpriteError.badMask("runs cover \(out.count) of \(width * height) pixels")
        }
        return out
    }
}
