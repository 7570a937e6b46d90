// encoder.onnx: images and slot noise → codes, quantized slots, attention and masks; SVQModel.encode(_:noise:)
// as one graph (CNN, position embedding, MLP, then every slot-attention iteration unrolled).

import SVQEngine
import SVQModels
import SVQNN

enum EncoderGraph {
    static func build(_ model: SVQModel, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config
        let g = GraphBuilder(name: "encoder", weightNames: weightNames)
        let n = c.numSlots, s = c.slotSize, m = c.numBlocks, f = c.featureSize, i = c.imageSize
        let image = g.input("image", .float32, [.batch, .fixed(c.imageChannels), .fixed(i), .fixed(i)],
                            doc: "images, values in [0, 1], channels first")
        let noise = g.input("noise", .float32, [.batch, .fixed(n), .fixed(s)],
                            doc: "slot-initialisation noise, standard normal (fix it for reproducible codes)")

        let features = imageFeatures(g, image, model.imageEncoder, config: c)
        let out = slotAttention(g, features, noise, model.slotAttention, config: c)

        g.output(out.codes, as: "codes", .int64, [.batch, .fixed(n), .fixed(m)],
                 doc: "local codes, each in 0..<P: block m of slot n is codebook m's entry")
        g.output(out.slots, as: "slots", .float32, [.batch, .fixed(n), .fixed(s)],
                 doc: "quantized slots (codebook vectors of the codes, blocks concatenated)")
        g.output(out.attention, as: "attention", .float32, [.batch, .fixed(f * f), .fixed(n)],
                 doc: "slot attention of the last iteration over the F×F feature grid (row-major), softmax over slots")
        g.output(masks(g, out.attention, config: c), as: "masks", .float32, [.batch, .fixed(n), .fixed(i), .fixed(i)],
                 doc: "the attention per slot at image resolution (nearest upsampling)")
        return ExportedGraph(g, doc: "SVQ encoder: image [B, C, I, I] in [0, 1] and slot noise [B, N, S] → codes [B, N, M], slots, attention, masks", config: c)
    }

    /// `ImageEncoder`: four 5×5 convs (ReLU after three), channels last, position embedding, LayerNorm, MLP.
    static func imageFeatures(_ g: GraphBuilder, _ image: String, _ enc: ImageEncoder, config c: SVQConfig) -> String {
        var x = image
        for (k, conv) in enc.cnn.enumerated() {
            x = g.conv(x, conv)
            if k < 3 { x = g.relu(x) }
        }
        let f = c.featureSize, d = c.dModel
        let flat = g.transpose(g.reshape(x, [0, d, f * f]), [0, 2, 1])               // [B, F·F, D]
        // The grid [x, y, 1−x, 1−y] at cell centres is a constant of the size, not a weight.
        let grid = PositionGrid(side: f).values.scalars
        let positions = g.linear(g.constant(grid, shape: [f * f, 4], hint: "position_grid"), enc.positionProjection)
        let normed = g.layerNorm(g.add(flat, positions), enc.layerNorm, width: d)
        return g.linear(g.relu(g.linear(normed, enc.mlp1)), enc.mlp2)
    }

    /// `SlotAttention` with quantization on every iteration; returns the last iteration's outputs.
    static func slotAttention(_ g: GraphBuilder, _ features: String, _ noise: String, _ sa: SlotAttention,
                              config c: SVQConfig) -> (codes: String, slots: String, attention: String) {
        let s = c.slotSize, m = c.numBlocks
        let x = g.layerNorm(features, sa.normInputs, width: c.dModel)
        // Keys and values are folded into the queries and the pooled inputs, as in `SlotAttention`.
        let keyWeight = g.weight(sa.projectK.weight)                                        // [S, D]
        let keyScale = g.scalar(1 / Float(s).squareRoot())
        var slots: String
        if let mu = sa.slotMu, let logSigma = sa.slotLogSigma {
            slots = g.add(g.weight(mu), g.mul(g.op1("Exp", g.weight(logSigma)), noise))
        } else {
            slots = g.add(g.weight(sa.initialSlots!), noise)
        }
        var codes = "", attention = ""
        for _ in 0..<c.numIterations {
            let previous = slots
            let q = g.linear(g.layerNorm(slots, sa.normSlots, width: s), sa.projectQ)              // [B, N, S]
            let qk = g.mul(g.op1("MatMul", q, keyWeight), keyScale)                             // [B, N, D]
            attention = g.op1("Softmax", g.op1("MatMul", x, g.transpose(qk, [0, 2, 1])),
                              attributes: ["axis": .int(-1)])                                   // [B, F·F, N]
            let weights = g.add(attention, g.scalar(1e-8))
            let total = g.op("ReduceSum", [weights, g.int64s([1], hint: "axes")], outputs: 1, ["keepdims": .int(1)])[0]
            let pooled = g.op1("MatMul", g.transpose(g.div(weights, total), [0, 2, 1]), x)   // [B, N, D]
            let updates = g.linear(pooled, sa.projectV)                                         // [B, N, S]
            let h = g.blockGRU(updates, previous, sa.gru, slotSize: s)
            let hidden = g.relu(g.blockLinear(g.blockLayerNorm(h, blocks: m, width: s, lead: [0, 0]), sa.mlp1, lead: [0, 0]))
            let refined = g.add(h, g.blockLinear(hidden, sa.mlp2, lead: [0, 0]))
            (codes, slots) = g.quantize(refined, sa.quantizer)
        }
        return (codes, slots, attention)
    }

    /// Nearest upsampling of the attention `[B, F·F, N]` to `[B, N, I, I]`, as `SVQModel.masks`.
    static func masks(_ g: GraphBuilder, _ attention: String, config c: SVQConfig) -> String {
        let f = c.featureSize, n = c.numSlots, i = c.imageSize, scale = i / f
        let grid = g.reshape(g.transpose(attention, [0, 2, 1]), [0, n, f, 1, f, 1])        // [B, N, F, 1, F, 1]
        let copies = g.op1("Expand", grid, g.int64s([1, 1, 1, scale, 1, scale], hint: "shape"))
        return g.reshape(copies, [0, n, i, i])
    }
}
