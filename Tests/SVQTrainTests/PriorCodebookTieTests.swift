// The prior trained through the codebooks: its gradients against finite differences, the folded tables
// against their definition, which tensors the optimizer moves, and resuming such a run.

import Foundation
import SVQEngine
import SVQModel
import SVQTrain
import XCTest

final class PriorCodebookTieTests: XCTestCase {
    func codeSets(count: Int, seed: UInt64) -> CodeCache {
        let c = tinyTrainingConfig()
        var rng = RandomGenerator(seed: seed)
        let draws = rng.uniform([count * c.codesPerImage]).scalars
        let values = draws.enumerated().map { i, u in
            Int32((i % c.numBlocks) * c.numPrototypes + min(Int(u * Float(c.numPrototypes)), c.numPrototypes - 1))
        }
        return CodeCache(codes: IntTensor(values, shape: [count, c.codesPerImage]))
    }

    func makeTrainer(steps: Int, tie: Bool = true) throws -> PriorTrainer {
        var rng = RandomGenerator(seed: 7)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        var options = PriorTrainingOptions.cpu(steps: steps, batchSize: 8, seed: 7)
        options.learningRate = 3e-3
        options.clipNorm = 1
        options.codebookTie = tie
        return try PriorTrainer(model: model, codes: codeSets(count: 32, seed: 1), options: options)
    }

    func testGradientsOfTheFreePartsAndProjectionsMatchFiniteDifferences() throws {
        let trainer = try makeTrainer(steps: 1)
        let tie = try XCTUnwrap(trainer.tie)
        let prior = trainer.prior
        prior.train(false)  // no dropout: the loss is a function of the weights alone
        // Non-zero free parts, so that both terms of every folded row matter.
        var values = RandomGenerator(seed: 3)
        tie.embeddingFree.assign(values.uniform([tie.embeddingFree.count], low: -0.5, high: 0.5).scalars)
        tie.headFree.assign(values.uniform([tie.headFree.count], low: -0.5, high: 0.5).scalars)
        let batch = codeSets(count: 3, seed: 9).codes

        tie.fold(into: prior)
        prior.zeroGrad()
        prior.loss(batch).backward()
        tie.takeGradients(from: prior)
        XCTAssertNil(prior.codeEmbedding.weight.grad, "the folded table's gradient was not handed over")
        XCTAssertNil(prior.head.weight.grad)

        func loss() -> Double {
            tie.fold(into: prior)
            return Double(withoutGradients { prior.loss(batch).item() })
        }
        // Small steps: the embedding enters scaled by √D and a larger one crosses ReLU kinks.
        let eps: Float = 2e-3
        for (name, t) in tie.namedTensors() {
            let g = try XCTUnwrap(t.grad, "\(name) has no gradient").scalars
            XCTAssertGreaterThan(g.map(abs).max() ?? 0, 1e-4, "\(name)'s gradient is zero")
            for i in stride(from: 0, to: t.count, by: max(1, t.count / 60)) {
                let saved = t.data[i]
                t.data[i] = saved + eps
                let up = loss()
                t.data[i] = saved - eps
                let down = loss()
                t.data[i] = saved
                let numeric = Float((up - down) / Double(2 * eps))
                XCTAssertEqual(g[i], numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]")
            }
        }
    }

