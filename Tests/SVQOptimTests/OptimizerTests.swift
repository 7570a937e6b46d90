import Foundation
import XCTest
import SVQEngine
import SVQNN
import SVQOptim

final class OptimizerTests: XCTestCase {
    /// Adam's update written out in Double, step by step, as in the paper with PyTorch's epsilon placement.
    func testAdamMatchesReferenceArithmetic() {
        let p = parameter(Tensor([0.5, -1.0, 2.0], shape: [3]))
        let grads: [[Float]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.0, 0.2]]
        let lr: Float = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8
        let opt = Adam(groups: [ParameterGroup(name: "g", parameters: [("p", p)], learningRate: lr)])
        var w = [0.5, -1.0, 2.0], m = [0.0, 0, 0], v = [0.0, 0, 0]
        for (t, g) in grads.enumerated() {
            p.grad = Tensor(g, shape: [3])
            opt.step()
            for i in 0..<3 {
                m[i] = b1 * m[i] + (1 - b1) * Double(g[i])
                v[i] = b2 * v[i] + (1 - b2) * Double(g[i]) * Double(g[i])
                let mh = m[i] / (1 - pow(b1, Double(t + 1))), vh = v[i] / (1 - pow(b2, Double(t + 1)))
                w[i] -= Double(lr) * mh / (vh.squareRoot() + eps)
            }
        }
        for i in 0..<3 { XCTAssertEqual(Double(p.data[i]), w[i], accuracy: 1e-6) }
        XCTAssertEqual(opt.stepCount, 3)
    }

    func testWeightDecayCoupledAndDecoupled() {
        let a = parameter(Tensor([1.0], shape: [1])), b = parameter(Tensor([1.0], shape: [1]))
        let adam = Adam(groups: [ParameterGroup(name: "g", parameters: [("a", a)], learningRate: 0.1, weightDecay: 0.5)])
        let adamW = Adam.adamW(groups: [ParameterGroup(name: "g", parameters: [("b", b)], learningRate: 0.1, weightDecay: 0.5)])
        a.grad = Tensor([0.0], shape: [1]); b.grad = Tensor([0.0], shape: [1])
        adam.step(); adamW.step()
        // Adam: decay enters the gradient (g = 0.5), first step moves by lr·sign = 0.1.
        XCTAssertEqual(a.data[0], 0.9, accuracy: 1e-5)
        // AdamW: weights shrink by lr·wd = 5%, the zero gradient moves nothing.
        XCTAssertEqual(b.data[0], 0.95, accuracy: 1e-6)
    }

    func testGroupsFollowTheirOwnSchedules() {
        let a = parameter(Tensor([0.0], shape: [1])), b = parameter(Tensor([0.0], shape: [1]))
        let opt = Adam(groups: [
            ParameterGroup(name: "dvae", parameters: [("a", a)], learningRate: 3e-4),
            ParameterGroup(name: "enc", parameters: [("b", b)], learningRate: 1e-4,
                           schedule: LearningRateSchedule(warmupSteps: 10, decay: .halfLife(steps: 100))),
        ])
        XCTAssertEqual(opt.currentLearningRates, [3e-4, 0])
        a.grad = Tensor([1], shape: [1]); b.grad = Tensor([1], shape: [1])
        opt.step()
        XCTAssertEqual(b.data[0], 0, "warmup starts from a zero rate")
        XCTAssertNotEqual(a.data[0], 0)
        for _ in 0..<4 { opt.step() }
        XCTAssertEqual(opt.currentLearningRates[1], 1e-4 * 0.5 * powf(0.5, 0.05), accuracy: 1e-10)
    }

    func testScheduleShapes() {
        let warm = LearningRateSchedule(warmupSteps: 30_000, decay: .halfLife(steps: 250_000))
        XCTAssertEqual(warm.factor(at: 0), 0)
        XCTAssertEqual(warm.factor(at: 15_000), 0.5 * powf(0.5, 0.06), accuracy: 1e-6)
        XCTAssertEqual(warm.factor(at: 250_000), 0.5, accuracy: 1e-6)
        let cos = LearningRateSchedule(decay: .cosine(totalSteps: 100, floor: 0.1))
        XCTAssertEqual(cos.factor(at: 0), 1, accuracy: 1e-6)
        XCTAssertEqual(cos.factor(at: 50), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cos.factor(at: 500), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosineAnneal(step: 0, start: 1, end: 0.1, steps: 30_000), 1, accuracy: 1e-6)
        XCTAssertEqual(cosineAnneal(step: 15_000, start: 1, end: 0.1, steps: 30_000), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cosineAnneal(step: 40_000, start: 1, end: 0.1, steps: 30_000), 0.1)
    }

    func testClippingByInfinityAndTwoNorm() {
        let a = parameter(Tensor([0, 0], shape: [2])), b = parameter(Tensor([0], shape: [1]))
        a.grad = Tensor([3, -4], shape: [2]); b.grad = Tensor([12], shape: [1])
        let n2 = clipGradients([a, b], maxNorm: 6.5, norm: .l2)
        XCTAssertEqual(n2, 13, accuracy: 1e-5)
        XCTAssertEqual(a.grad!.data[0], 1.5, accuracy: 1e-5)
        XCTAssertEqual(b.grad!.data[0], 6, accuracy: 1e-5)
        let ninf = clipGradients([a, b], maxNorm: 0.05, norm: .infinity)
        XCTAssertEqual(ninf, 6, accuracy: 1e-5)
        XCTAssertEqual(b.grad!.data[0], 0.05, accuracy: 1e-6)
        XCTAssertEqual(a.grad!.data[1], -2 * 0.05 / 6, accuracy: 1e-6)
        let small = clipGradients([a], maxNorm: 100)
        XCTAssertEqual(a.grad!.data[1], -2 * 0.05 / 6, accuracy: 1e-6, "below the limit: untouched")
        XCTAssertGreaterThan(small, 0)
    }

    func testStateRestoreContinuesIdentically() {
        func run(steps: Int, restartAt: Int?) -> [Float] {
            let p = parameter(Tensor([1, 2], shape: [2]))
            var opt = Adam(groups: [ParameterGroup(name: "g", parameters: [("p", p)], learningRate: 0.05)])
            for s in 0..<steps {
                if s == restartAt {
                    let saved = opt.stateTensors().map { ($0.name, $0.tensor.copy()) }
                    let count = opt.stepCount
                    opt = Adam(groups: [ParameterGroup(name: "g", parameters: [("p", p)], learningRate: 0.05)])
                    for ((_, dst), (_, src)) in zip(opt.stateTensors(), saved) { dst.assign(src) }
                    opt.restore(stepCount: count)
                }
                p.grad = p * p.detached()   // any deterministic gradient
                opt.step()
            }
            return p.scalars
        }
        XCTAssertEqual(run(steps: 6, restartAt: nil), run(steps: 6, restartAt: 3))
        XCTAssertNotEqual(run(steps: 6, restartAt: nil), run(steps: 5, restartAt: nil))
    }
}
