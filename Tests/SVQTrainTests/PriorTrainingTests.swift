// Prior training: the loss falls on codes with structure, the held-out loss is the mean over held-out scenes
// and leaves the prior untouched, the loop logs it at each checkpoint, and a resumed run ends where an
// uninterrupted one does.

import Foundation
import SVQEngine
import SVQModels
import SVQTrain
import XCTest

final class PriorTrainingTests: XCTestCase {
    /// Code sets in which every code is fixed by the first slot's first code: a prior that learns this
    /// predicts all but one position exactly. Global ids (block·P + code) for tinyTrainingConfig's N·M = 4.
    func structuredCodes(count: Int, seed: UInt64) -> CodeCache {
        let c = tinyTrainingConfig()
        var rng = RandomGenerator(seed: seed)
        var values: [Int32] = []
        for _ in 0..<count {
            let first = Int(rng.uniform([1]).scalars[0] * Float(c.numPrototypes)) % c.numPrototypes
            for t in 0..<c.codesPerImage {
                let block = t % c.numBlocks
                values.append(Int32(block * c.numPrototypes + (first + t) % c.numPrototypes))
            }
        }
        return CodeCache(codes: IntTensor(values, shape: [count, c.codesPerImage]))
    }

    func makeTrainer(steps: Int, validation: CodeCache? = nil) throws -> PriorTrainer {
        var rng = RandomGenerator(seed: 5)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        var options = PriorTrainingOptions.cpu(steps: steps, batchSize: 8, seed: 5)
        options.learningRate = 3e-3
        options.clipNorm = 1
        return try PriorTrainer(model: model, codes: structuredCodes(count: 64, seed: 1), validationCodes: validation, options: options)
    }

