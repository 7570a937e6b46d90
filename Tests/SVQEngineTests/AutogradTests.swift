import Foundation
import XCTest
import SVQEngine

final class AutogradTests: XCTestCase {
    func testFanOutAccumulatesAndLeafGradientsAccumulateAcrossCalls() {
        let x = Tensor([1, 2, 3], shape: [3])
        x.requiresGrad = true
        // y = x·x + 3x uses x three times: dy/dx = 2x + 3.
        (x * x + x * 3).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [5, 7, 9])
        (x * 2).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [7, 9, 11], "a second backward adds into .grad")
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testDetachStopsGradient() {
        let x = Tensor([2, -1], shape: [2])
        x.requiresGrad = true
        (x * x.detached()).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [2, -1], "only the undetached factor carries gradient")
    }

    func testStraightThroughEstimatorPassesGradientUnchanged() {
        let z = Tensor([0.3, 0.7], shape: [2])
        z.requiresGrad = true
        let quantized = Tensor([0, 1], shape: [2])
        let y = straightThrough(value: quantized, gradientPath: z)
        XCTAssertEqual(y.scalars, [0, 1])
        (y * Tensor([5, 6], shape: [2])).sum().backward()
        XCTAssertEqual(z.grad?.scalars, [5, 6])
    }

    func testNoRecordingWithoutGradientsOrFrozenInputs() {
        let w = Tensor([1, 2], shape: [2])
        w.requiresGrad = true
        let y = withoutGradients { w * 3 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertFalse(y.hasGradientHistory)
        let frozen = Tensor([1, 2], shape: [2])
        let z = frozen.exp() * frozen
        XCTAssertFalse(z.hasGradientHistory, "no input requires grad: nothing recorded")
        let r = w * 3
        XCTAssertTrue(r.hasGradientHistory)
    }

    func testGradModeIsPerThread() {
        final class Box: @unchecked Sendable { var recorded = false; let w: Tensor; init(_ w: Tensor) { self.w = w } }
        let w = Tensor([1], shape: [1])
        w.requiresGrad = true
        let box = Box(w)
        withoutGradients {
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread { box.recorded = (box.w * 2).hasGradientHistory; done.signal() }
            done.wait()
            XCTAssertFalse((w * 2).hasGradientHistory)
        }
        XCTAssertTrue(box.recorded, "another thread keeps recording while this one does not")
    }

    func testCustomOpRecordsItsBackward() {
        let x = Tensor([1, 2], shape: [2])
        x.requiresGrad = true
        let out = Tensor([10, 20], shape: [2])
        Tensor.recordOp(output: out, inputs: [x]) { g in [g * 7] }
        out.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [7, 7])
    }

    func testGraphIsReleasedAfterBackward() {
        weak var intermediate: Tensor?
        let x = Tensor([1, 2], shape: [2])
        x.requiresGrad = true
        var loss: Tensor? = nil
        do {
            let h = x.exp()
            intermediate = h
            loss = (h * h).sum()
        }
        XCTAssertNotNil(intermediate, "kept alive by the graph before backward")
        loss!.backward()
        loss = nil
        XCTAssertNil(intermediate, "freed once backward consumed the graph")
    }

    func testViewsShareStorage() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])
        let row = x.narrowFirst(1, 1)
        let flat = x.reshaped([-1])
        XCTAssertTrue(row.storage === x.storage && flat.storage === x.storage)
        XCTAssertEqual(row.scalars, [3, 4])
        XCTAssertEqual(flat.shape, [6])
    }
}

final class RandomTests: XCTestCase {
    /// Every 32-bit word maps strictly inside (0, 1), so −log(−log(u)) (Gumbel) and −log(u) are finite.
    /// The top words are the risky ones: float32 rounding took the largest to exactly 1.
    func testUnitOpenStaysStrictlyInsideTheUnitInterval() {
        let words: [UInt32] = [0, 1, 255, 256, 1 << 31, UInt32.max - 511, UInt32.max - 256, UInt32.max - 255, UInt32.max]
        for w in words {
            let u = unitOpen(w)
            XCTAssert(u > 0 && u < 1, "unitOpen(\(w)) = \(u)")
            XCTAssert((-logf(-logf(u))).isFinite, "Gumbel of word \(w) is not finite")
        }
        // Monotone at the top: the clamp must not reorder values.
        XCTAssertLessThanOrEqual(unitOpen(UInt32.max - 256), unitOpen(UInt32.max))
    }

