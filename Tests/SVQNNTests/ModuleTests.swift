import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQNN
import SVQOptim

private final class Block: Module {
    let attnLayerNorm = LayerNorm(4)
    let projQ: Linear
    init(rng: inout RandomGenerator) { projQ = Linear(4, 4, bias: false, rng: &rng) }
}

private final class Net: Module {
    let imageEncoder: Linear
    let blocks: [Block]
    let slotMu: Tensor
    let emaClusterSize = Tensor(zeros: [3])   // a buffer: saved, not trained
    init(seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        imageEncoder = Linear(2, 4, rng: &rng)
        blocks = [Block(rng: &rng), Block(rng: &rng)]
        slotMu = parameter(rng.normal([1, 1, 4]))
    }
}

final class ModuleTests: XCTestCase {
    func testHierarchicalSnakeCaseNames() {
        XCTAssertEqual(snakeCase("imageEncoder"), "image_encoder")
        XCTAssertEqual(snakeCase("weightIH"), "weight_ih")
        XCTAssertEqual(snakeCase("projQ"), "proj_q")
        XCTAssertEqual(snakeCase("mlp2Out"), "mlp2_out")
        let names = Net(seed: 1).namedTensors().map(\.name)
        XCTAssertEqual(names, ["slot_mu", "ema_cluster_size",
                               "image_encoder.weight", "image_encoder.bias",
                               "blocks.0.attn_layer_norm.weight", "blocks.0.attn_layer_norm.bias", "blocks.0.proj_q.weight",
                               "blocks.1.attn_layer_norm.weight", "blocks.1.attn_layer_norm.bias", "blocks.1.proj_q.weight"])
        XCTAssertFalse(Net(seed: 1).namedParameters().map(\.name).contains("ema_cluster_size"))
    }

