// The ops IRIS's networks add to the engine — swish, exact GELU, |x|, group normalisation, zero padding, nearest
// ×2 upsampling, 2×2 max-pooling, the LSTM cell — forward against references computed here in Double, backward
// against finite differences.

import Foundation
import XCTest
import SVQEngine
import SVQTestSupport

final class VisionOpsTests: XCTestCase {
    func testActivationsMatchTheirDefinitions() {
        let x = testTensor([3, 7, 5], seed: 11, scale: 4, requiresGrad: false)
        let swish = x.swish().scalars, gelu = x.gelu().scalars, magnitude = x.abs().scalars
        for (i, v) in x.scalars.enumerated() {
            let d = Double(v)
            XCTAssertEqual(Double(swish[i]), d / (1 + Foundation.exp(-d)), accuracy: 1e-6)
            XCTAssertEqual(Double(gelu[i]), 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())), accuracy: 1e-6)
            XCTAssertEqual(magnitude[i], Swift.abs(v))
        }
        // Far tails: no overflow (σ of −100 is 0, GELU of −10 is ~0).
        let tails = Tensor([-100, 100], shape: [2]).swish().scalars
        XCTAssertEqual(tails[0], 0, accuracy: 1e-30)
        XCTAssertEqual(tails[1], 100)
        XCTAssertEqual(Tensor([-10], shape: [1]).gelu().item(), 0, accuracy: 1e-20)
    }

    func testActivationGradients() {
        let x = testTensor([2, 3, 5], seed: 12, scale: 3)
        assertGradientsMatch([x], eps: 1e-3) { $0[0].swish() }
        assertGradientsMatch([x], eps: 1e-3) { $0[0].gelu() }
        let away = Tensor(x.scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }, shape: x.shape)
        away.requiresGrad = true
        assertGradientsMatch([away]) { $0[0].abs() }
    }

    /// GroupNorm against per-group statistics computed in Double.
    func testGroupNormMatchesReference() {
        let (b, c, h, w, groups) = (2, 6, 3, 4, 3)
        let x = testTensor([b, c, h, w], seed: 13, scale: 2, requiresGrad: false)
        let weight = testTensor([c], seed: 14, requiresGrad: false), bias = testTensor([c], seed: 15, requiresGrad: false)
        let y = groupNorm(x, groups: groups, weight: weight, bias: bias, eps: 1e-6)
        let per = c / groups * h * w
        for s in 0..<b {
            for g in 0..<groups {
                let start = (s * c + g * (c / groups)) * h * w
                let values = (0..<per).map { Double(x.data[start + $0]) }
                let mean = values.reduce(0, +) / Double(per)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(per)
                for (k, v) in values.enumerated() {
                    let channel = g * (c / groups) + k / (h * w)
                    let expected = (v - mean) / (variance + 1e-6).squareRoot() * Double(weight.data[channel]) + Double(bias.data[channel])
                    XCTAssertEqual(Double(y.data[start + k]), expected, accuracy: 1e-5)
                }
            }
        }
    }

    func testGroupNormGradients() {
        let x = testTensor([2, 4, 3, 3], seed: 16)
        let weight = testTensor([4], seed: 17), bias = testTensor([4], seed: 18)
        assertGradientsMatch([x, weight, bias], eps: 1e-3) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x], eps: 1e-3) { groupNorm($0[0], groups: 4) }
    }

    func testZeroPaddingPlacesTheInputAndCropsTheGradient() {
        let x = testTensor([2, 3, 4, 5], seed: 19)
        let y = zeroPadded(x, top: 0, bottom: 1, left: 0, right: 1)
        XCTAssertEqual(y.shape, [2, 3, 5, 6])
        for p in 0..<6 { for i in 0..<5 { for j in 0..<6 {
            let expected: Float = i < 4 && j < 5 ? x.data[(p * 4 + i) * 5 + j] : 0
            XCTAssertEqual(y.data[(p * 5 + i) * 6 + j], expected)
        } } }
        assertGradientsMatch([x]) { zeroPadded($0[0], top: 2, bottom: 1, left: 1, right: 3) }
    }

    func testNearestUpsamplingCopiesEachValueIntoASquare() {
        let x = testTensor([2, 3, 3, 4], seed: 20)
        let y = upsampledNearest2x(x)
        XCTAssertEqual(y.shape, [2, 3, 6, 8])
        for p in 0..<6 { for i in 0..<6 { for j in 0..<8 {
            XCTAssertEqual(y.data[(p * 6 + i) * 8 + j], x.data[(p * 3 + i / 2) * 4 + j / 2])
        } } }
        assertGradientsMatch([x]) { upsampledNearest2x($0[0]) }
    }

    func testMaxPoolingTakesEachWindowsMaximum() {
        // Odd sizes: the last row and column are dropped, as torch.nn.MaxPool2d(2, 2) does.
        let x = testTensor([2, 3, 5, 7], seed: 21)
        let y = maxPooled2x2(x)
        XCTAssertEqual(y.shape, [2, 3, 2, 3])
        for p in 0..<6 { for i in 0..<2 { for j in 0..<3 {
            let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map { x.data[(p * 5 + 2 * i + $0.0) * 7 + 2 * j + $0.1] }
            XCTAssertEqual(y.data[(p * 2 + i) * 3 + j], window.max()!)
        } } }
        // Distinct values (no ties within a window), so finite differences do not cross a switch of maximum.
        let distinct = Tensor((0..<(2 * 3 * 6 * 4)).map { Float(($0 * 37) % 101) / 10 }, shape: [2, 3, 6, 4])
        distinct.requiresGrad = true
        assertGradientsMatch([distinct]) { maxPooled2x2($0[0]) }
        // Ties: the first of the window (row-major) takes the gradient.
        let tied = Tensor([1, 1, 1, 1], shape: [1, 1, 2, 2])
        tied.requiresGrad = true
        maxPooled2x2(tied).sum().backward()
        XCTAssertEqual(tied.grad?.scalars, [1, 0, 0, 0])
    }

    /// The LSTM cell against its equations evaluated in Double, then its gradients in every argument.
    func testLSTMCellMatchesItsEquations() {
        let (b, i, hidden) = (2, 5, 3)
        let x = testTensor([b, i], seed: 22), h = testTensor([b, hidden], seed: 23), c = testTensor([b, hidden], seed: 24)
        let wi = testTensor([4 * hidden, i], seed: 25), wh = testTensor([4 * hidden, hidden], seed: 26)
        let bi = testTensor([4 * hidden], seed: 27), bh = testTensor([4 * hidden], seed: 28)
        let (hNext, cNext) = withoutGradients { lstmCell(x, h, c, weightIH: wi, weightHH: wh, biasIH: bi, biasHH: bh) }
        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        for s in 0..<b {
            for u in 0..<hidden {
                func gate(_ k: Int) -> Double {
                    let row = k * hidden + u
                    var total = Double(bi.data[row]) + Double(bh.data[row])
                    for j in 0..<i { total += Double(wi.data[row * i + j]) * Double(x.data[s * i + j]) }
                    for j in 0..<hidden { total += Double(wh.data[row * hidden + j]) * Double(h.data[s * hidden + j]) }
                    return total
                }
                let cell = sigmoid(gate(1)) * Double(c.data[s * hidden + u]) + sigmoid(gate(0)) * Foundation.tanh(gate(2))
                XCTAssertEqual(Double(cNext.data[s * hidden + u]), cell, accuracy: 1e-5)
                XCTAssertEqual(Double(hNext.data[s * hidden + u]), sigmoid(gate(3)) * Foundation.tanh(cell), accuracy: 1e-5)
            }
        }
        assertGradientsMatch([x, h, c, wi, wh, bi, bh], eps: 1e-3) { t in
            let (hn, cn) = lstmCell(t[0], t[1], t[2], weightIH: t[3], weightHH: t[4], biasIH: t[5], biasHH: t[6])
            return concat([hn, cn], axis: 1)
        }
    }
}