    /// Known-answer vectors for Philox4x32-10 published with the Random123 library (kat_vectors).
    func testPhiloxKnownAnswers() {
        let zero = philox4x32_10(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = philox4x32_10(counter: (.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = philox4x32_10(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testSameSeedSameValuesAcrossThreadCounts() {
        var a = RandomGenerator(seed: 7)
        var b = RandomGenerator(seed: 7)
        let saved = Engine.threadCount
        Engine.setThreadCount(1)
        let n1 = a.normal([100_003])
        Engine.setThreadCount(2)
        let n2 = b.normal([100_003])
        Engine.setThreadCount(saved)
        XCTAssertEqual(n1.scalars, n2.scalars)
        XCTAssertEqual(a, b, "same state after the same draws")
        var c = RandomGenerator(seed: 8)
        XCTAssertNotEqual(c.normal([8]).scalars, RandomGenerator(seed: 7).stream(0).copyNormal([8]))
    }

    func testStreamsAreIndependentAndResumable() {
        let root = RandomGenerator(seed: 3)
        var s1 = root.stream(1), s2 = root.stream(2)
        XCTAssertNotEqual(s1.uniform([16]).scalars, s2.uniform([16]).scalars)
        var full = RandomGenerator(seed: 3)
        _ = full.uniform([10])
        let expected = full.gumbel([5]).scalars
        var resumed = RandomGenerator(seed: 3)
        _ = resumed.uniform([10])
        let encoded = try! JSONEncoder().encode(resumed)
        var restored = try! JSONDecoder().decode(RandomGenerator.self, from: encoded)
        XCTAssertEqual(restored.gumbel([5]).scalars, expected, "a checkpointed generator continues the same stream")
    }

    func testDistributionMoments() {
        var rng = RandomGenerator(seed: 11)
        let n = 200_000
        func moments(_ t: Tensor) -> (Double, Double) {
            let v = t.scalars.map(Double.init)
            let m = v.reduce(0, +) / Double(n)
            return (m, v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n))
        }
        let (um, uv) = moments(rng.uniform([n]))
        XCTAssertEqual(um, 0.5, accuracy: 0.005); XCTAssertEqual(uv, 1.0 / 12, accuracy: 0.002)
        let (nm, nv) = moments(rng.normal([n], mean: 1, std: 2))
        XCTAssertEqual(nm, 1, accuracy: 0.02); XCTAssertEqual(nv, 4, accuracy: 0.06)
        let (em, ev) = moments(rng.exponential([n]))
        XCTAssertEqual(em, 1, accuracy: 0.01); XCTAssertEqual(ev, 1, accuracy: 0.03)
        let (gm, gv) = moments(rng.gumbel([n]))
        XCTAssertEqual(gm, 0.5772, accuracy: 0.01); XCTAssertEqual(gv, Double.pi * Double.pi / 6, accuracy: 0.04)
        XCTAssertFalse(rng.uniform([n]).scalars.contains { $0 <= 0 || $0 >= 1 })
    }

    func testCategoricalAndPermutation() {
        var rng = RandomGenerator(seed: 5)
        let probs = Tensor([Float](repeating: 0, count: 0) + Array(repeating: [0.2, 0, 0.5, 0.3], count: 20_000).flatMap { $0 },
                           shape: [20_000, 4])
        let picks = rng.categorical(probabilities: probs)
        var counts = [0, 0, 0, 0]
        for p in picks.values { counts[Int(p)] += 1 }
        XCTAssertEqual(counts[1], 0, "zero-probability class never drawn")
        XCTAssertEqual(Double(counts[0]) / 20_000, 0.2, accuracy: 0.015)
        XCTAssertEqual(Double(counts[2]) / 20_000, 0.5, accuracy: 0.015)
        let perm = rng.permutation(1000)
        XCTAssertEqual(perm.sorted(), Array(0..<1000))
        XCTAssertNotEqual(perm, Array(0..<1000))
    }
}

private extension RandomGenerator {
    func copyNormal(_ shape: [Int]) -> [Float] {
        var copy = self
        return copy.normal(shape).scalars
    }
}