    func testSaveLoadRoundTripAndMetadata() throws {
        let a = Net(seed: 1), b = Net(seed: 2)
        a.emaClusterSize.assign([1, 2, 3])
        XCTAssertNotEqual(a.slotMu.scalars, b.slotMu.scalars)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svq-module-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try a.saveWeights(to: url, metadata: ["format_version": "1"])
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata["format_version"], "1")
        try b.load(from: file)
        for ((n1, t1), (n2, t2)) in zip(a.namedTensors(), b.namedTensors()) {
            XCTAssertEqual(n1, n2)
            XCTAssertEqual(t1.scalars, t2.scalars, n1)
        }
    }

    func testLoadReportsEveryMismatchAndChangesNothing() throws {
        var w = SafeTensorsWriter()
        try w.add("slot_mu", floats: [1, 2, 3, 4, 5], shape: [1, 1, 5])
        try w.add("stranger", floats: [0], shape: [1])
        let file = try SafeTensorsFile(data: try w.serialize())
        let net = Net(seed: 3)
        let before = net.slotMu.scalars
        XCTAssertThrowsError(try net.load(from: file)) { error in
            let e = error as! WeightsMismatchError
            XCTAssertTrue(e.missing.contains("image_encoder.weight"))
            XCTAssertEqual(e.unexpected, ["stranger"])
            XCTAssertEqual(e.shapeMismatches.count, 1)
            XCTAssertTrue(e.description.contains("slot_mu"))
        }
        XCTAssertEqual(net.slotMu.scalars, before)
    }

    /// With a prefix (a checkpoint keeps its model under "model."), names carry it and strictness covers
    /// only the tensors under it.
    func testLoadUnderAPrefix() throws {
        let a = Net(seed: 1), b = Net(seed: 2)
        var w = SafeTensorsWriter()
        for (name, t) in a.namedTensors() { try w.add("model." + name, floats: t.scalars, shape: t.shape) }
        try w.add("optimizer.step", floats: [0], shape: [1])
        let file = try SafeTensorsFile(data: try w.serialize())
        try b.load(from: file, prefix: "model.")
        XCTAssertEqual(a.namedTensors().map(\.tensor.scalars), b.namedTensors().map(\.tensor.scalars))
        XCTAssertThrowsError(try b.load(from: file)) { error in
            XCTAssertTrue((error as! WeightsMismatchError).missing.contains("slot_mu"))
        }

        var extra = SafeTensorsWriter()
        for (name, t) in a.namedTensors() where name != "slot_mu" { try extra.add("model." + name, floats: t.scalars, shape: t.shape) }
        try extra.add("model.stranger", floats: [0], shape: [1])
        XCTAssertThrowsError(try b.load(from: try SafeTensorsFile(data: try extra.serialize()), prefix: "model.")) { error in
            let e = error as! WeightsMismatchError
            XCTAssertEqual(e.missing, ["model.slot_mu"])
            XCTAssertEqual(e.unexpected, ["model.stranger"])
        }
    }

    func testFreezeStopsRecording() {
        let net = Net(seed: 4)
        net.freeze()
        let y = net.imageEncoder(Tensor([1, 2], shape: [1, 2]))
        XCTAssertFalse(y.hasGradientHistory)
        XCTAssertTrue(net.parameters().isEmpty)
    }

    func testDropoutDropsAtItsRateFromItsStream() {
        let d = Dropout(p: 0.5, rng: RandomGenerator(seed: 1))
        let x = Tensor(repeating: 1, shape: [10_000])
        let y = d(x)
        let zeros = y.scalars.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / 10_000, 0.5, accuracy: 0.03)
        XCTAssertEqual(y.scalars.filter { $0 != 0 }.first, 2, "kept values rescaled by 1/(1-p)")
        // The same seed drops the same elements; the stream moves on, so the next site differs.
        XCTAssertEqual(Dropout(p: 0.5, rng: RandomGenerator(seed: 1))(x).scalars, y.scalars)
        XCTAssertNotEqual(d(x).scalars, y.scalars)
        // Probability 0 passes the input through and draws nothing.
        let none = Dropout(p: 0, rng: RandomGenerator(seed: 1))
        XCTAssertEqual(none(x).scalars, x.scalars)
        XCTAssertEqual(none.drop(x, p: 0).scalars, x.scalars)
        XCTAssertEqual(none.rng, RandomGenerator(seed: 1))
        // Another probability from the same stream (the decoder's position dropout).
        let quarter = none.drop(x, p: 0.25).scalars
        XCTAssertEqual(Double(quarter.filter { $0 == 0 }.count) / 10_000, 0.25, accuracy: 0.03)
        XCTAssertNotEqual(none.rng, RandomGenerator(seed: 1))
    }
}

/// A small network trained on a known function must reach a stated loss: the engine, layers and
/// optimizer working together.
final class FitTests: XCTestCase {
    func testMLPFitsSine() {
        var rng = RandomGenerator(seed: 42)
        let l1 = Linear(1, 32, rng: &rng), l2 = Linear(32, 32, rng: &rng), l3 = Linear(32, 1, rng: &rng)
        let params = [("l1", l1), ("l2", l2), ("l3", l3)].flatMap { n, m in m.namedParameters().map { (name: "\(n).\($0.name)", tensor: $0.tensor) } }
        let opt = Adam(groups: [ParameterGroup(name: "all", parameters: params, learningRate: 1e-2,
                                               schedule: LearningRateSchedule(warmupSteps: 20, decay: .cosine(totalSteps: 800, floor: 0.05)))])
        let xs = (0..<128).map { Float($0) / 127 * 2 * .pi - .pi }
        let x = Tensor(xs, shape: [128, 1]), y = Tensor(xs.map { sinf($0) }, shape: [128, 1])
        var last: Float = .infinity
        for _ in 0..<800 {
            let pred = l3(l2(l1(x).tanh()).tanh())
            let loss = mseLoss(pred, y)
            last = loss.item()
            loss.backward()
            clipGradients(params.map(\.tensor), maxNorm: 1.0)
            opt.step()
            params.forEach { $0.tensor.grad = nil }
        }
        XCTAssertLessThan(last, 1e-3, "MSE on sin(x) after 800 Adam steps")
    }
}
