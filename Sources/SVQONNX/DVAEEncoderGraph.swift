// dvae_encoder.onnx: image → dVAE tokens, as DVAE.tokens(_:) computes them (not needed by the SVQ loop,
// which decodes tokens from codes; useful for dVAE-only reconstructions and for training data).

import SVQEngine
import SVQModels
import SVQNN

enum DVAEEncoderGraph {
    static func build(_ model: SVQModel, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config, dvae = model.dvae
        let g = GraphBuilder(name: "dvae_encoder", weightNames: weightNames)
        let image = g.input("image", .float32, [.batch, .fixed(c.imageChannels), .fixed(c.imageSize), .fixed(c.imageSize)],
                            doc: "images, values in [0, 1], channels first")
        var x = image
        for conv in dvae.encoder { x = g.relu(g.conv(x, conv)) }
        let logits = g.conv(x, dvae.encoderOut)                                                   // [B, V, G, G]
        let best = g.op1("ArgMax", logits, attributes: ["axis": .int(1), "keepdims": .int(0), "select_last_index": .int(0)])
        g.output(g.reshape(best, [0, c.tokensPerImage]), as: "tokens", .int64, [.batch, .fixed(c.tokensPerImage)],
                 doc: "the most likely token of each 4×4 patch (first index on ties), row-major")
        return ExportedGraph(g, doc: "dVAE encoder: image [B, C, I, I] in [0, 1] → tokens [B, T]", config: c)
    }
}
