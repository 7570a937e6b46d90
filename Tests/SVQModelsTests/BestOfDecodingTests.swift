// Best-of-k decoding: code agreement under slot matching, and that the kept draw is the one whose
// re-encoding agrees most with the codes.

import XCTest
import SVQEngine
import SVQModels

final class BestOfDecodingTests: XCTestCase {
    func testCodeAgreementIgnoresSlotOrder() {
        // 3 slots × 2 blocks.
        let a: [Int32] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(SVQModel.codeAgreement(a, a, slots: 3, blocks: 2), 6)
        XCTAssertEqual(SVQModel.codeAgreement(a, [5, 6, 1, 2, 3, 4], slots: 3, blocks: 2), 6, "slots permuted")
        // Slot (5, 6) became (5, 0); slot (1, 2) became (3, 2): the matching pairs (1,2)↔(3,2) for one agreement
        // and (3,4)↔(3,4) for two, not (3,4)↔(3,2).
        XCTAssertEqual(SVQModel.codeAgreement(a, [3, 4, 5, 0, 3, 2], slots: 3, blocks: 2), 4)
        XCTAssertEqual(SVQModel.codeAgreement(a, [0, 0, 0, 0, 0, 0], slots: 3, blocks: 2), 0)
        // Slices of larger arrays (non-zero start indices) read the right codes.
        let both: [Int32] = [9, 9, 9, 9, 9, 9] + a
        XCTAssertEqual(SVQModel.codeAgreement(both[6..<12], a, slots: 3, blocks: 2), 6)
    }

    func testOneCandidateIsAPlainDecode() throws {
        let model = try SVQModelTests.officialTiny()
        let codes = model.encode(Golden.tensor("images_nchw"), noise: Golden.tensor("slot_init_noise")).codes
        let drawn = TokenSampling.sample(temperature: 1, topK: nil)
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4)
        XCTAssertEqual(try model.decodeBestOf(codes: codes, candidates: 1, sampling: drawn, rng: &a).scalars,
                       try model.decode(codes: codes, sampling: drawn, rng: &b).scalars)
        // Greedy decoding draws one image whatever the candidates.
        XCTAssertEqual(try model.decodeBestOf(codes: codes, candidates: 5, sampling: .greedy, rng: &a).scalars,
                       try model.decode(codes: codes, sampling: .greedy, rng: &b).scalars)
    }

    func testKeepsTheDrawWhoseReencodingAgreesMost() throws {
        let model = try SVQModelTests.officialTiny()
        let c = model.config
        let codes = model.encode(Golden.tensor("images_nchw"), noise: Golden.tensor("slot_init_noise")).codes
        let b = codes.shape[0], k = 8, per = c.numSlots * c.numBlocks
        let drawn = TokenSampling.sample(temperature: 2, topK: nil)   // hot, so that draws differ
        var rng = RandomGenerator(seed: 2)
        let best = try model.decodeBestOf(codes: codes, candidates: k, sampling: drawn, rng: &rng)

        // The same draws by hand: all k · B images in one batch (draw j of set i at j·B + i), then one encode.
        var replay = RandomGenerator(seed: 2)
        let repeated = IntTensor((0..<k).flatMap { _ in codes.values }, shape: [k * b, c.numSlots, c.numBlocks])
        let draws = try model.decode(codes: repeated, sampling: drawn, rng: &replay)
        let again = model.encode(draws, rng: &replay).codes.values
        let pixels = c.imageChannels * c.imageSize * c.imageSize
        var distinct = Set<[Float]>(), laterWins = false
        for i in 0..<b {
            let scores = (0..<k).map { j in
                SVQModel.codeAgreement(codes.values[(i * per)..<((i + 1) * per)],
                                       again[((j * b + i) * per)..<((j * b + i + 1) * per)],
                                       slots: c.numSlots, blocks: c.numBlocks)
            }
            let winner = scores.firstIndex(of: scores.max()!)!
            let image = { (t: Tensor, n: Int) in Array(UnsafeBufferPointer(start: t.data + n * pixels, count: pixels)) }
            XCTAssertTrue(image(best, i) == image(draws, winner * b + i), "set \(i): not the best draw (scores \(scores))")
            laterWins = laterWins || winner > 0
            for j in 0..<k { distinct.insert(image(draws, j * b + i)) }
        }
        XCTAssertGreaterThan(distinct.count, b, "the draws should differ, or the test checks nothing")
        XCTAssertTrue(laterWins, "a draw after the first should win somewhere, or keeping the first would pass")
    }
}
