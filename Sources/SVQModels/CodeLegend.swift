// What each code of a trained model most often means: for every block, the ground-truth factor its codes
// predict best, and for every code of it the factor value seen most often with it. `svq eval` measures it
// on held-out sprites (code-legend.json) and can store it in a copy of the model, under `metadataKey` in the
// weights file's metadata, where the runtime's model info reads it. It describes the data the model was
// evaluated on; the model's computation does not use it.

import Foundation

public struct CodeLegend: Codable, Hashable, Sendable {
    public struct Block: Codable, Hashable, Sendable {
        public var block: Int
        /// The factor this block's codes predict best above chance ("shape", "colour", "size", "x", "y").
        public var factor: String
        /// The block's majority-vote accuracy for that factor, and what always guessing the commonest value scores.
        public var accuracy: Double
        public var chance: Double
        /// One entry per code, in code order.
        public var codes: [Code]

        public init(block: Int, factor: String, accuracy: Double, chance: Double, codes: [Code]) {
            (self.block, self.factor, self.accuracy, self.chance, self.codes) = (block, factor, accuracy, chance, codes)
        }
    }

    public struct Code: Codable, Hashable, Sendable {
        public var code: Int
        /// The block's factor value most often seen with this code (nil: the code never occurred).
        public var value: String?
        /// The fraction of the objects with this code that had that value.
        public var share: Double
        /// Evaluated objects whose slot had this code.
        public var objects: Int

        public init(code: Int, value: String?, share: Double, objects: Int) {
            (self.code, self.value, self.share, self.objects) = (code, value, share, objects)
        }
    }

    /// One entry per block, in block order.
    public var blocks: [Block]

    public init(blocks: [Block]) { self.blocks = blocks }

    /// The weights-file metadata key the legend is stored under, as JSON.
    public static let metadataKey = "code_legend"

    /// The legend as code-legend.json and the metadata hold it: snake_case keys, sorted.
    public func jsonData(pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Reads the JSON `jsonData` writes. Throws `SVQModelError(.invalidConfig)` saying what is wrong.
    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { self = try decoder.decode(CodeLegend.self, from: json) } catch {
            throw SVQModelError(.invalidConfig, "the code legend is not valid: \(error)")
        }
    }

    /// The legend in a weights file's metadata, nil if it has none.
    public init?(metadata: [String: String]) throws {
        guard let json = metadata[Self.metadataKey] else { return nil }
        try self.init(json: Data(json.utf8))
    }
}
