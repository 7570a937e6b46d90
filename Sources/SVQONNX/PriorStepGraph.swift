// prior_step.onnx: one position of the semantic prior with a key/value cache, SemanticPrior.step. Drawing
// the code (temperature, top-k, block restriction) stays with the caller.

import SVQEngine
import SVQModels
import SVQNN

enum PriorStepGraph {
    static func build(_ model: SVQModel, prior: SemanticPrior, weightNames: [ObjectIdentifier: String]) -> ExportedGraph {
        let c = model.config
        let g = GraphBuilder(name: "prior_step", weightNames: weightNames)
        let d = prior.dModel, h = prior.heads, hd = d / h, l = prior.layers.count, vocab = prior.vocabularySize

        let previousCode = g.input("previous_code", .int64, [.batch],
                           doc: "the global code id m·P + p at position − 1; ignored at position 0 (the input is then bos)")
        let position = g.input("position", .int64, [], doc: "the position predicted now, 0..<N·M; must equal past_length")
        let pastShape: [ONNXDim] = [.fixed(l), .batch, .fixed(h), .symbolic("past_length"), .fixed(hd)]
        let pastKeys = g.input("past_keys", .float32, pastShape, doc: "keys of positions 0..<position (empty at position 0)")
        let pastValues = g.input("past_values", .float32, pastShape, doc: "values of positions 0..<position (empty at position 0)")

        // Input row: (position 0 ? bos : E[code]) · √Dp + pe[position] (bos is scaled too).
        let isFirst = g.op1("Equal", position, g.int64(0))
        let previous = g.op1("Where", isFirst, g.weight(prior.bos), g.gather(g.weight(prior.codeEmbedding.weight), previousCode))
        let scaled = g.mul(previous, g.scalar(Float(d).squareRoot()))
        var y = g.unsqueeze(g.add(scaled, g.gather(g.weight(prior.positionEmbedding), position)), axes: [1])   // [B, 1, Dp]

        var presentKeys: [String] = [], presentValues: [String] = []
        for (li, layer) in prior.layers.enumerated() {
            let index = g.int64(li)
            let attention = layer.selfAttention
            let qkv = g.splitLast(g.linear(y, attention.inProjection), parts: 3, size: d)        // rows q, k, v
            let q = g.splitHeads(qkv[0], heads: h, headDim: hd)
            let keys = g.concat([g.gather(pastKeys, index), g.splitHeads(qkv[1], heads: h, headDim: hd)], axis: 2)
            let values = g.concat([g.gather(pastValues, index), g.splitHeads(qkv[2], heads: h, headDim: hd)], axis: 2)
            presentKeys.append(g.unsqueeze(keys, axes: [0]))
            presentValues.append(g.unsqueeze(values, axes: [0]))
            let attended = g.linear(g.mergeHeads(g.attention(q, keys, values, headDim: hd), width: d), attention.outProjection)
            y = g.layerNorm(g.add(y, attended), layer.norm1, width: d)                          // post-LN
            y = g.layerNorm(g.add(y, g.linear(g.relu(g.linear(y, layer.ffnIn)), layer.ffnOut)), layer.norm2, width: d)
        }
        let logits = g.reshape(g.linear(y, prior.head), [0, vocab])

        g.output(logits, as: "logits", .float32, [.batch, .fixed(vocab)],
                 doc: "logits over the M·P global code ids at this position")
        g.outputPresentCache(keys: presentKeys, values: presentValues, layers: l, heads: h, headDim: hd)
        return ExportedGraph(g, doc: "SVQ semantic prior, one position with a key/value cache: previous global code, position, caches → logits [B, M·P] and caches", config: c)
    }
}
