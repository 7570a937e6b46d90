// decoder_step.onnx: one position of the image decoder's transformer with a key/value cache — the step
// ImageDecoder.decode takes T times. The caller feeds back the chosen token and the present caches.

import SVQEngine
import SVQModels
import SVQNN

enum DecoderStepGraph {
    static func build(_ model: SVQModel, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config, dec = model.imageDecoder
        let g = GraphBuilder(name: "decoder_step", weightNames: weightNames)
        let d = c.dModel, l = c.numDecoderLayers, h = c.numDecoderHeads, hd = d / h
        let nm = c.codesPerImage, v = c.vocabSize

        let previousToken = g.input("previous_token", .int64, [.batch],
                            doc: "the token chosen at position − 1, in 0..<V; ignored at position 0 (the input is then bos)")
        let position = g.input("position", .int64, [],
                               doc: "the position decoded now, 0..<T; must equal past_length")
        let crossShape: [ONNXDim] = [.fixed(l), .batch, .fixed(h), .fixed(nm), .fixed(hd)]
        let crossKeys = g.input("cross_keys", .float32, crossShape, doc: "cross_keys of decoder_memory")
        let crossValues = g.input("cross_values", .float32, crossShape, doc: "cross_values of decoder_memory")
        let pastShape: [ONNXDim] = [.fixed(l), .batch, .fixed(h), .symbolic("past_length"), .fixed(hd)]
        let pastKeys = g.input("past_keys", .float32, pastShape,
                               doc: "self-attention keys of positions 0..<position (empty at position 0)")
        let pastValues = g.input("past_values", .float32, pastShape,
                                 doc: "self-attention values of positions 0..<position (empty at position 0)")

        // Input row: (position 0 ? bos : token_embedding[token]) + positions[position].
        let isFirst = g.op1("Equal", position, g.int64(0))
        let previous = g.op1("Where", isFirst, g.weight(dec.bos), g.gather(g.weight(dec.tokenEmbedding), previousToken))
        var x = g.unsqueeze(g.add(previous, g.gather(g.weight(dec.positions), position)), axes: [1])   // [B, 1, D]

        var presentKeys: [String] = [], presentValues: [String] = []
        for (li, block) in dec.transformer.blocks.enumerated() {
            let layer = g.int64(li)
            // The first block's quirk: the normalised input also becomes the residual stream.
            let t: String
            if li == 0 {
                x = g.layerNorm(x, block.selfAttnLayerNorm, width: d)
                t = x
            } else {
                t = g.layerNorm(x, block.selfAttnLayerNorm, width: d)
            }
            let sa = block.selfAttn
            let q = g.splitHeads(g.linear(t, sa.projQ), heads: h, headDim: hd)                      // [B, H, 1, hd]
            let keys = g.concat([g.gather(pastKeys, layer), g.splitHeads(g.linear(t, sa.projK), heads: h, headDim: hd)], axis: 2)
            let values = g.concat([g.gather(pastValues, layer), g.splitHeads(g.linear(t, sa.projV), heads: h, headDim: hd)], axis: 2)
            presentKeys.append(g.unsqueeze(keys, axes: [0]))
            presentValues.append(g.unsqueeze(values, axes: [0]))
            // All cached positions precede this one, so no mask is needed.
            x = g.add(x, g.linear(g.mergeHeads(g.attention(q, keys, values, headDim: hd), width: d), sa.projO))

            let ca = block.crossAttn
            let cq = g.splitHeads(g.linear(g.layerNorm(x, block.crossAttnLayerNorm, width: d), ca.projQ), heads: h, headDim: hd)
            let crossed = g.attention(cq, g.gather(crossKeys, layer), g.gather(crossValues, layer), headDim: hd)
            x = g.add(x, g.linear(g.mergeHeads(crossed, width: d), ca.projO))
            x = g.add(x, g.feedForward(g.layerNorm(x, block.ffnLayerNorm, width: d), block.ffn))
        }
        let logits = g.reshape(g.linear(g.layerNorm(x, dec.transformer.layerNorm, width: d), dec.head), [0, v])

        g.output(logits, as: "logits", .float32, [.batch, .fixed(v)], doc: "logits over the V dVAE tokens at this position")
        g.output(g.op1("ArgMax", logits, attributes: ["axis": .int(-1), "keepdims": .int(0), "select_last_index": .int(0)]),
                 as: "next_token", .int64, [.batch], doc: "the greedy choice: argmax of logits, the first index on ties")
        g.outputPresentCache(keys: presentKeys, values: presentValues, layers: l, heads: h, headDim: hd)
        return ExportedGraph(g, doc: "SVQ image decoder, one position with a key/value cache: previous token, position, caches → logits [B, V] and caches", config: c)
    }
}
