// Forward values against naive loop implementations written here, gradients against finite differences.

import Foundation
import XCTest
import SVQEngine
import SVQTestSupport

/// Row-major index helper for naive references.
private func idx(_ i: [Int], _ shape: [Int]) -> Int {
    var o = 0
    for (a, d) in zip(i, shape) { o = o * d + a }
    return o
}

final class ElementwiseTests: XCTestCase {
    func testBroadcastForwardMatchesNaive() {
        let a = testTensor([3, 1, 5], seed: 1, requiresGrad: false)
        let b = testTensor([4, 1], seed: 2, requiresGrad: false)
        let y = a * b + a
        XCTAssertEqual(y.shape, [3, 4, 5])
        for i in 0..<3 { for j in 0..<4 { for k in 0..<5 {
            let av = a.data[i * 5 + k], bv = b.data[j]
            XCTAssertEqual(y.data[idx([i, j, k], [3, 4, 5])], av * bv + av, accuracy: 1e-6)
        } } }
    }

    func testBinaryGradientsWithBroadcasting() {
        let shapes: [([Int], [Int])] = [([3, 5], [3, 5]), ([2, 3, 7], [7]), ([2, 1, 7], [3, 1]), ([1], [4, 3]), ([5, 1], [1, 6])]
        for (sa, sb) in shapes {
            let a = testTensor(sa, seed: 3), b = testTensor(sb, seed: 4)
            let bPos = testTensor(sb, seed: 5)
            assertGradientsMatch([a, b]) { $0[0] + $0[1] }
            assertGradientsMatch([a, b]) { $0[0] - $0[1] }
            assertGradientsMatch([a, b]) { $0[0] * $0[1] }
            assertGradientsMatch([a, bPos]) { t in t[0] / (t[1].square() + 0.5) }
        }
    }

    func testUnaryGradients() {
        let x = testTensor([2, 3, 5], seed: 7)
        assertGradientsMatch([x]) { $0[0].exp() }
        assertGradientsMatch([x]) { ($0[0].square() + 0.3).log() }
        assertGradientsMatch([x]) { $0[0].sigmoid() }
        assertGradientsMatch([x]) { $0[0].tanh() }
        assertGradientsMatch([x]) { ($0[0].square() + 0.2).sqrt() }
        assertGradientsMatch([x]) { ($0[0].square() + 0.2).pow(1.5) }
        assertGradientsMatch([x]) { ($0[0] * 3 - 1) / 2 + 1 }
        // relu and clamp away from their kinks: finite differences straddling 0 are meaningless.
        let away = Tensor(x.scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }, shape: x.shape)
        away.requiresGrad = true
        assertGradientsMatch([away]) { $0[0].relu() }
        let spread = Tensor([-2, -0.7, -0.3, 0.2, 0.45, 0.8, 1.5], shape: [7])
        spread.requiresGrad = true
        assertGradientsMatch([spread]) { $0[0].clamped(min: -0.5, max: 0.6) }
        XCTAssertEqual(spread.grad?.scalars.map { $0 != 0 }, [false, false, true, true, true, false, false])
    }

    /// Tensors big enough to be split across threads (the kernels are specialised per function: each
    /// specialisation must compute what the scalar function says, on every chunk and in the tail).
    func testLargeElementwiseMatchesScalarFunctions() {
        let x = testTensor([3, 70_001], seed: 11, requiresGrad: false)
        let pos = Tensor(x.scalars.map { abs($0) + 0.1 }, shape: x.shape)
        let cases: [(String, Tensor, Tensor, (Float) -> Float)] = [
            ("exp", x, x.exp(), { expf($0) }),
            ("log", pos, pos.log(), { logf($0) }),
            ("relu", x, x.relu(), { max($0, 0) }),
            ("sigmoid", x, x.sigmoid(), { 1 / (1 + expf(-$0)) }),
            ("tanh", x, x.tanh(), { tanhf($0) }),
            ("sqrt", pos, pos.sqrt(), { $0.squareRoot() }),
            ("square", x, x.square(), { $0 * $0 }),
            ("pow", pos, pos.pow(1.5), { powf($0, 1.5) }),
            ("clamp", x, x.clamped(min: -0.2, max: 0.3), { min(max($0, -0.2), 0.3) }),
            ("+s", x, x + 0.5, { $0 + 0.5 }),
            ("s-", x, 0.5 - x, { 0.5 - $0 }),
            ("*s", x, x * 3, { $0 * 3 }),
        ]
        for (name, input, output, f) in cases {
            XCTAssertEqual(output.shape, input.shape, name)
            for i in Swift.stride(from: 0, to: input.count, by: 997) + [input.count - 1] {
                XCTAssertEqual(output.data[i], f(input.data[i]), accuracy: 1e-6 * max(1, abs(f(input.data[i]))), "\(name) at \(i)")
            }
        }
        let row = testTensor([70_001], seed: 12, requiresGrad: false)
        for (name, y, f) in [("+", x + row, { (a: Float, b: Float) in a + b }), ("-", x - row, { $0 - $1 }),
                             ("*", x * row, { $0 * $1 }), ("/", x / (row.square() + 1), { $0 / ($1 * $1 + 1) }),
                             ("max", maximum(x, row), { max($0, $1) })] {
            for i in Swift.stride(from: 0, to: x.count, by: 1009) {
                XCTAssertEqual(y.data[i], f(x.data[i], row.data[i % 70_001]), accuracy: 1e-6, "\(name) at \(i)")
            }
        }
    }

    func testReductionsForwardAndGradients() {
        let x = testTensor([3, 4, 5], seed: 8)
        let s = x.sum(axis: 1)
        XCTAssertEqual(s.shape, [3, 5])
        for i in 0..<3 { for k in 0..<5 {
            var ref: Float = 0
            for j in 0..<4 { ref += x.data[idx([i, j, k], [3, 4, 5])] }
            XCTAssertEqual(s.data[i * 5 + k], ref, accuracy: 1e-5)
        } }
        XCTAssertEqual(x.sum().item(), x.scalars.reduce(0, +), accuracy: 1e-4)
        XCTAssertEqual(x.mean(axes: [0, 2], keepDims: true).shape, [1, 4, 1])
        assertGradientsMatch([x]) { $0[0].sum(axis: 2) }
        assertGradientsMatch([x]) { $0[0].mean(axes: [0, 2]) }
        assertGradientsMatch([x]) { $0[0].sum(axis: 0, keepDims: true) * 2 }
        assertGradientsMatch([x]) { $0[0].mean() }
        let y = testTensor([1, 4, 1], seed: 9)
        assertGradientsMatch([y]) { $0[0].expanded(to: [3, 4, 2]) }
    }

    func testMaximumRoutesGradientToLarger() {
        let a = testTensor([4, 6], seed: 10), b = testTensor([6], seed: 11)
        assertGradientsMatch([a, b]) { maximum($0[0], $0[1]) }
    }
}