    func testFoldedRowsAreFreePartPlusProjectedUnitPrototype() throws {
        var rng = RandomGenerator(seed: 2)
        let config = tinyTrainingConfig()
        let model = try SVQModel(config: config, rng: &rng)
        let prior = try XCTUnwrap(model.prior)
        let (m, p, f) = (config.numBlocks, config.numPrototypes, model.slotAttention.quantizer.codebooks.shape[2])
        // Block 0: prototype 1 is prototype 0 doubled, prototype 2 is its negative.
        var books = model.slotAttention.quantizer.codebooks.scalars
        for j in 0..<f { books[1 * f + j] = 2 * books[j]; books[2 * f + j] = -books[j] }
        let codebooks = Tensor(books, shape: [m, p, f])
        let tie = PriorCodebookTie(prior: prior, codebooks: codebooks, rng: &rng)
        tie.fold(into: prior)
        let d = prior.dModel
        func row(_ t: Tensor, _ r: Int) -> [Float] { Array(t.scalars[(r * d)..<((r + 1) * d)]) }
        let e = prior.codeEmbedding.weight, h = prior.head.weight
        // Free parts start at zero, so codes whose prototypes point the same way start as one code …
        for (a, b) in zip(row(e, 0), row(e, 1)) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        for (a, b) in zip(row(h, 0), row(h, 1)) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        for (a, b) in zip(row(e, 0), row(e, 2)) { XCTAssertEqual(a, -b, accuracy: 1e-5) }
        // … and every row is its block's projection of the unit prototype, computed here independently.
        tie.embeddingFree.assign(rng.uniform([tie.embeddingFree.count], low: -1, high: 1).scalars)
        tie.fold(into: prior)
        let w = tie.embeddingProjection.scalars
        for r in [0, 3, p, m * p - 1] {
            let block = r / p
            let proto = Array(books[(r * f)..<((r + 1) * f)])
            let norm = proto.map { $0 * $0 }.reduce(0, +).squareRoot()
            for k in [0, d / 2, d - 1] {
                var expected = tie.embeddingFree.scalars[r * d + k]
                for j in 0..<f { expected += proto[j] / norm * w[(block * d + k) * f + j] }
                XCTAssertEqual(e.scalars[r * d + k], expected, accuracy: 1e-4, "row \(r) entry \(k)")
            }
        }
        // Distinct prototypes give distinct rows.
        XCTAssertNotEqual(row(e, 0), row(e, 3))
    }

    func testOptimizerMovesTheTieNotTheFoldedTablesAndTheLossFalls() throws {
        let trainer = try makeTrainer(steps: 60)
        let names = trainer.optimizer.groups.flatMap { $0.parameters.map(\.name) }
        XCTAssertTrue(names.contains("prior_tie.embedding_projection"))
        XCTAssertTrue(names.contains("prior_tie.head_free"))
        XCTAssertFalse(names.contains("prior.code_embedding.weight"))
        XCTAssertFalse(names.contains("prior.head.weight"))
        XCTAssertEqual(try makeTrainer(steps: 1, tie: false).optimizer.groups.flatMap { $0.parameters.map(\.name) }
            .filter { $0.hasPrefix("prior_tie.") }, [])

        let held = codeSets(count: 16, seed: 2)
        let before = trainer.evaluate(held)
        for _ in 0..<60 { trainer.trainStep() }
        XCTAssertNil(trainer.nonFinite)
        // Uniform codes: the best a prior can do is N·M·ln P = 4 ln 4 ≈ 5.5 nats; a fresh one is far above.
        XCTAssertLessThan(trainer.evaluate(held), before - 1, "held-out loss did not fall from \(before)")
        // After each step the prior's tables are the fold of the tie.
        let tie = try XCTUnwrap(trainer.tie)
        let embedding = trainer.prior.codeEmbedding.weight.scalars
        tie.fold(into: trainer.prior)
        XCTAssertEqual(trainer.prior.codeEmbedding.weight.scalars, embedding)
    }

    func testResumedTiedRunEndsWhereAnUninterruptedRunEnds() throws {
        let steps = 6
        let straight = try makeTrainer(steps: steps)
        for _ in 0..<steps { straight.trainStep() }

        let first = try makeTrainer(steps: steps)
        for _ in 0..<3 { first.trainStep() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-tie-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try first.writeCheckpoint(to: url)

        let resumed = try PriorTrainer.resume(from: url, codes: codeSets(count: 32, seed: 1))
        XCTAssertTrue(resumed.options.codebookTie)
        XCTAssertEqual(resumed.step, 3)
        for _ in 0..<3 { resumed.trainStep() }
        let a = try XCTUnwrap(straight.tie), b = try XCTUnwrap(resumed.tie)
        for (x, y) in zip(a.namedTensors(), b.namedTensors()) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "\(x.name) differs after resuming")
        }
        for (x, y) in zip(straight.prior.namedTensors(), resumed.prior.namedTensors()) {
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, "\(x.name) differs after resuming")
        }
    }

    func testOptionsWrittenBeforeTheTieReadAsUntied() throws {
        var options = PriorTrainingOptions.cpu(steps: 10, batchSize: 4, seed: 1)
        options.codebookTie = true
        let text = jsonText(options)
        XCTAssertEqual(try JSONDecoder().decode(PriorTrainingOptions.self, from: Data(text.utf8)), options)
        let older = text.replacingOccurrences(of: "\"codebookTie\":true,", with: "")
        XCTAssertNotEqual(older, text)
        XCTAssertFalse(try JSONDecoder().decode(PriorTrainingOptions.self, from: Data(older.utf8)).codebookTie)
    }
}
