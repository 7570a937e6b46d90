// How a model uses its codebooks: per block, the fraction of the P codes that occur and the perplexity
// (exp of the code distribution's entropy: P when all codes are equally used, 1 when one code is used).

import SVQEngine

public struct BlockUsage: Codable, Equatable, Sendable {
    public var block: Int
    /// Codes that occur at least once, over P.
    public var usedFraction: Double
    public var perplexity: Double
    /// How often each code occurs.
    public var counts: [Int]
}

public enum CodeStatistics {
    /// Usage of each block's codebook over local codes `[B, N, M]` with P codes per block.
    public static func usage(_ codes: IntTensor, prototypes p: Int) -> [BlockUsage] {
        let m = codes.shape.last ?? 0
        guard m > 0 else { return [] }
        var counts = [[Int]](repeating: [Int](repeating: 0, count: p), count: m)
        for (i, c) in codes.values.enumerated() where c >= 0 && Int(c) < p { counts[i % m][Int(c)] += 1 }
        return counts.enumerated().map { block, row in
            let total = Double(row.reduce(0, +))
            var entropy = 0.0
            for n in row where n > 0 { let q = Double(n) / total; entropy -= q * log(q) }
            return BlockUsage(block: block, usedFraction: Double(row.filter { $0 > 0 }.count) / Double(p),
                              perplexity: total > 0 ? exp(entropy) : 0, counts: row)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
