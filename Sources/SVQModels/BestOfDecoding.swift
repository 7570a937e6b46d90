// Best-of-k decoding checked by the encoder: the decoder draws each image token by token, and a draw
// can lose or change an object (a wrong colour, a merged shape). Drawing several images per code set and
// keeping the one whose re-encoding gives back the codes most closely uses the model's own encoder as
// the judge; it needs nothing beyond the model (no labels, no parser).

import SVQEngine

extension SVQModel {
    /// Images `[B, C, H, W]` for local codes `[B, N, M]`: `candidates` draws per code set, keeping for
    /// each set the draw whose re-encoding agrees with its codes most (`codeAgreement`; the first draw
    /// wins ties). With one candidate or greedy sampling this is `decode(codes:sampling:rng:)`.
    ///
    /// Memory stays near a plain decode of `max(B, 64)` images: candidates are drawn in rounds.
    /// - Throws: `SVQModelError.numericalOverflow` as `decode(codes:sampling:rng:)` does.
    public func decodeBestOf(codes: IntTensor, candidates: Int, sampling: TokenSampling,
                             rng: inout RandomGenerator) throws -> Tensor {
        precondition(candidates >= 1, "decodeBestOf: candidates must be at least 1")
        if candidates == 1 || sampling == .greedy { return try decode(codes: codes, sampling: sampling, rng: &rng) }
        let b = codes.shape[0], perSet = codes.count / max(b, 1)
        let c = config, imageCount = c.imageChannels * c.imageSize * c.imageSize
        let best = Tensor(zeros: [b, c.imageChannels, c.imageSize, c.imageSize], zeroed: false)
        var bestScore = [Int](repeating: -1, count: b)
        let perRound = max(1, min(candidates, 64 / max(b, 1)))
        var drawn = 0
        while drawn < candidates {
            let r = min(perRound, candidates - drawn)
            // Draw j of set i sits at batch index j·B + i.
            var repeated: [Int32] = []
            repeated.reserveCapacity(r * codes.count)
            for _ in 0..<r { repeated += codes.values }
            let images = try decode(codes: IntTensor(repeated, shape: [r * b] + codes.shape.dropFirst()),
                                sampling: sampling, rng: &rng)
            let again = encode(images, rng: &rng).codes.values
            for j in 0..<r {
                for i in 0..<b {
                    let k = j * b + i
                    let score = Self.codeAgreement(codes.values[(i * perSet)..<((i + 1) * perSet)],
                                                   again[(k * perSet)..<((k + 1) * perSet)],
                                                   slots: c.numSlots, blocks: c.numBlocks)
                    guard score > bestScore[i] else { continue }
                    bestScore[i] = score
                    (best.data + i * imageCount).update(from: images.data + k * imageCount, count: imageCount)
                }
            }
            drawn += r
        }
        return best
    }

    /// How many of two code sets' `slots × blocks` codes agree once their slots are matched one to one
    /// (slots are a set: an image's re-encoding can list its objects in any order).
    public static func codeAgreement<A: Collection, B: Collection>(_ a: A, _ b: B, slots n: Int, blocks m: Int) -> Int
    where A.Element == Int32, B.Element == Int32, A.Index == Int, B.Index == Int {
        precondition(a.count == n * m && b.count == n * m, "codeAgreement: code sets must hold slots × blocks codes")
        let a0 = a.startIndex, b0 = b.startIndex
        var agree = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                var same = 0
                for k in 0..<m where a[a0 + i * m + k] == b[b0 + j * m + k] { same += 1 }
                agree[i][j] = Double(same)
            }
        }
        let match = Assignment.maximizing(agree)
        return match.enumerated().reduce(0) { $0 + Int(agree[$1.offset][$1.element]) }
    }
}
