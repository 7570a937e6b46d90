// Converting the official semantic prior (`prior.py`, `DiscreteBlockTransformerPrior`; spec §1b) into a
// `SemanticPrior`. The layouts are already ours (PyTorch `[out, in]` linear weights, the packed `in_proj`
// rows [q; k; v]); only names and the leading singleton axes of `bos` and `pos.pe` change.

import SVQEngine
import SVQNN

extension SemanticPrior {
    /// Loads an official prior state_dict (keys under `prefix`, e.g. `""` or `"prior."`), checking every shape
    /// against this prior's configuration. Throws `SVQModelError` (`.tensorMismatch`) on a missing tensor, a wrong shape, or
    /// tensors under `prefix` that were not used; the prior is modified only when everything fits.
    public func loadOfficial(_ sd: OfficialStateDict, prefix: String = "") throws {
        let d = dModel, k = vocabularySize, t = sequenceLength
        var pending: [(Tensor, [Float])] = []
        func take(_ name: String, _ shape: [Int], into target: Tensor) throws {
            let values = try sd.floats(prefix + name, shape: shape)
            precondition(values.count == target.count)
            pending.append((target, values))
        }

        try take("embedding.weight", [k, d], into: codeEmbedding.weight)
        try take("bos", [1, 1, d], into: bos)
        try take("pos.pe", [1, t, d], into: positionEmbedding)
        for (l, layer) in layers.enumerated() {
            let p = "tf.layers.\(l)."
            let attention = layer.selfAttention
            try take(p + "self_attn.in_proj_weight", [3 * d, d], into: attention.inProjection.weight)
            try take(p + "self_attn.in_proj_bias", [3 * d], into: attention.inProjection.bias!)
            try take(p + "self_attn.out_proj.weight", [d, d], into: attention.outProjection.weight)
            try take(p + "self_attn.out_proj.bias", [d], into: attention.outProjection.bias!)
            try take(p + "linear1.weight", [4 * d, d], into: layer.ffnIn.weight)
            try take(p + "linear1.bias", [4 * d], into: layer.ffnIn.bias!)
            try take(p + "linear2.weight", [d, 4 * d], into: layer.ffnOut.weight)
            try take(p + "linear2.bias", [d], into: layer.ffnOut.bias!)
            try take(p + "norm1.weight", [d], into: layer.norm1.weight!)
            try take(p + "norm1.bias", [d], into: layer.norm1.bias!)
            try take(p + "norm2.weight", [d], into: layer.norm2.weight!)
            try take(p + "norm2.bias", [d], into: layer.norm2.bias!)
        }
        try take("head.weight", [k, d], into: head.weight)

        let leftovers = sd.unused(prefix: prefix)
        guard leftovers.isEmpty else {
            let shown = leftovers.prefix(12).joined(separator: ", ") + (leftovers.count > 12 ? ", … (\(leftovers.count) in all)" : "")
            throw SVQModelError.officialMismatch("prior tensors not used by this configuration (\(layers.count) layers, N·M = \(t), M·P = \(k), d_model = \(d)): \(shown)")
        }
        for (target, values) in pending { target.assign(values) }
    }
}