final class MatMulTests: XCTestCase {
    private func naive(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> [Float] {
        let bat = Array(a.shape.dropLast(2)).reduce(1, *)
        let ar = a.shape[a.rank - 2], ac = a.shape[a.rank - 1]
        let br = b.shape[b.rank - 2], bc = b.shape[b.rank - 1]
        let m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc
        let shared = b.rank == 2
        var out = [Float](repeating: 0, count: bat * m * n)
        for t in 0..<bat { for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k {
                let av = ta ? a.data[t * ar * ac + p * ac + i] : a.data[t * ar * ac + i * ac + p]
                let bo = shared ? 0 : t * br * bc
                let bv = tb ? b.data[bo + j * bc + p] : b.data[bo + p * bc + j]
                s += av * bv
            }
            out[(t * m + i) * n + j] = s
        } } }
        return out
    }

    func testForwardAllTransposesBatchedAndShared() {
        for ta in [false, true] { for tb in [false, true] {
            let a = testTensor(ta ? [3, 7, 5] : [3, 5, 7], seed: 1)
            let b = testTensor(tb ? [3, 4, 7] : [3, 7, 4], seed: 2)
            assertClose(matmul(a, b, transposeA: ta, transposeB: tb).scalars, naive(a, b, ta, tb), tol: 1e-5, "batched \(ta) \(tb)")
            let b2 = testTensor(tb ? [4, 7] : [7, 4], seed: 3)
            let a2 = testTensor(ta ? [7, 5] : [2, 5, 7], seed: 4)
            assertClose(matmul(a2, b2, transposeA: ta, transposeB: tb).scalars, naive(a2, b2, ta, tb), tol: 1e-5, "shared \(ta) \(tb)")
        } }
    }

    func testGradients() {
        for ta in [false, true] { for tb in [false, true] {
            let a = testTensor(ta ? [2, 7, 3] : [2, 3, 7], seed: 5)
            let b = testTensor(tb ? [2, 1, 7] : [2, 7, 1], seed: 6)
            assertGradientsMatch([a, b]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            let a2 = testTensor(ta ? [7, 3] : [2, 3, 7], seed: 7)
            let b2 = testTensor(tb ? [5, 7] : [7, 5], seed: 8)
            assertGradientsMatch([a2, b2]) { matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
        } }
        let x = testTensor([2, 3, 5], seed: 9), w = testTensor([4, 5], seed: 10), bias = testTensor([4], seed: 11)
        assertGradientsMatch([x, w, bias]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x, w, bias]) { linear($0[0], weight: $0[1], bias: $0[2], scale: 0.3) }
        assertGradientsMatch([x, w]) { linear($0[0], weight: $0[1], scale: -1.7) }
    }

    func testLinearWithScaleIsTheScaledProductPlusBias() {
        let x = testTensor([3, 4, 6], seed: 12, requiresGrad: false), w = testTensor([5, 6], seed: 13, requiresGrad: false)
        let bias = testTensor([5], seed: 14, requiresGrad: false)
        let expected = matmul(x, w, transposeB: true).scalars
        for (i, y) in linear(x, weight: w, bias: bias, scale: 0.25).scalars.enumerated() {
            XCTAssertEqual(y, 0.25 * expected[i] + bias.scalars[i % 5], accuracy: 1e-5)
        }
        XCTAssertEqual(linear(x, weight: w).shape, [3, 4, 5])
        XCTAssertEqual(linear(x, weight: w).scalars, expected)   // same GEMM, so the same bits
    }
}

