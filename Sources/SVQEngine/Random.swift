// Seeded, reproducible random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC'11), a counter-based generator. Each 128-bit counter value maps to four independent 32-bit
// words under a 64-bit key, so a stream is (key, stream id, block index): results never depend on thread
// count or on how work is split, and the whole state is three integers (checkpointed as-is).
//
// Streams, exactly:
// - key = seed; counter words (c0, c1) = block index (little-endian 64 bit), (c2, c3) = stream id.
// - Every fill of n values starts at the next unused block and consumes whole blocks:
//   uniform/exponential/gumbel: value i uses word i % 4 of block start + i / 4;
//   normal: value i uses words (0,1) or (2,3) of block start + i / 2 (Box–Muller, cosine branch);
//   one scalar draw (`nextUInt32`, `nextUniform`) consumes one block and uses its word 0.
// - A 32-bit word u becomes a uniform in (0, 1) as ((u >> 8) + 0.5) · 2⁻²⁴: never 0 or 1, so logs are finite.

#if canImport(Glibc)
import Glibc
#endif

/// Philox4x32-10 generator with named streams. A value type: copy it to fork the exact same sequence.
///
/// ```swift
/// var rng = RandomGenerator(seed: 42)
/// let noise = rng.normal([2, 3, 64])       // N(0, 1)
/// var shuffling = rng.stream(1)            // an independent stream under the same seed
/// let order = shuffling.permutation(10)
/// ```
public struct RandomGenerator: Sendable, Codable, Equatable {
    public let seed: UInt64
    public let streamID: UInt64
    /// Index of the next unused 128-bit block.
    public private(set) var blockIndex: UInt64
    /// Whether tensor draws are zeros (see `placeholder`).
    public let drawsZeros: Bool

    private enum CodingKeys: String, CodingKey { case seed, streamID, blockIndex }

    public init(seed: UInt64, stream: UInt64 = 0, blockIndex: UInt64 = 0) {
        self.seed = seed
        self.streamID = stream
        self.blockIndex = blockIndex
        drawsZeros = false
    }

    private init(zeros: Void) {
        seed = 0
        streamID = 0
        blockIndex = 0
        drawsZeros = true
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(seed: try c.decode(UInt64.self, forKey: .seed), stream: try c.decode(UInt64.self, forKey: .streamID),
                  blockIndex: try c.decode(UInt64.self, forKey: .blockIndex))
    }

    /// A generator whose tensor draws (`uniform`, `normal`, …) are zeros, costing only their allocation: to
    /// build a model whose every tensor is then read from a file, without drawing values only to overwrite
    /// them (drawing took loading a 146 MB model from 1.4 to 13 times the time of reading its file).
    /// Scalar draws are unchanged.
    public static var placeholder: RandomGenerator { RandomGenerator(zeros: ()) }

    /// An independent generator under the same seed (a different counter space).
    public func stream(_ id: UInt64) -> RandomGenerator { RandomGenerator(seed: seed, stream: id) }

    /// The four words of block `index` of this stream (pure function of seed, stream and index).
    @inline(__always)
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        philox4x32_10(counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                                UInt32(truncatingIfNeeded: streamID), UInt32(truncatingIfNeeded: streamID >> 32)),
                      key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Reserves `blocks` consecutive blocks and returns the first one's index.
    @inline(__always)
    mutating func take(_ blocks: Int) -> UInt64 {
        let start = blockIndex
        blockIndex &+= UInt64(blocks)
        return start
    }

    // MARK: Scalars

    public mutating func nextUInt32() -> UInt32 { block(take(1)).0 }

    /// Uniform in (0, 1).
    public mutating func nextUniform() -> Float { unitOpen(nextUInt32()) }

