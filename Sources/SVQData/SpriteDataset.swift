// A 2D Sprites dataset on disk: `000000.png` + `000000.json` (ground truth, `SpriteScene`) per image,
// zero-padded so that sorted file order is index order (what `ImageFolder` and the official code's sorted
// glob rely on), and `dataset.json` describing how the set was made. Every file is written atomically.

import Foundation
import SVQEngine

/// The contents of `dataset.json`.
public struct SpriteDatasetDescription: Codable, Equatable, Sendable {
    public var format = "svq-sprites"
    public var version = 1
    public var count: Int
    public var options: SpriteOptions
    /// Shape names in index order (the first `options.shapes` are used).
    public var shapes: [String]
    /// Colours in index order (the first `options.colours` are used).
    public var colours: [SpritePalette.Colour]
    public var maskEncoding = "runs = [label, length, label, length, ...] over pixels in row-major order; "
        + "label 0 = background, k = objects[k-1]; a pixel is an object's when covered at least half"

    public init(count: Int, options: SpriteOptions) {
        self.count = count
        self.options = options
        shapes = SpriteShape.allCases.map(\.name)
        colours = SpritePalette.colours
    }
}

public enum SpriteDataset {
    /// The JSON form of ground truth and descriptions: snake_case keys, sorted, so files diff cleanly.
    public static func jsonEncoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return encoder
    }

    public static func jsonDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// File stem of image `index` in a dataset of `count` images: at least 6 digits, more if needed.
    public static func stem(_ index: Int, count: Int) -> String {
        let digits = max(6, String(max(count - 1, 0)).count)
        let number = String(index)
        return String(repeating: "0", count: max(0, digits - number.count)) + number
    }

    /// Generates `count` scenes into `directory` (created if missing) on `threads` threads.
    /// Output bytes depend only on the options and count, never on the thread count.
    public static func generate(count: Int, options: SpriteOptions, to directory: URL,
                                threads: Int = Engine.threadCount) throws {
        let generator = try SpriteGenerator(options: options)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = try parallelMap(count, threads: threads) { i in
            let sample = try generator.sample(i)
            let base = directory.appendingPathComponent(stem(i, count: count))
            try PNG.write(sample.image, to: base.appendingPathExtension("png"))
            // A fresh encoder per file: JSONEncoder is not documented as safe to share across threads.
            try jsonEncoder().encode(sample.scene).write(to: base.appendingPathExtension("json"), options: .atomic)
        }
        let description = SpriteDatasetDescription(count: count, options: options)
        try jsonEncoder(pretty: true).encode(description)
            .write(to: directory.appendingPathComponent("dataset.json"), options: .atomic)
    }

    /// Reads the ground truth of one image (`000000.json`).
    public static func scene(contentsOf url: URL) throws -> SpriteScene {
        try jsonDecoder().decode(SpriteScene.self, from: Data(contentsOf: url))
    }
}