    func testTheFileSaysWhetherThePriorWasTrained() throws {
        let trainer = try makeTrainer(steps: 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prior-trained-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        func reloaded() throws -> SVQModel {
            try trainer.model.save(to: file)
            return try SVQModel(contentsOf: file)
        }
        // A new model (what `svq train` writes) is marked untrained, and stays so through a save and load.
        XCTAssertEqual(trainer.model.metadata["prior_trained"], "false")
        XCTAssertFalse(try reloaded().priorTrained)
        trainer.trainStep()
        XCTAssertNil(trainer.model.metadata["prior_trained"])
        XCTAssertTrue(try reloaded().priorTrained)
    }

    func testHeldOutLossFallsOnStructuredCodes() throws {
        let held = structuredCodes(count: 32, seed: 2)
        let trainer = try makeTrainer(steps: 200, validation: held)
        let before = trainer.evaluate(held)
        for _ in 0..<200 {
            let r = trainer.trainStep()
            XCTAssert(r.loss.isFinite, "loss became \(r.loss) at step \(trainer.step)")
        }
        let after = trainer.evaluate(held)
        // Uniform guessing costs N·M·ln P = 4 ln 4 ≈ 5.5 nats; knowing the structure costs about ln 4 ≈ 1.4.
        XCTAssertGreaterThan(before, 4)
        XCTAssertLessThan(after, 0.5 * before, "held-out loss \(before) → \(after)")
    }

    func testHeldOutLossIsTheMeanOverScenesAndChangesNothing() throws {
        let held = structuredCodes(count: 10, seed: 3)
        let trainer = try makeTrainer(steps: 4, validation: held)
        for _ in 0..<4 { trainer.trainStep() }
        let weights = trainer.prior.namedTensors().map(\.tensor.scalars)
        // Batches of 3 (the last one short) must weigh every scene equally, as one batch of all 10 does.
        let batched = trainer.evaluate(held, batchSize: 3)
        let whole = withoutGradients { trainer.prior.loss(held.codes).item() }
        XCTAssertEqual(batched, whole, accuracy: 1e-4 * abs(whole))
        // No dropout and no state: measuring twice gives the same figure and leaves the weights as they were.
        XCTAssertEqual(try trainer.validationMetrics(), [batched])
        XCTAssertEqual(trainer.evaluate(held, batchSize: 3), batched)
        XCTAssertEqual(trainer.prior.namedTensors().map(\.tensor.scalars), weights)
        XCTAssertEqual(trainer.validationMetricNames, ["loss"])
        XCTAssertEqual(try makeTrainer(steps: 1).validationMetricNames, [])
    }

    func testLoopLogsHeldOutLossAtEachCheckpointAndAtTheEnd() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-prior-loop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let held = structuredCodes(count: 8, seed: 4)
        let trainer = try makeTrainer(steps: 5, validation: held)
        var loop = TrainingLoop(checkpoint: dir.appendingPathComponent("checkpoint.safetensors"),
                                metrics: dir.appendingPathComponent("metrics.csv"),
                                validationMetrics: dir.appendingPathComponent("validation.csv"),
                                checkpointEvery: 2, logEvery: 1)
        var lines: [String] = []
        loop.progress = { lines.append($0) }
        XCTAssertTrue(try loop.run(trainer))
        let rows = try String(contentsOf: dir.appendingPathComponent("validation.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.first, "step,loss")
        XCTAssertEqual(rows.dropFirst().map { $0.split(separator: ",")[0] }, ["2", "4", "5"])
        let last = try XCTUnwrap(Float(rows.last!.split(separator: ",")[1]))
        XCTAssertEqual(last, trainer.evaluate(held), accuracy: 1e-4 * last)
        XCTAssertEqual(lines.filter { $0.hasPrefix("validation at step") }.count, 3)
        // Running the finished task again (a resume at its last step) adds no row.
        XCTAssertTrue(try loop.run(trainer))
        let again = try String(contentsOf: dir.appendingPathComponent("validation.csv"), encoding: .utf8)
        XCTAssertEqual(again.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }, ["2", "4", "5"])
    }

    func testANonFiniteGradientIsNotAppliedAndStopsTheRun() throws {
        let trainer = try makeTrainer(steps: 3)
        trainer.trainStep()
        // NaN output weights make every logit, the loss and the gradients they reach NaN.
        let head = try XCTUnwrap(trainer.prior.namedTensors().first { $0.name.hasSuffix("head.weight") })
        head.tensor.assign([Float](repeating: .nan, count: head.tensor.count))
        let before = trainer.prior.namedTensors().map(\.tensor.scalars)
        let r = trainer.trainStep()
        XCTAssertTrue(r.gradientMax.isNaN)
        XCTAssertEqual(trainer.step, 1, "the step was not taken")
        XCTAssertTrue(trainer.nonFinite?.contains("step 1: the gradient of") ?? false, trainer.nonFinite ?? "nil")
        let after = trainer.prior.namedTensors().map(\.tensor.scalars)
        for (x, y) in zip(before, after) { XCTAssertTrue(zip(x, y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }) }
        XCTAssertTrue(trainer.prior.namedTensors().allSatisfy { $0.tensor.grad.map { g in g.scalars.allSatisfy { $0 == 0 } } ?? true },
                      "gradients are zeroed")
        XCTAssertThrowsError(try trainer.runStep())
    }

    func testResumedPriorRunEndsWhereAnUninterruptedRunEnds() throws {
        let steps = 6
        let straight = try makeTrainer(steps: steps)
        for _ in 0..<steps { straight.trainStep() }

        let first = try makeTrainer(steps: steps)
        for _ in 0..<3 { first.trainStep() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-prior-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try first.writeCheckpoint(to: url)

        let resumed = try PriorTrainer.resume(from: url, codes: structuredCodes(count: 64, seed: 1))
        XCTAssertEqual(resumed.step, 3)
        for _ in 0..<3 { resumed.trainStep() }
        for (x, y) in zip(straight.prior.namedTensors(), resumed.prior.namedTensors()) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "\(x.name) differs after resuming")
        }
        for (x, y) in zip(straight.optimizer.stateTensors(), resumed.optimizer.stateTensors()) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "optimizer \(x.name) differs after resuming")
        }
    }
}