final class NormalizationTests: XCTestCase {
    func testSoftmaxAndLogSoftmaxForwardAnyAxis() {
        let x = testTensor([2, 5, 3], seed: 1, scale: 4, requiresGrad: false)
        for axis in 0..<3 {
            let y = x.softmax(axis: axis), ly = x.logSoftmax(axis: axis)
            var shape = x.shape
            let n = shape[axis]
            shape[axis] = 1
            for i in 0..<shape[0] { for j in 0..<shape[1] { for k in 0..<shape[2] {
                var line: [Int] = []
                for t in 0..<n {
                    var p = [i, j, k]; p[axis] = t
                    line.append(idx(p, x.shape))
                }
                let vals = line.map { Double(x.data[$0]) }
                let m = vals.max()!
                let z = vals.map { Foundation.exp($0 - m) }.reduce(0, +)
                for (t, o) in line.enumerated() {
                    XCTAssertEqual(Double(y.data[o]), Foundation.exp(vals[t] - m) / z, accuracy: 1e-6)
                    XCTAssertEqual(Double(ly.data[o]), vals[t] - m - Foundation.log(z), accuracy: 1e-5)
                }
            } } }
        }
    }

    func testSoftmaxIsStableForLargeLogits() {
        let x = Tensor([1000, 1001, -1000], shape: [1, 3])
        let y = x.softmax()
        XCTAssertFalse(y.scalars.contains { $0.isNaN })
        XCTAssertEqual(y.data[1], 1 / (1 + Float(Foundation.exp(-1.0))), accuracy: 1e-6)
    }

    func testSoftmaxGradients() {
        let x = testTensor([3, 4, 5], seed: 2, scale: 2)
        for axis in [0, 1, -1] {
            assertGradientsMatch([x]) { $0[0].softmax(axis: axis) }
            assertGradientsMatch([x]) { $0[0].logSoftmax(axis: axis) }
        }
    }

    func testLayerNormForwardMatchesNaive() {
        let x = testTensor([3, 7], seed: 3, scale: 3, requiresGrad: false)
        let w = testTensor([7], seed: 4, requiresGrad: false), b = testTensor([7], seed: 5, requiresGrad: false)
        let y = layerNorm(x, weight: w, bias: b, eps: 1e-5)
        let y0 = layerNorm(x)
        for r in 0..<3 {
            let row = (0..<7).map { Double(x.data[r * 7 + $0]) }
            let mean = row.reduce(0, +) / 7
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 7
            for j in 0..<7 {
                let h = (row[j] - mean) / (v + 1e-5).squareRoot()
                XCTAssertEqual(Double(y0.data[r * 7 + j]), h, accuracy: 1e-5)
                XCTAssertEqual(Double(y.data[r * 7 + j]), h * Double(w.data[j]) + Double(b.data[j]), accuracy: 1e-5)
            }
        }
    }

