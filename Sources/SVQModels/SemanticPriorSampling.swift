// Sampling code sequences from the semantic prior: one cached step per position (SemanticPriorDecoding.swift),
// then a temperature/top-k draw among the position's candidate ids.

#if canImport(Glibc)
import Glibc
#endif
import SVQEngine

extension SemanticPrior {
    /// Samples `batch` code sequences `[batch, N·M]` (global ids), one cached transformer step per position.
    ///
    /// - `temperature` (> 0) divides the logits; `topK` keeps the k largest logits of each step (values tied
    ///   with the k-th survive; k is capped at the number of candidates), then a categorical draw from `rng`.
    /// - `restrictToBlock` (default true): position n·M + m draws only among block m's ids
    ///   m·P ..< (m+1)·P (softmax, temperature and top-k over those P logits). The official code samples over
    ///   all M·P ids at every position (Q9), which can put another block's code at a position;
    ///   `restrictToBlock: false` reproduces that.
    /// - Completion: `fixed` (`[batch, N·M]` global ids) with `fixedMask`, either `[batch·N·M]`
    ///   (per sequence and position, row-major) or `[N·M]` (per position, shared by the batch). Where the mask
    ///   is true the given code is used instead of a draw and is fed to the later steps; elsewhere `fixed` is
    ///   ignored. Both or neither must be given. With `restrictToBlock`, a fixed code must lie in its
    ///   position's block.
    ///
    /// Deterministic for a given `rng` state: each position consumes the same `rng` draws (one categorical
    /// draw per sequence, also at fixed positions), so fixing codes does not shift the random stream. No dropout
    /// and no gradients, whatever `isTraining` says.
    public func sample(batch: Int, temperature: Float = 1, topK: Int? = nil, restrictToBlock: Bool = true,
                       fixed: IntTensor? = nil, fixedMask: [Bool]? = nil,
                       rng: inout RandomGenerator) -> IntTensor {
        let total = sequenceLength, m = numBlocks, p = numPrototypes, vocab = vocabularySize
        precondition(batch >= 1, "batch must be at least 1, got \(batch)")
        precondition(temperature > 0 && temperature.isFinite, "temperature must be positive and finite, got \(temperature)")
        if let topK { precondition(topK >= 1, "topK must be at least 1, got \(topK)") }
        precondition((fixed == nil) == (fixedMask == nil), "fixed and fixedMask must be given together")
        var isFixed: (Int, Int) -> Bool = { _, _ in false }
        if let fixed, let fixedMask {
            precondition(fixed.shape == [batch, total], "fixed must be [\(batch), \(total)], got \(fixed.shape)")
            precondition(fixedMask.count == batch * total || fixedMask.count == total,
                         "fixedMask must have \(batch * total) (per sequence and position) or \(total) (per position) entries, got \(fixedMask.count)")
            let perPosition = fixedMask.count != batch * total
            isFixed = { i, t in perPosition ? fixedMask[t] : fixedMask[i * total + t] }
            for i in 0..<batch {
                for t in 0..<total where isFixed(i, t) {
                    let v = Int(fixed.values[i * total + t])
                    if restrictToBlock {
                        let block = t % m
                        precondition(v >= block * p && v < (block + 1) * p,
                                     "fixed code \(v) at position \(t) is not in block \(block)'s ids \(block * p)..<\((block + 1) * p)")
                    } else {
                        precondition(v >= 0 && v < vocab, "fixed code \(v) at position \(t) outside 0..<\(vocab)")
                    }
                }
            }
        }

        let candidates = restrictToBlock ? p : vocab
        let k = min(topK ?? candidates, candidates)
        var result = [Int32](repeating: 0, count: batch * total)
        let cache = makeKVCache(batch: batch)
        let probs = Tensor(zeros: [batch, candidates])
        var row = [Float](repeating: 0, count: candidates)
        var sorted = [Float](repeating: 0, count: candidates)
        var previous: IntTensor? = nil
        for t in 0..<total {
            let logits = step(cache, previousCodes: previous)   // [B, M·P]
            let first = restrictToBlock ? (t % m) * p : 0
            for i in 0..<batch {
                let src = logits.data + i * vocab + first
                for j in 0..<candidates { row[j] = src[j] / temperature }
                var threshold = -Float.infinity
                if k < candidates {
                    for j in 0..<candidates { sorted[j] = row[j] }
                    sorted.sort(by: >)
                    threshold = sorted[k - 1]
                }
                var mx = -Float.infinity
                for j in 0..<candidates where row[j] >= threshold { mx = max(mx, row[j]) }
                var z: Float = 0
                let dst = probs.data + i * candidates
                for j in 0..<candidates {
                    let e: Float = row[j] >= threshold ? expf(row[j] - mx) : 0
                    dst[j] = e
                    z += e
                }
                let inv = 1 / z
                for j in 0..<candidates { dst[j] *= inv }
            }
            let drawn = rng.categorical(probabilities: probs)
            var codes = [Int32](repeating: 0, count: batch)
            for i in 0..<batch {
                codes[i] = isFixed(i, t) ? fixed!.values[i * total + t] : Int32(first) + drawn.values[i]
                result[i * total + t] = codes[i]
            }
            previous = IntTensor(codes, shape: [batch])
        }
        return IntTensor(result, shape: [batch, total])
    }
}