    /// Uniform integer in `0..<bound` (multiply-shift; bias below bound/2³²).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max), "nextInt(below: \(bound))")
        return Int((UInt64(nextUInt32()) &* UInt64(bound)) >> 32)
    }

    // MARK: Tensors

    /// Fills `count` values with `transform(word)` where value i takes word i % 4 of block start + i / 4.
    @inline(__always)
    mutating func fillWords(_ shape: [Int], _ transform: (UInt32) -> Float) -> Tensor {
        if drawsZeros { return Tensor(zeros: shape) }
        let out = Tensor(zeros: shape, zeroed: false)
        let n = out.count
        let start = take((n + 3) / 4)
        let p = out.data
        let me = self
        parallelChunks((n + 3) / 4, grain: 4096) { lo, hi in
            for b in lo..<hi {
                let w = me.block(start &+ UInt64(b))
                let i = b * 4
                p[i] = transform(w.0)
                if i + 1 < n { p[i + 1] = transform(w.1) }
                if i + 2 < n { p[i + 2] = transform(w.2) }
                if i + 3 < n { p[i + 3] = transform(w.3) }
            }
        }
        return out
    }

    /// Uniform values in [low, high) (from the open unit interval).
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        fillWords(shape) { low + (high - low) * unitOpen($0) }
    }

    /// Standard normal values (times `std`, plus `mean`).
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        if drawsZeros { return Tensor(zeros: shape) }
        let out = Tensor(zeros: shape, zeroed: false)
        let n = out.count
        let start = take((n + 1) / 2)
        let p = out.data
        let me = self
        parallelChunks(n, grain: 8192) { lo, hi in
            for i in lo..<hi {
                let w = me.block(start &+ UInt64(i / 2))
                let (u1, u2) = i % 2 == 0 ? (w.0, w.1) : (w.2, w.3)
                let r = (-2 * logf(unitOpen(u1))).squareRoot()
                p[i] = mean + std * r * cosf(2 * Float.pi * unitOpen(u2))
            }
        }
        return out
    }

    /// Exponential(1) values: −log(u).
    public mutating func exponential(_ shape: [Int]) -> Tensor {
        fillWords(shape) { -logf(unitOpen($0)) }
    }

    /// Standard Gumbel values: −log(−log(u)).
    public mutating func gumbel(_ shape: [Int]) -> Tensor {
        fillWords(shape) { -logf(-logf(unitOpen($0))) }
    }

    /// One class per row of `probabilities` (`[..., C]`, rows summing to 1) by inverse CDF with one word per row.
    public mutating func categorical(probabilities: Tensor) -> IntTensor {
        let c = probabilities.shape.last ?? 1
        let rows = probabilities.count / max(c, 1)
        let u = fillWords([rows]) { unitOpen($0) }
        var out = [Int32](repeating: 0, count: rows)
        let p = probabilities.data
        for r in 0..<rows {
            let row = p + r * c
            var total: Float = 0
            for j in 0..<c { total += max(row[j], 0) }
            let target = u.data[r] * total
            var acc: Float = 0
            var pick = c - 1
            for j in 0..<c {
                acc += max(row[j], 0)
                if target < acc { pick = j; break }
            }
            // Never pick a zero-probability class at the top end because of rounding.
            while pick > 0 && row[pick] <= 0 { pick -= 1 }
            out[r] = Int32(pick)
        }
        return IntTensor(out, shape: Array(probabilities.shape.dropLast()))
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates; swap i uses block start + i, word 0).
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        guard n > 1 else { return a }
        let start = take(n - 1)
        for (step, i) in stride(from: n - 1, to: 0, by: -1).enumerated() {
            let w = block(start &+ UInt64(step)).0
            let j = Int((UInt64(w) &* UInt64(i + 1)) >> 32)
            a.swapAt(i, j)
        }
        return a
    }
}

/// Maps a 32-bit word to the open interval (0, 1) with 24 bits of precision.
///
/// The top word would round to exactly 1 in float32 (2²⁴ − 0.5 has no float32 form and rounds up), so it
/// maps to the largest float below 1 instead; otherwise a Gumbel draw −log(−log(u)) is +∞ about once in
/// 2²⁴ draws — about once per training step at a batch of 16 — and turns a softmax row into NaN.
@inline(__always)
public func unitOpen(_ u: UInt32) -> Float {
    let v = (Float(u >> 8) + 0.5) * (1.0 / 16_777_216.0)
    return v < 1 ? v : Float(1).nextDown
}

/// The Philox4x32 bijection with 10 rounds.
@inline(__always)
public func philox4x32_10(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
    let m0: UInt64 = 0xD251_1F53, m1: UInt64 = 0xCD9E_8D57
    let w0: UInt32 = 0x9E37_79B9, w1: UInt32 = 0xBB67_AE85
    var (c0, c1, c2, c3) = counter
    var (k0, k1) = key
    for round in 0..<10 {
        if round > 0 { k0 &+= w0; k1 &+= w1 }
        let p0 = m0 &* UInt64(c0), p1 = m1 &* UInt64(c2)
        let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
        let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
    }
    return (c0, c1, c2, c3)
}