    /// Widths around the 8- and 16-lane partial sums (tails, exact multiples), rows enough to run in parallel,
    /// and every combination of weight and bias.
    func testLayerNormVectorisedWidths() {
        for d in [1, 7, 8, 15, 16, 17, 37, 64, 130] {
            let rows = 40_000 / d + 3
            let x = testTensor([rows, d], seed: UInt64(d), scale: 3, requiresGrad: false)
            let w = testTensor([d], seed: UInt64(d + 1), requiresGrad: false), b = testTensor([d], seed: UInt64(d + 2), requiresGrad: false)
            for (hasW, hasB) in [(true, true), (true, false), (false, true), (false, false)] {
                let y = layerNorm(x, weight: hasW ? w : nil, bias: hasB ? b : nil)
                for r in Swift.stride(from: 0, to: rows, by: max(1, rows / 7)) {
                    let row = (0..<d).map { Double(x.data[r * d + $0]) }
                    let mean = row.reduce(0, +) / Double(d)
                    let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
                    for j in 0..<d {
                        var e = (row[j] - mean) / (v + 1e-5).squareRoot()
                        if hasW { e *= Double(w.data[j]) }
                        if hasB { e += Double(b.data[j]) }
                        XCTAssertEqual(Double(y.data[r * d + j]), e, accuracy: 1e-4, "d \(d) row \(r) w \(hasW) b \(hasB)")
                    }
                }
            }
        }
        let x = testTensor([3, 37], seed: 4, scale: 2), w = testTensor([37], seed: 5), b = testTensor([37], seed: 6)
        assertGradientsMatch([x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x, w]) { layerNorm($0[0], weight: $0[1]) }
        assertGradientsMatch([x, b]) { layerNorm($0[0], bias: $0[1]) }
        assertGradientsMatch([x]) { layerNorm($0[0]) }
    }

    func testLayerNormGradients() {
        let x = testTensor([2, 3, 6], seed: 6, scale: 2), w = testTensor([6], seed: 7), b = testTensor([6], seed: 8)
        assertGradientsMatch([x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x]) { layerNorm($0[0]) }
        let one = testTensor([5, 1], seed: 9)
        assertGradientsMatch([one]) { layerNorm($0[0]) + $0[0] }
    }
}

