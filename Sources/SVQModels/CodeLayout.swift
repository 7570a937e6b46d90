// The two spellings of a code. Local: code p of block m, in 0..<P — the encoder's codes `[B, N, M]`.
// Global: the prior's vocabulary id m·P + p, in 0..<M·P, over sequences of N·M positions in slot-major order
// (position n·M + m holds slot n's code of block m). Every conversion between them goes through here.

import SVQEngine

extension SVQConfig {
    /// The block whose code sits at position `position` of a slot-major sequence (n·M + m): m.
    public func block(atPosition position: Int) -> Int { position % numBlocks }

    /// Block `block`'s global ids: block·P ..< (block+1)·P.
    public func globalCodeRange(block: Int) -> Range<Int> {
        precondition(block >= 0 && block < numBlocks, "block \(block) outside 0..<\(numBlocks)")
        return (block * numPrototypes)..<((block + 1) * numPrototypes)
    }

    /// The global id of code `local` (in 0..<P) of block `block`: block·P + local.
    public func globalCode(local: Int32, block: Int) -> Int32 {
        precondition(local >= 0 && Int(local) < numPrototypes, "local code \(local) outside 0..<\(numPrototypes)")
        return Int32(globalCodeRange(block: block).lowerBound) + local
    }

    /// The local code of global id `global` if it is one of block `block`'s ids, else nil.
    public func localCode(global: Int32, block: Int) -> Int32? {
        let ids = globalCodeRange(block: block)
        return ids.contains(Int(global)) ? global - Int32(ids.lowerBound) : nil
    }

    /// Local codes `[B, N, M]` (each in 0..<P) → global ids `[B, N·M]`.
    public func globalCodes(local: IntTensor) -> IntTensor {
        let n = numSlots, m = numBlocks
        precondition(local.shape.count == 3 && local.shape[1] == n && local.shape[2] == m,
                     "local codes must be [B, \(n), \(m)], got \(local.shape)")
        let values = local.values.enumerated().map { i, v in globalCode(local: v, block: block(atPosition: i % (n * m))) }
        return IntTensor(values, shape: [local.shape[0], n * m])
    }

    /// Global ids `[B, N·M]` (or `[B, N, M]`) → local codes `[B, N, M]` in 0..<P. Every id must lie in its
    /// position's block (true for encoder codes and for the prior's block-restricted samples; the official
    /// unrestricted sampler can break it).
    public func localCodes(global: IntTensor) -> IntTensor {
        let n = numSlots, m = numBlocks
        precondition((global.shape.count == 2 && global.shape[1] == n * m)
                     || (global.shape.count == 3 && global.shape[1] == n && global.shape[2] == m),
                     "global codes must be [B, \(n * m)] or [B, \(n), \(m)], got \(global.shape)")
        let values = global.values.enumerated().map { i, v in
            let position = i % (n * m), block = block(atPosition: position)
            guard let local = localCode(global: v, block: block) else {
                preconditionFailure("global code \(v) at position \(position) is not in block \(block)'s ids \(globalCodeRange(block: block))")
            }
            return local
        }
        return IntTensor(values, shape: [global.shape[0], n, m])
    }
}
