// Decoding the semantic prior one position at a time: each step runs the transformer on the next position
// only, with a per-layer key/value cache (the official code recomputes the whole prefix at every step; the
// logits are the same up to rounding).

#if canImport(Glibc)
import Glibc
#endif
import SVQEngine
import SVQNN

extension SemanticPrior {
    /// Per-layer keys and values of the positions decoded so far, preallocated for the whole sequence
    /// (`[B, heads, N·M, head_dim]` per layer). Make one with `makeKVCache(batch:)`; feed it to `step`.
    ///
    /// The cache also holds the prior's weights packed for small-batch products (`PackedLinear`), taken when it
    /// is made: a cache decodes with the weights the prior had then.
    public final class KVCache {
        public let batch: Int
        /// Positions already decoded (the next `step` computes position `length`).
        public internal(set) var length = 0
        let keys: [Tensor]
        let values: [Tensor]
        let packed: [PackedLayer]
        let head: PackedLinear

        struct PackedLayer {
            let inProjection, outProjection, ffnIn, ffnOut: PackedLinear
        }

        init(batch: Int, prior: SemanticPrior) {
            let (layers, heads, total, hd) = (prior.layers.count, prior.heads, prior.sequenceLength, prior.dModel / prior.heads)
            self.batch = batch
            keys = (0..<layers).map { _ in Tensor(zeros: [batch, heads, total, hd]) }
            values = (0..<layers).map { _ in Tensor(zeros: [batch, heads, total, hd]) }
            func pack(_ l: Linear) -> PackedLinear { PackedLinear(weight: l.weight, bias: l.bias) }
            packed = prior.layers.map {
                PackedLayer(inProjection: pack($0.selfAttention.inProjection), outProjection: pack($0.selfAttention.outProjection),
                            ffnIn: pack($0.ffnIn), ffnOut: pack($0.ffnOut))
            }
            head = pack(prior.head)
        }
    }

    /// An empty cache for decoding `batch` sequences.
    public func makeKVCache(batch: Int) -> KVCache {
        precondition(batch >= 1, "batch must be at least 1, got \(batch)")
        return KVCache(batch: batch, prior: self)
    }

    /// Runs the transformer on the next position only, appending its keys and values to `cache`, and returns
    /// that position's logits `[B, M·P]` (the same as row `cache.length` of `logits(_:)`, up to rounding).
    ///
    /// `previousCodes` (`[B]`, global ids) are the codes at position `cache.length − 1`; pass nil for the
    /// first position (the input is then bos). Inference only: no gradients, no dropout.
    public func step(_ cache: KVCache, previousCodes: IntTensor?) -> Tensor {
        let b = cache.batch, h = heads, hd = dModel / heads, total = sequenceLength
        let t = cache.length
        precondition(cache.keys.count == layers.count && cache.keys.allSatisfy { $0.shape == [b, h, total, hd] },
                     "this cache was made by a prior of a different shape")
        precondition(t < total, "the cache is full: all \(total) positions are decoded")
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
                if lo < hi { withoutGradients { stepRows(cache, previousCodes, rows: lo..<hi, into: logits) } }
            }
        } else {
            withoutGradients { stepRows(cache, previousCodes, rows: 0..<b, into: logits) }
        }
        cache.length = t + 1
        return logits
    }

    /// `step` for the sequences `rows` of the batch: writes their logits into those rows of `logits`.
    private func stepRows(_ cache: KVCache, _ previousCodes: IntTensor?, rows: Range<Int>, into logits: Tensor) {
        let b = rows.count, d = dModel, h = heads, hd = dModel / heads, total = sequenceLength
        let t = cache.length
        // Input row: (bos or E[z_{t−1}]) · √D + pe[t]
        let x = Tensor(zeros: [b, 1, d], zeroed: false)
        let scale = Float(d).squareRoot()
        let pe = positionEmbedding.data + t * d
        for i in 0..<b {
            let src = previousCodes.map { codeEmbedding.weight.data + Int($0.values[rows.lowerBound + i]) * d } ?? bos.data
            let dst = x.data + i * d
            for j in 0..<d { dst[j] = src[j] * scale + pe[j] }
        }
        let cacheOffset = rows.lowerBound * h * total * hd
        var y = x
        for (l, layer) in layers.enumerated() {
            let linears = cache.packed[l]
            let qkv = linears.inProjection(y)   // [b, 1, 3D]
            let context = Tensor(zeros: [b, 1, d], zeroed: false)
            cachedAttention(qkv: qkv.data, keys: cache.keys[l].data + cacheOffset, values: cache.values[l].data + cacheOffset,
                            out: context.data, batch: b, heads: h, headDim: hd, position: t, capacity: total)
            let attended = linears.outProjection(context)
            y = layer.norm1(y + attended)
            y = layer.norm2(y + linears.ffnOut(linears.ffnIn(y).relu()))
        }
        let rowLogits = cache.head(y)
        (logits.data + rows.lowerBound * vocabularySize).update(from: rowLogits.data, count: b * vocabularySize)
    }

    /// Appends position `position`'s keys and values from `qkv` (`[B, 3D]`) to the cache and attends its
    /// queries to positions 0…position (the causal mask is implicit). `out` is `[B, D]`.
    private func cachedAttention(qkv: UnsafeMutablePointer<Float>, keys: UnsafeMutablePointer<Float>,
                                 values: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                                 batch: Int, heads: Int, headDim hd: Int, position t: Int, capacity: Int) {
        let d = heads * hd
        let alpha = 1 / Float(hd).squareRoot()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: t + 1) { buffer in
            let scores = buffer.baseAddress!
            for i in 0..<batch {
                for head in 0..<heads {
                    let q = qkv + i * 3 * d + head * hd
                    let kNew = q + d, vNew = q + 2 * d
                    let kc = keys + (i * heads + head) * capacity * hd
                    let vc = values + (i * heads + head) * capacity * hd
                    (kc + t * hd).update(from: kNew, count: hd)
                    (vc + t * hd).update(from: vNew, count: hd)
                    var m = -Float.infinity
                    for j in 0...t {
                        let s = vectorDot(q, kc + j * hd, hd) * alpha
                        scores[j] = s
                        m = max(m, s)
                    }
                    var z: Float = 0
                    for j in 0...t { let e = expf(scores[j] - m); scores[j] = e; z += e }
                    let inv = 1 / z
                    let o = out + i * d + head * hd
                    o.update(repeating: 0, count: hd)
                    for j in 0...t {
                        let p = scores[j] * inv
                        let vj = vc + j * hd
                        for c in 0..<hd { o[c] += p * vj[c] }
                    }
                }
            }
        }
    }
}