final class AttentionTests: XCTestCase {
    /// Naive attention in Double: loops over every (batch, query, key).
    private func naive(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool) -> [Float] {
        let tq = q.shape[q.rank - 2], d = q.shape[q.rank - 1], tk = k.shape[k.rank - 2], dv = v.shape[v.rank - 1]
        let batch = q.count / (tq * d)
        var out = [Float](repeating: 0, count: batch * tq * dv)
        for b in 0..<batch { for i in 0..<tq {
            var scores = [Double](repeating: -.infinity, count: tk)
            for j in 0..<tk where !causal || j <= i + tk - tq {
                var s = 0.0
                for c in 0..<d { s += Double(q.data[(b * tq + i) * d + c]) * Double(k.data[(b * tk + j) * d + c]) }
                scores[j] = s / Double(d).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for c in 0..<dv {
                var acc = 0.0
                for j in 0..<tk { acc += e[j] / z * Double(v.data[(b * tk + j) * dv + c]) }
                out[(b * tq + i) * dv + c] = Float(acc)
            }
        } }
        return out
    }

    func testForwardMatchesNaive() {
        for causal in [false, true] {
            let q = testTensor([2, 3, 5, 4], seed: 1, requiresGrad: false)
            let k = testTensor([2, 3, 7, 4], seed: 2, requiresGrad: false)
            let v = testTensor([2, 3, 7, 6], seed: 3, requiresGrad: false)
            assertClose(scaledDotProductAttention(q, k, v, causal: causal).scalars, naive(q, k, v, causal: causal),
                        tol: 1e-5, "causal=\(causal)")
        }
        // A single query continuing a cached prefix sees every key.
        let q1 = testTensor([1, 1, 4], seed: 4, requiresGrad: false)
        let k1 = testTensor([1, 6, 4], seed: 5, requiresGrad: false)
        let v1 = testTensor([1, 6, 3], seed: 6, requiresGrad: false)
        assertClose(scaledDotProductAttention(q1, k1, v1, causal: true).scalars,
                    scaledDotProductAttention(q1, k1, v1, causal: false).scalars, tol: 1e-6, "cached step")
    }

    func testGradients() {
        for causal in [false, true] {
            let q = testTensor([2, 5, 3], seed: 7), k = testTensor([2, 5, 3], seed: 8), v = testTensor([2, 5, 2], seed: 9)
            assertGradientsMatch([q, k, v]) { scaledDotProductAttention($0[0], $0[1], $0[2], causal: causal) }
        }
        let q = testTensor([1, 2, 1, 3], seed: 10), k = testTensor([1, 2, 4, 3], seed: 11), v = testTensor([1, 2, 4, 5], seed: 12)
        assertGradientsMatch([q, k, v]) { scaledDotProductAttention($0[0], $0[1], $0[2], causal: true, scale: 0.7) }
    }
}

final class RecurrentTests: XCTestCase {
    func testGRUCellMatchesNaiveEquations() {
        let bsz = 3, inp = 5, hid = 4
        let x = testTensor([bsz, inp], seed: 1, requiresGrad: false), h = testTensor([bsz, hid], seed: 2, requiresGrad: false)
        let wih = testTensor([3 * hid, inp], seed: 3, requiresGrad: false), whh = testTensor([3 * hid, hid], seed: 4, requiresGrad: false)
        let bih = testTensor([3 * hid], seed: 5, requiresGrad: false), bhh = testTensor([3 * hid], seed: 6, requiresGrad: false)
        let y = gruCell(x, h, weightIH: wih, weightHH: whh, biasIH: bih, biasHH: bhh)
        func sig(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        for b in 0..<bsz {
            func gate(_ g: Int, _ j: Int) -> (Double, Double) {
                var gi = Double(bih.data[g * hid + j]), gh = Double(bhh.data[g * hid + j])
                for c in 0..<inp { gi += Double(wih.data[(g * hid + j) * inp + c]) * Double(x.data[b * inp + c]) }
                for c in 0..<hid { gh += Double(whh.data[(g * hid + j) * hid + c]) * Double(h.data[b * hid + c]) }
                return (gi, gh)
            }
            for j in 0..<hid {
                let (ir, hr) = gate(0, j), (iz, hz) = gate(1, j), (inn, hn) = gate(2, j)
                let r = sig(ir + hr), z = sig(iz + hz)
                let n = Foundation.tanh(inn + r * hn)
                let ref = (1 - z) * n + z * Double(h.data[b * hid + j])
                XCTAssertEqual(Double(y.data[b * hid + j]), ref, accuracy: 1e-5)
            }
        }
    }

    func testGRUCellGradients() {
        let x = testTensor([2, 3], seed: 1), h = testTensor([2, 2], seed: 2)
        let wih = testTensor([6, 3], seed: 3), whh = testTensor([6, 2], seed: 4)
        let bih = testTensor([6], seed: 5), bhh = testTensor([6], seed: 6)
        assertGradientsMatch([x, h, wih, whh, bih, bhh]) {
            gruCell($0[0], $0[1], weightIH: $0[2], weightHH: $0[3], biasIH: $0[4], biasHH: $0[5])
        }
    }
}

final class IndexingTests: XCTestCase {
    func testEmbeddingGatherAndScatterAdd() {
        let table = testTensor([5, 3], seed: 1)
        let ids = IntTensor([4, 0, 4, 2], shape: [2, 2])
        let y = embedding(ids, table: table)
        XCTAssertEqual(y.shape, [2, 2, 3])
        for (r, i) in ids.values.enumerated() { for j in 0..<3 { XCTAssertEqual(y.data[r * 3 + j], table.data[Int(i) * 3 + j]) } }
        assertGradientsMatch([table]) { embedding(ids, table: $0[0]) }
        table.grad = nil
        y.sum().backward()
        XCTAssertEqual(table.grad!.scalars, [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2], "repeated index accumulates")
    }

