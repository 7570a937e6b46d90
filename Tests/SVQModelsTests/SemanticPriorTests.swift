// The semantic prior against the official golden logits, its KV-cached decoding against the teacher-forced
// pass, sampling controls (seed, temperature, top-k, block restriction, completion), the official import's
// checks, and gradients.

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQNN
import SVQModels
import SVQTestSupport

final class SemanticPriorTests: XCTestCase {
    private static let config = SVQConfig.goldenTiny

    /// The golden prior (official weights), in eval mode.
    private func goldenPrior() throws -> SemanticPrior {
        var rng = RandomGenerator(seed: 99)
        let prior = SemanticPrior(config: Self.config, rng: &rng)
        try prior.loadOfficial(Golden.priorStateDict)
        prior.train(false)
        return prior
    }

    /// A small random prior with a different shape from the golden one (3 heads, 3 layers, 5 slots).
    private func randomPrior(seed: UInt64 = 7) -> (SemanticPrior, SVQConfig) {
        var c = SVQConfig.goldenTiny
        c.numSlots = 5
        c.numPrototypes = 6
        c.prior = PriorConfig(dModel: 24, numHeads: 3, numLayers: 3, dropout: 0.1)
        var rng = RandomGenerator(seed: seed)
        return (SemanticPrior(config: c, rng: &rng), c)
    }

    private func randomCodes(batch: Int, config c: SVQConfig, seed: UInt64) -> IntTensor {
        var rng = RandomGenerator(seed: seed)
        let m = c.numBlocks, p = c.numPrototypes
        let values = (0..<(batch * c.codesPerImage)).map { i in (i % m) * p + rng.nextInt(below: p) }
        return IntTensor(values, shape: [batch, c.codesPerImage])
    }

    // MARK: Golden

    func testGoldenLogits() throws {
        let prior = try goldenPrior()
        let codes = Golden.ints("prior_input_codes")
        let logits = prior.logits(codes)
        XCTAssertEqual(logits.shape, [2, 12, 32])
        assertMatchesGolden(logits, "prior_logits", tol: 1e-4)
    }

    func testGoldenCodesAreGlobalOfLocal() {
        let local = Golden.ints("codes_local")
        let global = Self.config.globalCodes(local: local)
        XCTAssertEqual(global, Golden.ints("prior_input_codes"))
        XCTAssertEqual(Self.config.localCodes(global: global), local)
        XCTAssertEqual(Self.config.localCodes(global: Golden.ints("codes_global")), local)
    }

