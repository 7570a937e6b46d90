// manifest.json beside the exported graphs: the sizes a caller needs to drive the loops (T, N·M, cache
// shapes, …) and every graph's signature, so runtimes need nothing from this library.

import Foundation
import SVQModels

struct ONNXManifest: Encodable {
    struct Value: Encodable {
        let name: String
        let dtype: String
        /// Fixed sizes as numbers, symbolic ones ("batch", "past_length") as strings.
        let shape: [Dim]
        let doc: String
    }

    enum Dim: Encodable {
        case fixed(Int), symbolic(String)
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fixed(let n): try c.encode(n)
            case .symbolic(let s): try c.encode(s)
            }
        }
    }

    struct Graph: Encodable {
        let file: String
        let inputs: [Value]
        let outputs: [Value]
    }

    struct Sizes: Encodable {
        let imageSize, imageChannels, featureSize: Int
        let numSlots, numBlocks, numPrototypes, slotSize: Int
        let tokens, tokenGridSize, vocabSize: Int
        let decoderLayers, decoderHeads, decoderHeadDim: Int
        let priorSequenceLength: Int?, priorVocabularySize: Int?
        let priorLayers: Int?, priorHeads: Int?, priorHeadDim: Int?
    }

    let format = "svq-onnx"
    let formatVersion = 1
    let opset = ONNXVersion.opset
    let irVersion = ONNXVersion.irVersion
    /// The model's config as in our weights files (camelCase keys).
    let config: SVQConfig
    let sizes: Sizes
    let graphs: [String: Graph]

    init(config c: SVQConfig, graphs built: [ExportedGraph]) {
        config = c
        sizes = Sizes(imageSize: c.imageSize, imageChannels: c.imageChannels, featureSize: c.featureSize,
                      numSlots: c.numSlots, numBlocks: c.numBlocks, numPrototypes: c.numPrototypes, slotSize: c.slotSize,
                      tokens: c.tokensPerImage, tokenGridSize: c.tokenGridSize, vocabSize: c.vocabSize,
                      decoderLayers: c.numDecoderLayers, decoderHeads: c.numDecoderHeads,
                      decoderHeadDim: c.dModel / c.numDecoderHeads,
                      priorSequenceLength: c.prior == nil ? nil : c.codesPerImage,
                      priorVocabularySize: c.prior == nil ? nil : c.globalCodeCount,
                      priorLayers: c.prior?.numLayers, priorHeads: c.prior?.numHeads,
                      priorHeadDim: c.prior.map { $0.dModel / $0.numHeads })
        func values(_ specs: [ONNXValueSpec]) -> [Value] {
            specs.map { spec in
                Value(name: spec.name, dtype: spec.type.description, shape: spec.shape.map {
                    switch $0 {
                    case .fixed(let n): return .fixed(n)
                    case .symbolic(let s): return .symbolic(s)
                    }
                }, doc: spec.doc)
            }
        }
        var g: [String: Graph] = [:]
        for graph in built { g[graph.name] = Graph(file: graph.fileName, inputs: values(graph.inputs), outputs: values(graph.outputs)) }
        graphs = g
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
