// Decoding the semantic prior one position at a time: each step runs the transformer on the next position
// only, its keys and values kept in a KeyValueCache (the official code recomputes the whole prefix at every
// step; the logits are the same up to rounding).

import SVQEngine
import SVQNN

extension SemanticPrior {
    /// The state of decoding a batch of code sequences: the key/value cache of the positions decoded so far
    /// and the prior's weights packed for small-batch products (`PackedLinear`). Make one with
    /// `makeDecodingState(batch:)`; feed it to `step`.
    ///
    /// The weights are packed when the state is made: it decodes with the weights the prior had then.
    public final class DecodingState {
        /// Keys and values of every layer, `N·M` positions.
        public let cache: KeyValueCache
        let layers: [PackedLayer]
        let head: PackedLinear

        struct PackedLayer {
            let inProjection, outProjection, ffnIn, ffnOut: PackedLinear
        }

        /// Sequences decoded together.
        public var batch: Int { cache.batch }
        /// Positions already decoded (the next `step` computes position `length`).
        public var length: Int { cache.length }

        init(batch: Int, prior: SemanticPrior) {
            cache = KeyValueCache(layers: prior.layers.count, batch: batch, heads: prior.heads,
                                  headDim: prior.dModel / prior.heads, capacity: prior.sequenceLength)
            func pack(_ l: Linear) -> PackedLinear { PackedLinear(weight: l.weight, bias: l.bias) }
            layers = prior.layers.map {
                PackedLayer(inProjection: pack($0.selfAttention.inProjection), outProjection: pack($0.selfAttention.outProjection),
                            ffnIn: pack($0.ffnIn), ffnOut: pack($0.ffnOut))
            }
            head = pack(prior.head)
        }
    }

    /// A fresh state for decoding `batch` sequences.
    public func makeDecodingState(batch: Int) -> DecodingState {
        precondition(batch >= 1, "batch must be at least 1, got \(batch)")
        return DecodingState(batch: batch, prior: self)
    }

    /// Runs the transformer on the next position only, appending its keys and values to the state's cache, and
    /// returns that position's logits `[B, M·P]` (the same as row `state.length` of `logits(_:)`, up to rounding).
    ///
    /// `previousCodes` (`[B]`, global ids) are the codes at position `state.length − 1`; pass nil for the
    /// first position (the input is then bos). Inference only: no gradients, no dropout.
    public func step(_ state: DecodingState, previousCodes: IntTensor?) -> Tensor {
        let cache = state.cache, b = state.batch, t = state.length
        precondition(cache.layers == layers.count && cache.heads == heads && cache.headDim == dModel / heads
                     && cache.capacity == sequenceLength && state.layers.count == layers.count,
                     "this decoding state was made by a prior of a different shape")
        precondition(t < sequenceLength, "the sequence is complete: all \(sequenceLength) positions are decoded")
        if let previousCodes {
            precondition(t > 0, "the first step takes no previous codes (its input is bos)")
            precondition(previousCodes.count == b, "previousCodes must hold \(b) codes, got \(previousCodes.shape)")
            for v in previousCodes.values {
                precondition(v >= 0 && Int(v) < vocabularySize, "prior code \(v) outside 0..<\(vocabularySize)")
            }
        } else {
            precondition(t == 0, "step \(t) needs the codes of position \(t - 1)")
        }

        let logits = Tensor(zeros: [b, vocabularySize], zeroed: false)
        // Sequences are independent, so the batch is split across the engine's threads and each runs every
        // layer on its own rows: one parallel region per step. Splitting each product instead woke the other
        // thread ~40 times per step for ~40 µs of work each, and left the attention on one thread.
        let parts = min(Engine.threadCount, b / PackedLinear.minimumRows)
        if parts >= 2 {
            let per = (b + parts - 1) / parts
            // A part's multiply-adds: per row and layer, 12·D² in its four products (3D² + D² + 4D² + 4D²).
            Engine.parallelFor(parts, costPerItem: per * layers.count * 12 * dModel * dModel) { part in
                let lo = part * per, hi = min(b, lo + per)
                if lo < hi { withoutGradients { stepRows(state, previousCodes, rows: lo..<hi, into: logits) } }
            }
        } else {
            withoutGradients { stepRows(state, previousCodes, rows: 0..<b, into: logits) }
        }
        cache.advance()
        return logits
    }

    /// `step` for the sequences `rows` of the batch: writes their logits into those rows of `logits`.
    private func stepRows(_ state: DecodingState, _ previousCodes: IntTensor?, rows: Range<Int>, into logits: Tensor) {
        let b = rows.count, d = dModel, t = state.length, cache = state.cache
        // Input row: (bos or E[z_{t−1}]) · √D + pe[t]
        let x = Tensor(zeros: [b, 1, d], zeroed: false)
        let scale = Float(d).squareRoot()
        let pe = positionEmbedding.data + t * d
        for i in 0..<b {
            let src = previousCodes.map { codeEmbedding.weight.data + Int($0.values[rows.lowerBound + i]) * d } ?? bos.data
            let dst = x.data + i * d
            for j in 0..<d { dst[j] = src[j] * scale + pe[j] }
        }
        var y = x
        for (l, layer) in layers.enumerated() {
            let linears = state.layers[l]
            let qkv = linears.inProjection(y)   // [b, 1, 3D]: q, k and v side by side
            cache.store(layer: l, keys: qkv, keyColumn: d, values: qkv, valueColumn: 2 * d, rows: rows)
            let context = cache.attend(layer: l, queries: qkv, positions: t + 1, rows: rows)
            y = layer.norm1(y + linears.outProjection(context))
            y = layer.norm2(y + linears.ffnOut(linears.ffnIn(y).relu()))
        }
        let rowLogits = state.head(y)
        (logits.data + rows.lowerBound * vocabularySize).update(from: rowLogits.data, count: b * vocabularySize)
    }
}
