// `svq data`: dataset tools. `svq data sprites` writes a 2D Sprites dataset (PNG + JSON ground truth).

import ArgumentParser
import Foundation
import SVQData

package struct DataCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make datasets.",
        subcommands: [Sprites.self]
    )
}

extension SpriteVariant: ExpressibleByArgument {}
extension SpriteBackground: ExpressibleByArgument {}

extension DataCommand {
    struct Sprites: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a 2D Sprites dataset: 000000.png + 000000.json per image, and dataset.json.",
            discussion: """
            Scene i depends only on (seed, i), so any count or thread count reproduces the same images.
            Object sizes default to 14...20 px at 64 px and scale with --size.
            """)

        @Option(help: "Output directory (created if missing).")
        var out: String

        @Option(help: "Number of images.")
        var count = 10_000

        @Option(help: "Random seed.")
        var seed: UInt64 = 0

        @Option(help: "Fewest objects per image.")
        var minObjects = 3

        @Option(help: "Most objects per image.")
        var maxObjects = 4

        @Option(help: "How shapes and colours are drawn: independently, or obeying the odd-one-out rule.")
        var variant: SpriteVariant = .oddOneOut

        @Option(help: "Background: black, or a dim smooth texture.")
        var background: SpriteBackground = .black

        @Option(help: "Image side in pixels.")
        var size = 64

        @Option(help: "Smallest object side in pixels (default: 14 scaled to --size).")
        var minObjectSize: Int?

        @Option(help: "Largest object side in pixels (default: 20 scaled to --size).")
        var maxObjectSize: Int?

        @Option(help: "Number of shapes used (the first k of 12).")
        var shapes = 12

        @Option(help: "Number of colours used (the first k of 7).")
        var colours = 7

        func run() throws {
            guard count > 0 else { throw ValidationError("--count must be positive") }
            let options = SpriteOptions(
                imageSize: size, minObjects: minObjects, maxObjects: maxObjects,
                minObjectSize: minObjectSize ?? max(4, (14 * size + 32) / 64),
                maxObjectSize: maxObjectSize ?? max(4, (20 * size + 32) / 64),
                shapes: shapes, colours: colours, variant: variant, background: background, seed: seed)
            do { try options.validate() } catch { throw ValidationError("\(error)") }
            let start = Date()
            try SpriteDataset.generate(count: count, options: options, to: URL(fileURLWithPath: out))
            let seconds = Date().timeIntervalSince(start)
            print("wrote \(count) sprite images to \(out): \(size)×\(size), \(variant.rawValue), \(background.rawValue) "
                + "background, \(minObjects)–\(maxObjects) objects of \(options.minObjectSize)–\(options.maxObjectSize) px, "
                + "\(shapes) shapes × \(colours) colours, seed \(seed); "
                + String(format: "%.1f s (%.0f images/s)", seconds, Double(count) / max(seconds, 1e-9)))
        }
    }
}