    func testCodeLayoutOfOnePosition() {
        let c = Self.config                                  // N = 3 slots, M = 4 blocks, P = 8 codes
        XCTAssertEqual((0..<12).map { c.block(atPosition: $0) }, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
        XCTAssertEqual(c.globalCodeRange(block: 0), 0..<8)
        XCTAssertEqual(c.globalCodeRange(block: 3), 24..<32)
        XCTAssertEqual(c.globalCode(local: 5, block: 2), 21)
        XCTAssertEqual(c.localCode(global: 21, block: 2), 5)
        XCTAssertNil(c.localCode(global: 21, block: 1), "id 21 is block 2's")
        XCTAssertNil(c.localCode(global: 32, block: 3), "past the vocabulary")
        XCTAssertNil(c.localCode(global: -1, block: 0))
    }

    func testTensorNamesAndShapes() {
        var rng = RandomGenerator(seed: 1)
        let prior = SemanticPrior(config: Self.config, rng: &rng)
        let d = 32, k = 32, t = 12
        var expected: [(String, [Int])] = [("bos", [d]), ("position_embedding", [t, d]), ("code_embedding.weight", [k, d])]
        for l in 0..<2 {
            let p = "layers.\(l)."
            expected += [(p + "self_attention.in_projection.weight", [3 * d, d]), (p + "self_attention.in_projection.bias", [3 * d]),
                         (p + "self_attention.out_projection.weight", [d, d]), (p + "self_attention.out_projection.bias", [d]),
                         (p + "norm1.weight", [d]), (p + "norm1.bias", [d]),
                         (p + "ffn_in.weight", [4 * d, d]), (p + "ffn_in.bias", [4 * d]),
                         (p + "ffn_out.weight", [d, 4 * d]), (p + "ffn_out.bias", [d]),
                         (p + "norm2.weight", [d]), (p + "norm2.bias", [d])]
        }
        expected.append(("head.weight", [k, d]))
        let actual = prior.namedTensors()
        XCTAssertEqual(actual.map(\.name), expected.map(\.0))
        XCTAssertEqual(actual.map(\.tensor.shape), expected.map(\.1))
        XCTAssertTrue(actual.allSatisfy { $0.tensor.requiresGrad })
        // Independent layer init (no deep-copy quirk).
        XCTAssertNotEqual(prior.layers[0].ffnIn.weight.scalars, prior.layers[1].ffnIn.weight.scalars)
        XCTAssertNotEqual(prior.layers[0].selfAttention.inProjection.weight.scalars,
                          prior.layers[1].selfAttention.inProjection.weight.scalars)
        XCTAssertTrue(prior.positionEmbedding.scalars.allSatisfy { abs($0) <= 2 })
        XCTAssertTrue(prior.layers[0].selfAttention.outProjection.bias!.scalars.allSatisfy { $0 == 0 })
    }

    // MARK: Cached decoding

    private func assertCachedStepsMatch(_ prior: SemanticPrior, _ codes: IntTensor, tol: Float = 1e-5,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let b = codes.shape[0], t = codes.shape[1], k = prior.vocabularySize
        let full = prior.logits(codes)
        let state = prior.makeDecodingState(batch: b)
        var worst: Float = 0
        for pos in 0..<t {
            let previous: IntTensor? = pos == 0 ? nil
                : IntTensor((0..<b).map { codes.values[$0 * t + pos - 1] }, shape: [b])
            let step = prior.step(state, previousCodes: previous)
            XCTAssertEqual(step.shape, [b, k], file: file, line: line)
            XCTAssertEqual(state.length, pos + 1, file: file, line: line)
            for i in 0..<b {
                for j in 0..<k {
                    worst = max(worst, abs(step.data[i * k + j] - full.data[(i * t + pos) * k + j]))
                }
            }
        }
        XCTAssertLessThanOrEqual(worst, tol, "cached vs teacher-forced logits", file: file, line: line)
        print("cached step vs teacher-forced: max |diff| = \(worst)")
    }

    func testCachedStepsMatchTeacherForcedLogits() throws {
        assertCachedStepsMatch(try goldenPrior(), Golden.ints("prior_input_codes"))
        let (prior, c) = randomPrior()
        prior.train(false)
        assertCachedStepsMatch(prior, randomCodes(batch: 3, config: c, seed: 5))
        // Six sequences: the step's products take the packed-weight path (PackedLinear, 4 rows and up).
        assertCachedStepsMatch(prior, randomCodes(batch: 6, config: c, seed: 6))
        // Nine: with two or more threads the batch is split (5 + 4 rows), each part with its own slice of the
        // cache and its own rows of the logits.
        assertCachedStepsMatch(prior, randomCodes(batch: 9, config: c, seed: 9))
    }

    func testLogitsOfAPrefixMatchTheFullPass() throws {
        let prior = try goldenPrior()
        let codes = Golden.ints("prior_input_codes")
        let prefix = IntTensor((0..<2).flatMap { Array(codes.values[($0 * 12)..<($0 * 12 + 5)]) }, shape: [2, 5])
        let part = prior.logits(prefix), full = prior.logits(codes)
        for i in 0..<2 { for t in 0..<5 { for j in 0..<32 {
            XCTAssertEqual(part.data[(i * 5 + t) * 32 + j], full.data[(i * 12 + t) * 32 + j], accuracy: 1e-5)
        } } }
    }

    // MARK: Sampling

    /// For every position not in `skip`, the code is the argmax of the teacher-forced logits of `codes` itself
    /// (restricted to the position's block when `restricted`).
    private func assertGreedy(_ prior: SemanticPrior, _ codes: IntTensor, restricted: Bool = true,
                              skip: (Int, Int) -> Bool = { _, _ in false },
                              file: StaticString = #filePath, line: UInt = #line) {
        let logits = prior.logits(codes)
        let b = codes.shape[0], t = codes.shape[1], m = prior.config.numBlocks, p = prior.config.numPrototypes
        let k = prior.vocabularySize
        for i in 0..<b {
            for pos in 0..<t where !skip(i, pos) {
                let lo = restricted ? (pos % m) * p : 0, hi = restricted ? lo + p : k
                var best = lo
                for j in lo..<hi where logits.data[(i * t + pos) * k + j] > logits.data[(i * t + pos) * k + best] { best = j }
                XCTAssertEqual(Int(codes.values[i * t + pos]), best, "sequence \(i) position \(pos)", file: file, line: line)
            }
        }
    }

    func testSamplingIsDeterministicPerSeed() throws {
        let prior = try goldenPrior()
        var a = RandomGenerator(seed: 11), b = RandomGenerator(seed: 11), c = RandomGenerator(seed: 12)
        let s1 = try prior.sample(batch: 4, rng: &a)
        let s2 = try prior.sample(batch: 4, rng: &b)
        let s3 = try prior.sample(batch: 4, rng: &c)
        XCTAssertEqual(s1.shape, [4, 12])
        XCTAssertEqual(s1, s2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(s1, s3)
        // Continuing the same generator gives new samples.
        XCTAssertNotEqual(try prior.sample(batch: 4, rng: &a), s1)
    }

    func testNearZeroTemperatureAndTopOneAreGreedy() throws {
        for prior in [try goldenPrior(), { let (p, _) = randomPrior(); p.train(false); return p }()] {
            var r1 = RandomGenerator(seed: 3), r2 = RandomGenerator(seed: 4), r3 = RandomGenerator(seed: 5)
            let cold = try prior.sample(batch: 3, temperature: 1e-4, rng: &r1)
            assertGreedy(prior, cold)
            // The same sequence whatever the seed, in every batch row.
            let top1 = try prior.sample(batch: 3, topK: 1, rng: &r2)
            XCTAssertEqual(top1, cold)
            XCTAssertEqual(try prior.sample(batch: 3, temperature: 2, topK: 1, rng: &r3), cold)
            for i in 1..<3 { XCTAssertEqual(Array(cold.values[(i * cold.shape[1])...].prefix(cold.shape[1])),
                                            Array(cold.values.prefix(cold.shape[1]))) }
            // Unrestricted greedy: argmax over all M·P codes.
            var r4 = RandomGenerator(seed: 6)
            let coldAll = try prior.sample(batch: 2, topK: 1, restrictToBlock: false, rng: &r4)
            assertGreedy(prior, coldAll, restricted: false)
        }
    }

    func testTopKKeepsOnlyTheKBestCodes() throws {
        let prior = try goldenPrior()
        var rng = RandomGenerator(seed: 21)
        let samples = try prior.sample(batch: 64, topK: 2, rng: &rng)
        let logits = prior.logits(samples)
        let t = 12, k = 32, p = 8
        var seenSecond = false
        for i in 0..<64 {
            for pos in 0..<t {
                let lo = (pos % 4) * p
                let row = (lo..<(lo + p)).map { logits.data[(i * t + pos) * k + $0] }
                let ranked = row.enumerated().sorted { $0.element > $1.element }
                let chosen = Int(samples.values[i * t + pos]) - lo
                XCTAssertTrue(chosen == ranked[0].offset || chosen == ranked[1].offset)
                if chosen == ranked[1].offset { seenSecond = true }
            }
        }
        XCTAssertTrue(seenSecond, "top-2 sampling never picked the second-best code")
    }

    func testRestrictToBlockKeepsIdsInTheirBlock() throws {
        let prior = try goldenPrior()
        var rng = RandomGenerator(seed: 31)
        let m = 4, p = 8
        var used = Set<Int32>()
        for _ in 0..<5 {
            let s = try prior.sample(batch: 40, temperature: 1.5, rng: &rng)
            for (i, v) in s.values.enumerated() {
                let block = (i % 12) % m
                XCTAssertTrue(v >= Int32(block * p) && v < Int32((block + 1) * p), "id \(v) at position \(i % 12)")
                used.insert(v)
            }
            _ = Self.config.localCodes(global: s)
        }
        XCTAssertGreaterThan(used.count, 20, "expected most of the 32 ids to appear")

        // The official (unrestricted) sampler puts other blocks' ids at some positions on this model.
        let free = try prior.sample(batch: 40, restrictToBlock: false, rng: &rng)
        XCTAssertTrue(free.values.allSatisfy { $0 >= 0 && $0 < 32 })
        let outOfBlock = free.values.enumerated().filter { i, v in Int(v) / p != (i % 12) % m }.count
        XCTAssertGreaterThan(outOfBlock, 0)
    }

    func testCompletionKeepsFixedCodesAndFeedsThem() throws {
        let prior = try goldenPrior()
        let t = 12
        let golden = Golden.ints("prior_input_codes")          // [2, 12]
        // Per sequence and position: fix the first slot of sequence 0 and the last two slots of sequence 1.
        var mask = [Bool](repeating: false, count: 2 * t)
        for pos in 0..<4 { mask[pos] = true }
        for pos in 4..<12 { mask[t + pos] = true }
        var outcomes = Set<[Int32]>()
        for seed: UInt64 in 0..<6 {
            var rng = RandomGenerator(seed: seed)
            let s = try prior.sample(batch: 2, fixed: golden, fixedMask: mask, rng: &rng)
            for (i, fixed) in mask.enumerated() where fixed { XCTAssertEqual(s.values[i], golden.values[i]) }
            outcomes.insert((0..<(2 * t)).filter { !mask[$0] }.map { s.values[$0] })
        }
        XCTAssertGreaterThan(outcomes.count, 1, "the free positions did not vary with the seed")

        // Greedy completion: the free codes are the argmax given the fixed ones (so fixed codes are fed on).
        var rng = RandomGenerator(seed: 1)
        let greedy = try prior.sample(batch: 2, topK: 1, fixed: golden, fixedMask: mask, rng: &rng)
        assertGreedy(prior, greedy, skip: { i, pos in mask[i * t + pos] })
        for (i, fixed) in mask.enumerated() where fixed { XCTAssertEqual(greedy.values[i], golden.values[i]) }

        // Per-position mask shared by the batch; fixing everything returns the fixed codes.
        let perPosition = (0..<t).map { $0 % 3 == 0 }
        var r2 = RandomGenerator(seed: 2)
        let s2 = try prior.sample(batch: 2, fixed: golden, fixedMask: perPosition, rng: &r2)
        for i in 0..<2 { for pos in 0..<t where perPosition[pos] { XCTAssertEqual(s2.values[i * t + pos], golden.values[i * t + pos]) } }
        var r3 = RandomGenerator(seed: 3)
        XCTAssertEqual(try prior.sample(batch: 2, fixed: golden, fixedMask: [Bool](repeating: true, count: t), rng: &r3), golden)
    }

    func testFixingCodesDoesNotShiftTheRandomStream() throws {
        let prior = try goldenPrior()
        var r1 = RandomGenerator(seed: 8), r2 = RandomGenerator(seed: 8)
        let free = try prior.sample(batch: 2, rng: &r1)
        // Fix the last position to what was sampled: everything before it is unaffected by the mask.
        let mask = (0..<12).map { $0 == 11 }
        let completed = try prior.sample(batch: 2, fixed: free, fixedMask: mask, rng: &r2)
        XCTAssertEqual(completed, free)
        XCTAssertEqual(r1, r2)
    }

    // MARK: Official import

    private func goldenPriorWriter(skipping: String? = nil) throws -> SafeTensorsWriter {
        let file = Golden.priorStateDict.file
        var writer = SafeTensorsWriter()
        for name in file.names where name != skipping {
            try writer.add(name, floats: try file.floats(name), shape: file.info(name)!.shape)
        }
        return writer
    }

    private func stateDict(_ writer: SafeTensorsWriter) throws -> OfficialStateDict {
        OfficialStateDict(try SafeTensorsFile(data: try writer.serialize()))
    }

    func testLoadOfficialRejectsAWrongShape() throws {
        var writer = try goldenPriorWriter(skipping: "tf.layers.1.linear1.weight")
        try writer.add("tf.layers.1.linear1.weight", floats: [Float](repeating: 0.5, count: 100 * 32), shape: [100, 32])
        var rng = RandomGenerator(seed: 1)
        let prior = SemanticPrior(config: Self.config, rng: &rng)
        let before = prior.namedTensors().map(\.tensor.scalars)
        XCTAssertThrowsError(try prior.loadOfficial(try stateDict(writer))) { error in
            XCTAssertTrue("\(error)".contains("tf.layers.1.linear1.weight"), "\(error)")
        }
        XCTAssertEqual(prior.namedTensors().map(\.tensor.scalars), before, "a failed load modified the prior")
    }

    func testLoadOfficialRejectsExtraAndMissingTensors() throws {
        var writer = try goldenPriorWriter()
        try writer.add("tf.layers.2.norm1.weight", floats: [Float](repeating: 1, count: 32), shape: [32])
        var rng = RandomGenerator(seed: 1)
        let prior = SemanticPrior(config: Self.config, rng: &rng)
        let before = prior.namedTensors().map(\.tensor.scalars)
        XCTAssertThrowsError(try prior.loadOfficial(try stateDict(writer))) { error in
            XCTAssertTrue("\(error)".contains("tf.layers.2.norm1.weight"), "\(error)")
        }
        XCTAssertEqual(prior.namedTensors().map(\.tensor.scalars), before, "a failed load modified the prior")

        XCTAssertThrowsError(try prior.loadOfficial(try stateDict(try goldenPriorWriter(skipping: "pos.pe")))) { error in
            XCTAssertTrue("\(error)".contains("pos.pe"), "\(error)")
        }

        // A prior of another configuration (3 layers) does not fit the golden checkpoint either.
        var c = Self.config
        c.prior!.numLayers = 3
        let deeper = SemanticPrior(config: c, rng: &rng)
        XCTAssertThrowsError(try deeper.loadOfficial(Golden.priorStateDict))
    }

    func testLoadOfficialWithPrefix() throws {
        let file = Golden.priorStateDict.file
        var writer = SafeTensorsWriter()
        for name in file.names { try writer.add("prior." + name, floats: try file.floats(name), shape: file.info(name)!.shape) }
        try writer.add("svq.something", floats: [1], shape: [1])   // outside the prefix: not the prior's business
        var rng = RandomGenerator(seed: 1)
        let prior = SemanticPrior(config: Self.config, rng: &rng)
        try prior.loadOfficial(try stateDict(writer), prefix: "prior.")
        prior.train(false)
        assertMatchesGolden(prior.logits(Golden.ints("prior_input_codes")), "prior_logits", tol: 1e-4)
    }

    // MARK: Training

    func testLossIsSummedOverTheSequenceAndAveragedOverTheBatch() throws {
        let prior = try goldenPrior()
        let codes = Golden.ints("prior_input_codes")
        let logits = prior.logits(codes)
        var total: Double = 0
        for r in 0..<24 {
            let row = (0..<32).map { Double(logits.data[r * 32 + $0]) }
            let mx = row.max()!
            let lse = mx + Foundation.log(row.map { Foundation.exp($0 - mx) }.reduce(0, +))
            total += lse - row[Int(codes.values[r])]
        }
        XCTAssertEqual(Double(prior.loss(codes).item()), total / 2, accuracy: 1e-3)
    }

    func testDropoutOnlyWhileTraining() {
        let (prior, c) = randomPrior()
        let codes = randomCodes(batch: 2, config: c, seed: 9)
        prior.train(false)
        let eval = prior.logits(codes)
        var rng = RandomGenerator(seed: 1)
        XCTAssertEqual(prior.logits(codes, rng: &rng).scalars, eval.scalars)
        XCTAssertEqual(rng, RandomGenerator(seed: 1), "eval mode drew random numbers")
        prior.train(true)
        XCTAssertEqual(prior.logits(codes).scalars, eval.scalars, "the rng-free overload has no dropout")
        var r1 = RandomGenerator(seed: 2), r2 = RandomGenerator(seed: 2)
        let d1 = prior.logits(codes, rng: &r1), d2 = prior.logits(codes, rng: &r2)
        XCTAssertEqual(d1.scalars, d2.scalars)
        XCTAssertNotEqual(d1.scalars, eval.scalars)
    }

    func testLossGradientsReachEveryParameter() {
        let (prior, c) = randomPrior()
        prior.train(true)
        let codes = randomCodes(batch: 3, config: c, seed: 10)
        for withDropout in [false, true] {
            prior.zeroGrad()
            var rng = RandomGenerator(seed: 3)
            let loss = withDropout ? prior.loss(codes, rng: &rng) : prior.loss(codes)
            XCTAssertTrue(loss.item().isFinite)
            loss.backward()
            for (name, t) in prior.namedParameters() {
                guard let g = t.grad else { XCTFail("no gradient for \(name)"); continue }
                XCTAssertEqual(g.shape, t.shape, name)
                XCTAssertTrue(g.scalars.allSatisfy { $0.isFinite }, name)
                XCTAssertTrue(g.scalars.contains { $0 != 0 }, "zero gradient for \(name)")
            }
        }
    }

    func testLossGradientMatchesFiniteDifferences() {
        let (prior, c) = randomPrior(seed: 12)
        prior.train(false)
        let codes = randomCodes(batch: 2, config: c, seed: 13)
        prior.zeroGrad()
        prior.loss(codes).backward()
        let checks: [(String, Tensor, Int)] = [
            ("bos", prior.bos, 3), ("position_embedding", prior.positionEmbedding, 30),
            ("in_projection", prior.layers[1].selfAttention.inProjection.weight, 700),
            ("ffn_out.bias", prior.layers[2].ffnOut.bias!, 5), ("head", prior.head.weight, 40),
            ("code_embedding", prior.codeEmbedding.weight, Int(codes.values[3]) * 24 + 2),
        ]
        for (name, t, i) in checks {
            let analytic = t.grad!.data[i]
            let h: Float = 1e-2
            let saved = t.data[i]
            t.data[i] = saved + h
            let up = withoutGradients { prior.loss(codes).item() }
            t.data[i] = saved - h
            let down = withoutGradients { prior.loss(codes).item() }
            t.data[i] = saved
            let numeric = (up - down) / (2 * h)
            XCTAssertEqual(analytic, numeric, accuracy: 2e-2 + 2e-2 * abs(numeric), name)
        }
    }

    func testWithFreshPriorResizesThePriorAndKeepsEverythingElse() throws {
        let model = try SVQModelTests.officialTiny()
        let sizes = PriorConfig(dModel: 16, numHeads: 2, numLayers: 3)
        var rng = RandomGenerator(seed: 1)
        let fresh = try model.withFreshPrior(sizes, rng: &rng)
        XCTAssertEqual(fresh.config.prior, sizes)
        XCTAssertNotEqual(model.config.prior, sizes)
        var rest = model.config, freshRest = fresh.config
        rest.prior = nil; freshRest.prior = nil
        XCTAssertEqual(rest, freshRest)
        let old = Dictionary(uniqueKeysWithValues: model.namedTensors().map { ($0.name, $0.tensor) })
        var priorTensors = 0
        for (name, tensor) in fresh.namedTensors() {
            if name.hasPrefix("prior.") {
                priorTensors += 1
                continue
            }
            XCTAssertEqual(tensor.scalars, try XCTUnwrap(old[name]).scalars, name)
        }
        XCTAssertTrue(fresh.namedTensors().contains { $0.name.hasPrefix("prior.layers.2.") },
                      "three layers: \(fresh.namedTensors().map(\.name).filter { $0.hasPrefix("prior.") })")
        XCTAssertGreaterThan(priorTensors, 0)
        // The same encoder: the same codes; and the new prior samples codes of the right shape.
        let images = Golden.tensor("images_nchw"), noise = Golden.tensor("slot_init_noise")
        XCTAssertEqual(fresh.encode(images, noise: noise).codes, model.encode(images, noise: noise).codes)
        var draw = RandomGenerator(seed: 2)
        let sampled = try XCTUnwrap(fresh.prior).sample(batch: 2, rng: &draw)
        XCTAssertEqual(sampled.shape, [2, model.config.codesPerImage])
        // Sizes the config refuses are refused here too.
        XCTAssertThrowsError(try model.withFreshPrior(PriorConfig(dModel: 15, numHeads: 2, numLayers: 1), rng: &rng))
    }
}