    func testConcatNarrowPermute() {
        let a = testTensor([2, 3, 4], seed: 1), b = testTensor([2, 1, 4], seed: 2)
        let c = concat([a, b], axis: 1)
        XCTAssertEqual(c.shape, [2, 4, 4])
        XCTAssertEqual(c.narrow(axis: 1, start: 3, length: 1).scalars, b.scalars)
        XCTAssertEqual(c.narrow(axis: 1, start: 0, length: 3).scalars, a.scalars)
        assertGradientsMatch([a, b]) { concat([$0[0], $0[1]], axis: 1) }
        assertGradientsMatch([a]) { $0[0].narrow(axis: 2, start: 1, length: 2) }
        assertGradientsMatch([a]) { $0[0].narrow(axis: 0, start: 1, length: 1) }
        let p = a.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            XCTAssertEqual(p.data[idx([k, i, j], [4, 2, 3])], a.data[idx([i, j, k], [2, 3, 4])])
        } } }
        assertGradientsMatch([a]) { $0[0].permuted([1, 2, 0]) }
        assertGradientsMatch([a]) { stack([$0[0], $0[0] * 2], axis: 1) }
        assertGradientsMatch([a]) { $0[0].reshaped([4, -1]).narrowFirst(1, 2) }
    }

    /// Swapping the last two axes runs a tiled transpose: sizes off the tile edge, batches, and large enough to split.
    func testTransposeOfLastTwoAxes() {
        for shape in [[1, 1], [5, 3], [16, 16], [3, 37, 21], [2, 64, 1030], [2, 2, 17, 40]] {
            let a = testTensor(shape, seed: UInt64(shape.reduce(0, +)), requiresGrad: false)
            let r = shape.count
            var order = Array(0..<r)
            order.swapAt(r - 2, r - 1)
            let t = a.permuted(order)
            var out = shape
            out.swapAt(r - 2, r - 1)
            XCTAssertEqual(t.shape, out)
            let rows = shape[r - 2], cols = shape[r - 1], batches = a.count / (rows * cols)
            for bIndex in 0..<batches { for i in 0..<rows { for j in 0..<cols {
                XCTAssertEqual(t.data[(bIndex * cols + j) * rows + i], a.data[(bIndex * rows + i) * cols + j], "\(shape) \(i),\(j)")
            } } }
        }
        let small = testTensor([2, 5, 19], seed: 3)
        assertGradientsMatch([small]) { $0[0].transposed(1, 2) }
    }

    /// The SIMD dot product at every length through two 16-lane blocks, tails included, against Double sums.
    func testVectorDotAtEveryLength() {
        let x = testTensor([40], seed: 31, requiresGrad: false), y = testTensor([40], seed: 32, requiresGrad: false)
        for n in 0...40 {
            let expected = (0..<n).reduce(0.0) { $0 + Double(x.data[$1]) * Double(y.data[$1]) }
            XCTAssertEqual(Double(vectorDot(x.data, y.data, n)), expected, accuracy: 1e-5, "n \(n)")
        }
    }

    func testArgmaxAndTopK() {
        let x = Tensor([0.1, 0.9, 0.9, -1, 5, 2, 2, 7], shape: [2, 4])
        XCTAssertEqual(x.argmax().values, [1, 3], "first index wins ties")
        let (v, i) = x.topK(3)
        XCTAssertEqual(i.values, [1, 2, 0, 3, 0, 1])
        XCTAssertEqual(v.scalars, [0.9, 0.9, 0.1, 7, 5, 2])
    }

    func testOneHot() {
        let y = oneHot(IntTensor([2, 0], shape: [2]), classes: 3)
        XCTAssertEqual(y.scalars, [0, 0, 1, 1, 0, 0])
    }
}

final class LossTests: XCTestCase {
    func testCrossEntropyMatchesNaive() {
        let logits = testTensor([4, 6], seed: 1, scale: 3, requiresGrad: false)
        let targets = IntTensor([0, 5, 2, 2], shape: [4])
        var ref = 0.0
        for r in 0..<4 {
            let row = (0..<6).map { Double(logits.data[r * 6 + $0]) }
            let m = row.max()!
            ref += m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) - row[Int(targets[r])]
        }
        XCTAssertEqual(Double(crossEntropy(logits, targets: targets, reduction: .sum).item()), ref, accuracy: 1e-4)
        XCTAssertEqual(Double(crossEntropy(logits, targets: targets).item()), ref / 4, accuracy: 1e-5)
    }

    func testLossGradients() {
        let logits = testTensor([2, 3, 5], seed: 2, scale: 2)
        let targets = IntTensor([0, 4, 1, 3, 3, 2], shape: [2, 3])
        assertGradientsMatch([logits]) { crossEntropy($0[0], targets: targets) }
        assertGradientsMatch([logits]) { crossEntropy($0[0], targets: targets, reduction: .sum) }
        let a = testTensor([3, 4], seed: 3), b = testTensor([3, 4], seed: 4)
        assertGradientsMatch([a, b]) { mseLoss($0[0], $0[1]) }
        assertGradientsMatch([a, b]) { mseLoss($0[0], $0[1], reduction: .sum) }
    }
}
