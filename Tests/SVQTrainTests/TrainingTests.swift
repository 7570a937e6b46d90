// SVQ training: losses fall, the codebook EMA and dead-code restarts follow their specification, and an
// interrupted and resumed run ends exactly where an uninterrupted one does.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels
import SVQNN
import SVQTrain
import XCTest

/// A model small enough to train for hundreds of steps inside a test.
func tinyTrainingConfig() -> SVQConfig {
    var c = SVQConfig(imageSize: 16, cnnHiddenSize: 8, dModel: 16, mlpHiddenSize: 16, numSlots: 2, slotSize: 16,
                      numBlocks: 2, numPrototypes: 4, vocabSize: 16, numDecoderLayers: 1, numDecoderHeads: 2,
                      prior: PriorConfig(dModel: 16, numHeads: 2, numLayers: 1))
    c.featureSize = 16
    c.dvaeHiddenSize = 8
    c.couplerHeads = 2
    return c
}

/// Black 16×16 images, each with one coloured square (3 colours × 4 positions).
func squaresDataset() -> ImageSet {
    var images: [[UInt8]] = []
    let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    for colour in colours {
        for (x0, y0) in [(1, 1), (9, 1), (1, 9), (9, 9)] {
            var img = [UInt8](repeating: 0, count: 16 * 16 * 3)
            for y in y0..<(y0 + 6) { for x in x0..<(x0 + 6) { for c in 0..<3 { img[(y * 16 + x) * 3 + c] = colour[c] } } }
            images.append(img)
        }
    }
    return ImageSet(interleavedRGB: images, height: 16, width: 16)
}

final class TrainingTests: XCTestCase {
    func makeTrainer(steps: Int, seed: UInt64 = 3) throws -> SVQTrainer {
        var rng = RandomGenerator(seed: seed)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        var options = SVQTrainingOptions.cpu(steps: steps, batchSize: 6, seed: seed)
        options.dvaeLearningRate = 3e-3
        options.encoderLearningRate = 1e-3
        options.decoderLearningRate = 3e-3
        options.clipNorm = 1
        return try SVQTrainer(model: model, images: squaresDataset(), options: options)
    }

    func testLossesFallOnATinyDataset() throws {
        let trainer = try makeTrainer(steps: 300)
        var mse: [Float] = [], ce: [Float] = []
        for _ in 0..<300 {
            let m = trainer.trainStep()
            XCTAssert(m.loss.isFinite, "loss became \(m.loss) at step \(trainer.step)")
            mse.append(m.dvaeMSE)
            ce.append(m.crossEntropy)
        }
        func mean(_ a: ArraySlice<Float>) -> Float { a.reduce(0, +) / Float(a.count) }
        let mseStart = mean(mse[0..<20]), mseEnd = mean(mse[280..<300])
        let ceStart = mean(ce[0..<20]), ceEnd = mean(ce[280..<300])
        XCTAssertLessThan(mseEnd, 0.75 * mseStart, "dVAE MSE \(mseStart) → \(mseEnd)")
        XCTAssertLessThan(ceEnd, 0.7 * ceStart, "decoder cross-entropy \(ceStart) → \(ceEnd)")
    }

