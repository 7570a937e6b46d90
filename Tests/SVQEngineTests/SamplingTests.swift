// The temperature/top-k sampler (sampleFromLogits) on hand-made logits: frequencies against softmax computed
// in Double, which codes top-k keeps (ties with the k-th included), k capped, and one draw per row.

import Foundation
import XCTest
import SVQEngine
import SVQTestSupport

final class SamplingTests: XCTestCase {
    /// Draws `rows` times from one row of logits; returns each class's frequency.
    private func frequencies(_ logits: [Float], rows: Int = 40_000, temperature: Float = 1, topK: Int? = nil,
                             seed: UInt64 = 1) -> [Double] {
        let c = logits.count
        let batch = Tensor((0..<rows).flatMap { _ in logits }, shape: [rows, c])
        var rng = RandomGenerator(seed: seed)
        let drawn = sampleFromLogits(batch, temperature: temperature, topK: topK, rng: &rng)
        XCTAssertEqual(drawn.shape, [rows])
        var counts = [Double](repeating: 0, count: c)
        for v in drawn.values { counts[Int(v)] += 1 }
        return counts.map { $0 / Double(rows) }
    }

    /// softmax(logits / temperature) over `kept` (zero elsewhere), in Double.
    private func expected(_ logits: [Float], temperature: Double = 1, kept: Set<Int>? = nil) -> [Double] {
        let e = logits.enumerated().map { j, x in kept?.contains(j) == false ? 0 : Foundation.exp(Double(x) / temperature) }
        let z = e.reduce(0, +)
        return e.map { $0 / z }
    }

    private func assertFrequencies(_ got: [Double], _ want: [Double], _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        for (j, (g, w)) in zip(got, want).enumerated() {
            if w == 0 { XCTAssertEqual(g, 0, "\(what): class \(j) has probability 0", file: file, line: line) }
            else { XCTAssertEqual(g, w, accuracy: 0.012, "\(what): class \(j)", file: file, line: line) }
        }
    }

    func testTemperatureScalesTheLogits() {
        let logits: [Float] = [0.5, -1, 1.5, 0, 1]
        for t: Float in [1, 0.5, 2] {
            assertFrequencies(frequencies(logits, temperature: t), expected(logits, temperature: Double(t)), "T = \(t)")
        }
        // Near-zero temperature: the argmax only.
        XCTAssertEqual(frequencies(logits, rows: 500, temperature: 1e-4), [0, 0, 1, 0, 0])
    }

    func testTopKKeepsTheKLargestAndTheirTies() {
        let logits: [Float] = [1, 3, 3, 2, 0, 2]
        // k = 2: the two 3s. k = 3: the k-th largest is 2, so both 2s survive with the 3s.
        assertFrequencies(frequencies(logits, topK: 2), expected(logits, kept: [1, 2]), "k = 2")
        assertFrequencies(frequencies(logits, topK: 3), expected(logits, kept: [1, 2, 3, 5]), "k = 3 (tie with the k-th)")
        assertFrequencies(frequencies(logits, temperature: 0.7, topK: 4), expected(logits, temperature: 0.7, kept: [1, 2, 3, 5]),
                          "k = 4 at T = 0.7")
        // k = 1 with a unique maximum is greedy.
        XCTAssertEqual(frequencies([0, 5, 1], rows: 500, temperature: 3, topK: 1), [0, 1, 0])
        // k at or above the class count keeps every class: the same draws as no k.
        XCTAssertEqual(frequencies(logits, rows: 2000, topK: 6), frequencies(logits, rows: 2000))
        XCTAssertEqual(frequencies(logits, rows: 2000, topK: 60), frequencies(logits, rows: 2000))
    }

    func testRowsAreIndependentAndLargeLogitsAreStable() {
        // Logits far from 0 (a softmax without the max subtracted would overflow), one row per case.
        let logits = Tensor([1000, 1001, 999, -1000, -999, -1001], shape: [2, 3])
        var rng = RandomGenerator(seed: 3)
        let drawn = sampleFromLogits(logits, temperature: 1e-3, rng: &rng)
        XCTAssertEqual(drawn.values, [1, 1])
    }

    func testOneDrawPerRowWhateverTheSettings() {
        let logits = testTensor([7, 11], seed: 2, requiresGrad: false)
        var reference = RandomGenerator(seed: 9)
        _ = reference.categorical(probabilities: Tensor(repeating: 1 / 11, shape: [7, 11]))
        for (t, k) in [(Float(1), Int?.none), (0.3, 2), (5, 11), (1, 1)] {
            var rng = RandomGenerator(seed: 9)
            _ = sampleFromLogits(logits, temperature: t, topK: k, rng: &rng)
            XCTAssertEqual(rng, reference, "T = \(t), k = \(String(describing: k))")
        }
    }
}
