// dvae_decoder.onnx: dVAE tokens → image, as DVAE.decode(tokens:) computes it.

import SVQEngine
import SVQModels
import SVQNN

enum DVAEDecoderGraph {
    static func build(_ model: SVQModel, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config, dvae = model.dvae
        let g = GraphBuilder(name: "dvae_decoder", weightNames: weightNames)
        let t = c.tokensPerImage, grid = c.tokenGridSize, h = c.dvaeHiddenSize, v = c.vocabSize
        let tokens = g.input("tokens", .int64, [.batch, .fixed(t)],
                             doc: "dVAE tokens, each in 0..<V, row-major over the (I/4)×(I/4) grid")

        // The 1×1 conv of a one-hot token is one column of its weight plus the bias: gather the columns.
        let columns = g.transpose(g.reshape(g.weight(dvae.decoderIn.weight), [h, v]), [1, 0])   // [V, h]
        let picked = g.relu(g.add(g.gather(columns, tokens), g.weight(dvae.decoderIn.bias!)))    // [B, T, h]
        var x = g.reshape(g.transpose(picked, [0, 2, 1]), [0, h, grid, grid])                    // [B, h, G, G]
        for stage in [dvae.decoderUp1, dvae.decoderUp2] {
            for conv in stage { x = g.relu(g.conv(x, conv)) }
            // PixelShuffle(2): out[c, 2y+i, 2x+j] = in[4c + 2i + j, y, x], which is DepthToSpace's CRD mode.
            x = g.op1("DepthToSpace", x, attributes: ["blocksize": .int(2), "mode": .string("CRD")])
        }
        let image = g.op1("Clip", g.conv(x, dvae.decoderOut), g.scalar(0), g.scalar(1))
        g.output(image, as: "image", .float32, [.batch, .fixed(c.imageChannels), .fixed(c.imageSize), .fixed(c.imageSize)],
                 doc: "decoded image, clamped to [0, 1]")
        return ExportedGraph(g, doc: "dVAE decoder: tokens [B, T] → image [B, C, I, I] in [0, 1]", config: c)
    }
}