    func testResumedRunEndsWhereAnUninterruptedRunEnds() throws {
        let steps = 6
        let straight = try makeTrainer(steps: steps)
        for _ in 0..<steps { straight.trainStep() }

        let first = try makeTrainer(steps: steps)
        for _ in 0..<3 { first.trainStep() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try first.writeCheckpoint(to: url)

        let resumed = try SVQTrainer.resume(from: url, images: squaresDataset())
        XCTAssertEqual(resumed.step, 3)
        for _ in 0..<3 { resumed.trainStep() }

        let a = straight.model.namedTensors(), b = resumed.model.namedTensors()
        XCTAssertEqual(a.map(\.name), b.map(\.name))
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "\(x.name) differs after resuming")
        }
        for (x, y) in zip(straight.optimizer.stateTensors(), resumed.optimizer.stateTensors()) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "optimizer \(x.name) differs after resuming")
        }
    }

    func testResumeRefusesOtherImagesAndBrokenCheckpoints() throws {
        let trainer = try makeTrainer(steps: 2)
        trainer.trainStep()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try trainer.writeCheckpoint(to: url)

        let other = squaresDataset().subset(Array((0..<12).reversed()))
        XCTAssertThrowsError(try SVQTrainer.resume(from: url, images: other))

        let bytes = try Data(contentsOf: url)
        for cut in [0, 7, 100, bytes.count / 2, bytes.count - 1] {
            let broken = dir.appendingPathComponent("cut\(cut).safetensors")
            try bytes.prefix(cut).write(to: broken)
            XCTAssertThrowsError(try SVQTrainer.resume(from: broken, images: squaresDataset()), "cut at \(cut)")
        }
        // A model file is not a checkpoint.
        let modelFile = dir.appendingPathComponent("model.safetensors")
        try trainer.model.save(to: modelFile)
        XCTAssertThrowsError(try SVQTrainer.resume(from: modelFile, images: squaresDataset())) { error in
            XCTAssertEqual((error as? TrainingError)?.kind, .invalidCheckpoint, "\(error)")
        }
        XCTAssertThrowsError(try SVQTrainer.resume(from: url, images: other)) { error in
            XCTAssertEqual((error as? TrainingError)?.kind, .inputMismatch, "\(error)")
        }
    }

    /// A checkpoint's model goes through the same loader as a model file: a hostile config fails fast, and
    /// missing or extra model tensors and damaged optimizer state are named.
    func testCheckpointModelsAreLoadedLikeModelFiles() throws {
        let trainer = try makeTrainer(steps: 2)
        trainer.trainStep()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try trainer.writeCheckpoint(to: url)
        let original = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try Checkpoint.loadModel(original).config, trainer.model.config)

        func rewritten(config edit: (inout [String: Any]) -> Void = { _ in },
                       skip: String? = nil, add: String? = nil) throws -> SafeTensorsFile {
            var metadata = original.metadata
            var config = try JSONSerialization.jsonObject(with: Data(metadata["config"]!.utf8)) as! [String: Any]
            edit(&config)
            metadata["config"] = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            var w = SafeTensorsWriter(metadata: metadata)
            for info in original.tensors where info.name != skip {
                try w.add(info.name, floats: try original.floats(info.name), shape: info.shape)
            }
            if let add { try w.add(add, floats: [0], shape: [1]) }
            return try SafeTensorsFile(data: try w.serialize())
        }
        func modelError(_ file: SafeTensorsFile) -> SVQModelError? {
            do { _ = try Checkpoint.loadModel(file) } catch { return error as? SVQModelError }
            return nil
        }
        let start = Date()
        let hostile = modelError(try rewritten(config: { $0["numDecoderLayers"] = 100_000 }))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        XCTAssertEqual(hostile?.kind, .tensorMismatch)
        XCTAssertEqual(hostile?.message.contains("the config implies"), true, hostile?.message ?? "")

        let missing = modelError(try rewritten(skip: "model.image_decoder.bos"))
        XCTAssertEqual(missing?.kind, .tensorMismatch)
        XCTAssertEqual(missing?.message.contains("model.image_decoder.bos"), true, missing?.message ?? "")
        let extra = modelError(try rewritten(add: "model.stranger"))
        XCTAssertEqual(extra?.message.contains("model.stranger"), true, extra?.message ?? "")

        let optimizerName = try XCTUnwrap(original.names.first { $0.hasPrefix("optimizer.") })
        XCTAssertThrowsError(try Checkpoint.restore(trainer.optimizer, from: try rewritten(skip: optimizerName))) { error in
            XCTAssertEqual((error as? TrainingError)?.kind, .invalidCheckpoint, "\(error)")
            XCTAssertTrue("\(error)".contains(optimizerName), "\(error)")
        }
    }

    func testBatchScheduleCoversEachEpochOnce() {
        let s = BatchSchedule(count: 10, batchSize: 3, seed: 1)
        XCTAssertEqual(s.batchesPerEpoch, 3)
        let epoch0 = (0..<3).flatMap { s.indices(step: $0) }
        XCTAssertEqual(Set(epoch0).count, 9, "an epoch repeats an example")
        XCTAssertNotEqual(epoch0, (3..<6).flatMap { s.indices(step: $0) }, "epochs should reshuffle")
        XCTAssertEqual(s.indices(step: 4), BatchSchedule(count: 10, batchSize: 3, seed: 1).indices(step: 4))
    }
}

final class CodebookUpdateTests: XCTestCase {
    /// One update computed by hand from the specification (docs/reference/nlotm-forward.md §8).
    func testEMAUpdateFollowsTheSpecification() {
        var rng = RandomGenerator(seed: 5)
        let m = 2, p = 3, w = 2
        let q = BlockVectorQuantizer(blocks: m, prototypes: p, width: w, rng: &rng)
        // Start from known EMA state: every code alive with cluster size 4 so none restarts (unless counts say so).
        for i in 0..<(m * p) { q.emaClusterSize.data[i] = 4 }
        for i in 0..<(m * p * w) { q.emaWeight.data[i] = Float(i) * 0.5 }
        let oldCS = q.emaClusterSize.scalars, oldEW = q.emaWeight.scalars
        // 3 slots (B·N = 3), each with M = 2 blocks of width 2.
        let queries = Tensor([1, 2, 3, 4,
                              5, 6, 7, 8,
                              9, 10, 11, 12], shape: [1, 3, 4])
        let codes = IntTensor([0, 2,
                               0, 1,
                               2, 1], shape: [1, 3, 2])
        q.updateCodebooks(queries: queries, codes: codes, rng: &rng)

        // Expected, independently: counts per global code (block·P + code).
        var counts = [Float](repeating: 0, count: m * p), sums = [Float](repeating: 0, count: m * p * w)
        let rows: [(block: Int, code: Int, v: [Float])] = [(0, 0, [1, 2]), (1, 2, [3, 4]), (0, 0, [5, 6]),
                                                           (1, 1, [7, 8]), (0, 2, [9, 10]), (1, 1, [11, 12])]
        for r in rows {
            counts[r.block * p + r.code] += 1
            for c in 0..<w { sums[(r.block * p + r.code) * w + c] += r.v[c] }
        }
        var cs = zip(oldCS, counts).map { 0.99 * $0 + 0.01 * $1 }
        let n = cs.reduce(0, +)
        cs = cs.map { ($0 + 1e-5) / (n + Float(m * p) * 1e-5) * n }
        let ew = zip(oldEW, sums).map { 0.99 * $0 + 0.01 * $1 }
        for j in 0..<(m * p) {
            XCTAssertEqual(q.emaClusterSize.data[j], cs[j], accuracy: 1e-5, "cluster size \(j)")
            for c in 0..<w {
                XCTAssertEqual(q.emaWeight.data[j * w + c], ew[j * w + c], accuracy: 1e-5, "ema weight \(j),\(c)")
                XCTAssertEqual(q.codebooks.data[j * w + c], ew[j * w + c] / cs[j], accuracy: 1e-5, "codebook \(j),\(c)")
            }
        }
    }

