// Sampling code sequences from the semantic prior: one cached step per position (SemanticPriorDecoding.swift),
// then a temperature/top-k draw (the engine's `sampleFromLogits`) among the position's candidate ids.

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
                       rng: inout RandomGenerator) throws -> IntTensor {
        let total = sequenceLength, vocab = vocabularySize
        precondition(batch >= 1, "batch must be at least 1, got \(batch)")
        precondition((fixed == nil) == (fixedMask == nil), "fixed and fixedMask must be given together")
        // The ids position t draws among.
        let candidates: (Int) -> Range<Int> = { [config] t in
            restrictToBlock ? config.globalCodeRange(block: config.block(atPosition: t)) : 0..<vocab
        }
        var isFixed: (Int, Int) -> Bool = { _, _ in false }
        if let fixed, let fixedMask {
            precondition(fixed.shape == [batch, total], "fixed must be [\(batch), \(total)], got \(fixed.shape)")
            precondition(fixedMask.count == batch * total || fixedMask.count == total,
                         "fixedMask must have \(batch * total) (per sequence and position) or \(total) (per position) entries, got \(fixedMask.count)")
            let perPosition = fixedMask.count != batch * total
            isFixed = { i, t in perPosition ? fixedMask[t] : fixedMask[i * total + t] }
            for i in 0..<batch {
                for t in 0..<total where isFixed(i, t) {
                    let v = Int(fixed.values[i * total + t]), ids = candidates(t)
                    precondition(ids.contains(v), restrictToBlock
                                 ? "fixed code \(v) at position \(t) is not in block \(config.block(atPosition: t))'s ids \(ids)"
                                 : "fixed code \(v) at position \(t) outside \(ids)")
                }
            }
        }

        var result = [Int32](repeating: 0, count: batch * total)
        let state = makeDecodingState(batch: batch)
        var previous: IntTensor? = nil
        for t in 0..<total {
            let logits = step(state, previousCodes: previous)   // [B, M·P]
            try requireFinite(logits, "the prior's code scores")
            let ids = candidates(t)
            let drawn = sampleFromLogits(ids.count == vocab ? logits : logits.narrow(axis: 1, start: ids.lowerBound, length: ids.count),
                                         temperature: temperature, topK: topK, rng: &rng)
            var codes = [Int32](repeating: 0, count: batch)
            for i in 0..<batch {
                codes[i] = isFixed(i, t) ? fixed!.values[i * total + t] : Int32(ids.lowerBound) + drawn.values[i]
                result[i * total + t] = codes[i]
            }
            previous = IntTensor(codes, shape: [batch])
            guard CallMonitor.proceed(t + 1, of: total) else { break }   // cancelled: the caller discards this
        }
        return IntTensor(result, shape: [batch, total])
    }
}
