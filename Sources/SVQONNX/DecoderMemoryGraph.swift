// decoder_memory.onnx: codes → quantized slots → the image decoder's memory, plus every decoder layer's
// cross-attention keys and values, which stay fixed while the tokens are decoded (ImageDecoder.memory and
// the cross half of its key/value cache).

import SVQEngine
import SVQModels
import SVQNN

enum DecoderMemoryGraph {
    static func build(_ model: SVQModel, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config, dec = model.imageDecoder
        let g = GraphBuilder(name: "decoder_memory", weightNames: weightNames)
        let n = c.numSlots, m = c.numBlocks, d = c.dModel, nm = c.codesPerImage
        let l = c.numDecoderLayers, h = c.numDecoderHeads, hd = d / h
        let codes = g.input("codes", .int64, [.batch, .fixed(n), .fixed(m)],
                            doc: "local codes, each in 0..<P (the encoder's codes, or a prior sample made local)")

        let slots = g.lookup(codes, model.slotAttention.quantizer)                                   // [B, N, S]
        // The block-position code is one row computed from weights alone (runtimes fold it).
        let position = g.reshape(g.weight(dec.blockPosition), [1, m * d])
        let blockCode = g.blockLinear(g.relu(g.blockLinear(position, dec.blockPositionMlp1, lead: [1])),
                                      dec.blockPositionMlp2, lead: [1])                              // [1, M·D]
        let projected = g.add(g.blockLinear(slots, dec.slotProjection, lead: [0, 0]), blockCode)     // [B, N, M·D]
        let perSlot = g.reshape(projected, [-1, m, d])                                                // [B·N, M, D]
        let memory = g.reshape(coupler(g, perSlot, dec.blockCoupler, dModel: d), [-1, nm, d])         // [B, N·M, D]

        var keys: [String] = [], values: [String] = []
        for block in dec.transformer.blocks {
            let cross = block.crossAttn
            keys.append(g.unsqueeze(g.splitHeads(g.linear(memory, cross.projK), heads: h, headDim: hd), axes: [0]))
            values.append(g.unsqueeze(g.splitHeads(g.linear(memory, cross.projV), heads: h, headDim: hd), axes: [0]))
        }
        let cacheShape: [ONNXDim] = [.fixed(l), .batch, .fixed(h), .fixed(nm), .fixed(hd)]
        g.output(memory, as: "memory", .float32, [.batch, .fixed(nm), .fixed(d)],
                 doc: "the decoder memory: row n·M + m is block m of slot n")
        g.output(g.concat(keys, axis: 0), as: "cross_keys", .float32, cacheShape,
                 doc: "per decoder layer, the cross-attention keys of the memory, split into heads")
        g.output(g.concat(values, axis: 0), as: "cross_values", .float32, cacheShape,
                 doc: "per decoder layer, the cross-attention values of the memory, split into heads")
        return ExportedGraph(g, doc: "SVQ decoder memory: codes [B, N, M] → memory [B, N·M, D] and cross-attention keys/values [L, B, H, N·M, D/H]", config: c)
    }

    /// The one-block coupler with the first-block quirk: the normalised input replaces the residual stream.
    static func coupler(_ g: GraphBuilder, _ y: String, _ enc: TransformerEncoder, dModel d: Int) -> String {
        var x = y
        for (i, block) in enc.blocks.enumerated() {
            if i == 0 {
                x = g.layerNorm(x, block.attnLayerNorm, width: d)
                x = g.add(x, g.multiHeadAttention(x, x, block.attn, dModel: d))
            } else {
                let t = g.layerNorm(x, block.attnLayerNorm, width: d)
                x = g.add(x, g.multiHeadAttention(t, t, block.attn, dModel: d))
            }
            x = g.add(x, g.feedForward(g.layerNorm(x, block.ffnLayerNorm, width: d), block.ffn))
        }
        return g.layerNorm(x, enc.layerNorm, width: d)
    }
}