    func testDeadCodesRestartFromBatchQueries() {
        var rng = RandomGenerator(seed: 9)
        let m = 2, p = 8, w = 4
        let q = BlockVectorQuantizer(blocks: m, prototypes: p, width: w, rng: &rng)
        // Code 0 of each block alive (huge cluster), everything else dead (cs = 0).
        for b in 0..<m {
            q.emaClusterSize.data[b * p] = 1000
            for c in 0..<w { q.emaWeight.data[(b * p) * w + c] = 1000 * Float(b + 1) }
        }
        let slots = 3
        let queries = rng.normal([1, slots, m * w])
        let codes = IntTensor([Int32](repeating: 0, count: slots * m), shape: [1, slots, m])
        let deadBefore = q.emaWeight.scalars
        q.updateCodebooks(queries: queries, codes: codes, rng: &rng)

        let tolerance: Float = 6 * 0.01 / Float(w).squareRoot()
        var chosenSlots: [[Int]] = Array(repeating: [], count: p)
        for b in 0..<m {
            // The live code is ema_w / cs.
            let j = b * p
            for c in 0..<w {
                XCTAssertEqual(q.codebooks.data[j * w + c], q.emaWeight.data[j * w + c] / q.emaClusterSize.data[j], accuracy: 1e-4)
            }
            for code in 1..<p {
                let row = (0..<w).map { q.codebooks.data[(b * p + code) * w + $0] }
                // A dead code is one of this block's batch queries plus small noise.
                let match = (0..<slots).first { s in
                    (0..<w).allSatisfy { abs(row[$0] - queries.data[(s * m + b) * w + $0]) < tolerance }
                }
                XCTAssertNotNil(match, "dead code \(code) of block \(b) is not near any query: \(row)")
                if let s = match { chosenSlots[code].append(s) }
            }
        }
        // One permutation is shared by the blocks: a dead code takes the same slot in every block.
        for code in 1..<p { XCTAssertEqual(Set(chosenSlots[code]).count, 1, "code \(code) took different slots per block") }
        // Dead codes keep their EMA sums (decayed, nothing assigned).
        for b in 0..<m {
            for code in 1..<p {
                for c in 0..<w {
                    let i = (b * p + code) * w + c
                    XCTAssertEqual(q.emaWeight.data[i], 0.99 * deadBefore[i], accuracy: 1e-5)
                }
            }
        }
    }

    /// Too few block vectors per code for the dead-code threshold draws a warning; the shipped presets at
    /// the bundled batch of 16 and the official sizes at their batch of 40 do not.
    func testFewVectorsPerCodeDrawAWarning() {
        XCTAssertNil(SVQTrainingOptions.codeRestartWarning(config: .cpuSprites, batchSize: 16))        // 5 per code
        XCTAssertNil(SVQTrainingOptions.codeRestartWarning(config: .cpuSpritesWide, batchSize: 16))    // 2.5
        XCTAssertNil(SVQTrainingOptions.codeRestartWarning(config: .officialDefault, batchSize: 40))   // 2.5
        var many = SVQConfig.cpuSpritesWide
        many.numPrototypes = 64                                                                       // 1.25
        let warning = SVQTrainingOptions.codeRestartWarning(config: many, batchSize: 16)
        XCTAssertNotNil(warning)
        XCTAssertTrue(warning?.contains("1.2") ?? false, "the warning should give the figure: \(warning ?? "")")
        XCTAssertNotNil(SVQTrainingOptions.codeRestartWarning(config: .officialDefault, batchSize: 16)) // 1
    }

    func testEvaluationEncodingLeavesCodebooksUnchanged() throws {
        var rng = RandomGenerator(seed: 2)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        let before = model.slotAttention.quantizer.codebooks.scalars
        _ = model.encode(rng.uniform([2, 3, 16, 16]), rng: &rng)
        XCTAssertEqual(model.slotAttention.quantizer.codebooks.scalars, before)
    }
}
