// conv2d and pixelShuffle against naive loop references, and their gradients against finite differences.
// Every kernel is checked: oneDNN's direct convolutions, Winograd, and the im2col fallback in all its schedules.

import SVQEngine
import SVQTestSupport
import XCTest

/// One convolution configuration: input [b, cin, h, w], weight [cout, cin, kh, kw].
private struct ConvCase: CustomStringConvertible {
    var b, cin, h, w, cout, kh, kw: Int
    var sh, sw, ph, pw: Int

    init(_ b: Int, _ cin: Int, _ h: Int, _ w: Int, _ cout: Int, _ kh: Int, _ kw: Int,
         stride: Int = 1, padding: Int = 0) {
        self.init(b, cin, h, w, cout, kh, kw, stride: (stride, stride), padding: (padding, padding))
    }

    init(_ b: Int, _ cin: Int, _ h: Int, _ w: Int, _ cout: Int, _ kh: Int, _ kw: Int,
         stride: (Int, Int), padding: (Int, Int)) {
        (self.b, self.cin, self.h, self.w, self.cout, self.kh, self.kw) = (b, cin, h, w, cout, kh, kw)
        (sh, sw, ph, pw) = (stride.0, stride.1, padding.0, padding.1)
    }

    var ho: Int { (h + 2 * ph - kh) / sh + 1 }
    var wo: Int { (w + 2 * pw - kw) / sw + 1 }
    var xShape: [Int] { [b, cin, h, w] }
    var wShape: [Int] { [cout, cin, kh, kw] }
    var yShape: [Int] { [b, cout, ho, wo] }
    var description: String {
        "x\(xShape) w\(wShape) stride (\(sh),\(sw)) padding (\(ph),\(pw))"
    }

    func run(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ algorithm: Conv2dAlgorithm = .automatic) -> Tensor {
        conv2d(x, weight: w, bias: bias, stride: (sh, sw), padding: (ph, pw), algorithm: algorithm)
    }

    /// The textbook 7-loop cross-correlation, accumulated in Double.
    func reference(x xs: [Float], w ws: [Float], bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: b * cout * ho * wo)
        for n in 0..<b {
            for co in 0..<cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var s = Double(bias?[co] ?? 0)
                        for ci in 0..<cin {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let iy = oy * sh - ph + ki, ix = ox * sw - pw + kj
                                    if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                    let xi = ((n * cin + ci) * h + iy) * w + ix
                                    let wi = ((co * cin + ci) * kh + ki) * kw + kj
                                    s += Double(xs[xi]) * Double(ws[wi])
                                }
                            }
                        }
                        y[((n * cout + co) * ho + oy) * wo + ox] = Float(s)
                    }
                }
            }
        }
        return y
    }

    /// Loop reference of the backward pass for an output gradient `dy`: (dx, dw, db).
    func referenceGradients(x xs: [Float], w ws: [Float], dy: [Float]) -> ([Float], [Float], [Float]) {
        var dx = [Double](repeating: 0, count: xs.count)
        var dw = [Double](repeating: 0, count: ws.count)
        var db = [Double](repeating: 0, count: cout)
        for n in 0..<b {
            for co in 0..<cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let g = Double(dy[((n * cout + co) * ho + oy) * wo + ox])
                        db[co] += g
                        for ci in 0..<cin {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let iy = oy * sh - ph + ki, ix = ox * sw - pw + kj
                                    if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                    let xi = ((n * cin + ci) * h + iy) * w + ix
                                    let wi = ((co * cin + ci) * kh + ki) * kw + kj
                                    dx[xi] += Double(ws[wi]) * g
                                    dw[wi] += Double(xs[xi]) * g
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx.map { Float($0) }, dw.map { Float($0) }, db.map { Float($0) })
    }
}

/// Awkward shapes: batch 1 and 3, 1 and 3 input channels, 5 output channels, H ≠ W, prime sizes,
/// kernels 1×1 … 5×5 and 2×3, strides 1, 2, 4, paddings 0, 1, 2.
private let forwardCases: [ConvCase] = [
    ConvCase(1, 1, 7, 9, 5, 1, 1),
    ConvCase(3, 3, 7, 9, 5, 1, 1),
    ConvCase(3, 3, 8, 10, 5, 1, 1, stride: 2),
    ConvCase(2, 3, 7, 9, 5, 1, 1, padding: 1),
    ConvCase(3, 3, 7, 9, 5, 3, 3, padding: 1),
    ConvCase(1, 1, 7, 9, 5, 3, 3),
    ConvCase(1, 3, 7, 9, 5, 3, 3, stride: 2, padding: 1),
    ConvCase(3, 1, 7, 9, 5, 4, 4, stride: 4),
    ConvCase(3, 3, 9, 7, 5, 4, 4, stride: 2, padding: 2),
    ConvCase(1, 3, 16, 12, 5, 4, 4, stride: 4),
    ConvCase(1, 3, 7, 9, 5, 5, 5, padding: 2),
    ConvCase(3, 3, 11, 13, 5, 5, 5, stride: 2, padding: 2),
    ConvCase(3, 1, 7, 9, 5, 5, 5, stride: 4, padding: 1),
    ConvCase(3, 1, 7, 9, 5, 2, 3),
    ConvCase(1, 3, 7, 9, 5, 2, 3, stride: 2, padding: 1),
    ConvCase(3, 3, 5, 5, 5, 5, 5),                        // kernel covers the whole input
    ConvCase(1, 3, 3, 4, 5, 5, 5, padding: 2),            // kernel larger than the input
    ConvCase(2, 3, 9, 11, 5, 3, 5, stride: (2, 1), padding: (1, 2)),
    ConvCase(2, 3, 10, 7, 5, 2, 2, stride: (1, 3), padding: (0, 1)),
    // 16 channels and more.
    ConvCase(3, 16, 7, 9, 17, 3, 3, padding: 1),
    ConvCase(2, 16, 11, 6, 16, 5, 5, padding: 2),
    ConvCase(1, 16, 9, 7, 16, 2, 3),
    ConvCase(2, 20, 13, 11, 16, 4, 4, padding: 1),
    // oneDNN's channel-blocked layouts (16 channels per block): whole blocks, and partial ones.
    ConvCase(2, 32, 9, 10, 32, 5, 5, padding: 2),
    ConvCase(3, 3, 16, 14, 32, 5, 5, stride: 2, padding: 2),
    ConvCase(2, 24, 8, 7, 40, 3, 3, padding: 1),
]

/// Larger layers, to reach every schedule of the im2col fallback: thin products in column chunks on all cores
/// (few channels), big GEMMs over bands of output rows (large images) or over groups of images (small ones).
private let bandedCases: [ConvCase] = [
    ConvCase(2, 3, 96, 97, 5, 3, 3, padding: 1),              // chunked
    ConvCase(3, 3, 95, 98, 64, 5, 5, stride: 2, padding: 2),  // chunked, like the encoder's first layer
    ConvCase(2, 3, 64, 60, 64, 4, 4, stride: 4),              // chunked, like the dVAE's first layer
    ConvCase(1, 32, 111, 113, 32, 3, 3, padding: 1),          // in bands
    ConvCase(1, 32, 160, 150, 32, 3, 3, stride: 2, padding: 1), // in bands, strided
    ConvCase(5, 32, 12, 13, 32, 3, 3, padding: 1),            // over groups of images
    ConvCase(3, 32, 13, 11, 32, 3, 3, stride: 2, padding: 1), // over groups, strided
    ConvCase(5, 24, 12, 13, 24, 3, 3, padding: 1),
    ConvCase(9, 8, 6, 5, 8, 3, 3, padding: 1),
    ConvCase(2, 96, 5, 7, 96, 1, 1),                          // 1×1, one GEMM per image
    ConvCase(3, 64, 16, 16, 64, 1, 1),                        // 1×1, chunked
]

private let algorithms: [Conv2dAlgorithm] = [.automatic, .im2col, .direct, .winograd]

private func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }

final class ConvolutionTests: XCTestCase {

    func testForwardMatchesLoopReference() {
        for (n, c) in (forwardCases + bandedCases).enumerated() {
            let x = testTensor(c.xShape, seed: UInt64(10 + n), requiresGrad: false)
            let w = testTensor(c.wShape, seed: UInt64(100 + n), requiresGrad: false)
            let bias = testTensor([c.cout], seed: UInt64(200 + n), requiresGrad: false)
            let expected = c.reference(x: x.scalars, w: w.scalars, bias: bias.scalars)
            let expectedNoBias = c.reference(x: x.scalars, w: w.scalars, bias: nil)
            let tol = 1e-5 * max(1, maxAbs(expected))
            for algorithm in algorithms {
                let y = c.run(x, w, bias, algorithm)
                XCTAssertEqual(y.shape, c.yShape, "\(c)")
                assertClose(y.scalars, expected, tol: tol, "\(c) \(algorithm)")
                assertClose(c.run(x, w, nil, algorithm).scalars, expectedNoBias, tol: tol, "\(c) \(algorithm) no bias")
            }
        }
    }

    /// Winograd F(2×2, r×r) (inference: nothing recorded) against the loop reference: 3×3 and 5×5, edge tiles
    /// (odd sizes), no padding, several chunks of tiles over both threads, bias and ReLU, and inside a
    /// parallel loop. The bound is float32 rounding of the transforms (measured 3e-7 of max |y| for 3×3, 6e-6 for 5×5).
    func testWinogradForwardMatchesLoopReference() {
        let cases = [ConvCase(2, 64, 13, 11, 72, 5, 5, padding: 2), ConvCase(1, 64, 9, 8, 64, 3, 3, padding: 1),
                     ConvCase(1, 80, 7, 10, 64, 5, 5), ConvCase(3, 64, 6, 7, 96, 3, 3),
                     ConvCase(2, 128, 24, 20, 128, 5, 5, padding: 2)]
        for (n, c) in cases.enumerated() {
            let x = testTensor(c.xShape, seed: UInt64(60 + n), requiresGrad: false)
            let w = testTensor(c.wShape, seed: UInt64(70 + n), requiresGrad: false)
            let bias = testTensor([c.cout], seed: UInt64(75 + n), requiresGrad: false)
            let expected = c.reference(x: x.scalars, w: w.scalars, bias: bias.scalars)
            let tol = 2e-5 * maxAbs(expected)
            for algorithm in [Conv2dAlgorithm.winograd, .automatic] {
                let y = c.run(x, w, bias, algorithm)
                XCTAssertEqual(y.shape, c.yShape, "\(c)")
                assertClose(y.scalars, expected, tol: tol, "\(c) \(algorithm)")
                let worst = zip(y.scalars, expected).map { abs($0 - $1) }.max()! / maxAbs(expected)
                print("winograd \(c): max |error| / max |y| = \(worst)")
            }
            let relu = conv2d(x, weight: w, bias: bias, stride: (c.sh, c.sw), padding: (c.ph, c.pw), relu: true,
                              algorithm: .winograd)
            assertClose(relu.scalars, expected.map { max($0, 0) }, tol: tol, "\(c) winograd relu")
            let noBias = c.reference(x: x.scalars, w: w.scalars, bias: nil)
            assertClose(c.run(x, w, nil, .winograd).scalars, noBias, tol: tol, "\(c) winograd no bias")
        }
        // Inside a parallel loop each call runs on its own thread.
        let c = cases[0]
        let w = testTensor(c.wShape, seed: 7, requiresGrad: false)
        let inputs = (0..<4).map { testTensor(c.xShape, seed: UInt64(130 + $0), requiresGrad: false) }
        let serial = inputs.map { c.run($0, w, nil, .winograd).scalars }
        nonisolated(unsafe) var parallel = [[Float]](repeating: [], count: inputs.count)
        Engine.parallelFor(inputs.count, costPerItem: 1 << 20) { i in parallel[i] = c.run(inputs[i], w, nil, .winograd).scalars }
        for i in 0..<inputs.count { XCTAssertEqual(parallel[i], serial[i], "winograd inside a parallel loop, input \(i)") }
    }

    /// Winograd's chunks of tiles and the direct kernels' batch parts must not change a single bit with the
    /// thread count (Winograd's chunks followed it, and each chunk is an sgemm of that many rows).
    func testConvolutionResultsDoNotDependOnTheThreadCount() {
        let saved = Engine.threadCount
        defer { Engine.setThreadCount(saved) }
        for (c, algorithm) in [(ConvCase(2, 128, 24, 20, 128, 5, 5, padding: 2), Conv2dAlgorithm.winograd),
                               (ConvCase(5, 32, 16, 16, 32, 5, 5, padding: 2), .direct)] {
            let x = testTensor(c.xShape, seed: 81, requiresGrad: false)
            let w = testTensor(c.wShape, seed: 82, requiresGrad: false)
            let bias = testTensor([c.cout], seed: 83, requiresGrad: false)
            Engine.setThreadCount(1)
            let one = c.run(x, w, bias, algorithm).scalars
            for threads in [2, 3, 5, 8] {
                Engine.setThreadCount(threads)
                XCTAssertEqual(c.run(x, w, bias, algorithm).scalars, one, "\(c) \(algorithm) on \(threads) threads")
            }
        }
    }

    /// The thread-count checks again under OpenBLAS's other kernels (see SVQTestSupport/BLASKernels.swift).
    func testThreadCountChecksUnderOtherBLASKernels() throws {
        try rerunUnderOtherBLASKernels("SVQEngineTests.ConvolutionTests/testConvolutionResultsDoNotDependOnTheThreadCount")
        try rerunUnderOtherBLASKernels("SVQEngineTests.SplitGemmTests/testSplitProductsAreTheSameOnEveryThreadCount")
    }

    func testSymmetricOverloadAndOutputSize() {
        let x = testTensor([2, 3, 7, 9], requiresGrad: false)
        let w = testTensor([5, 3, 3, 3], seed: 2, requiresGrad: false)
        let y = conv2d(x, weight: w, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [2, 5, 4, 5])
        let c = ConvCase(2, 3, 7, 9, 5, 3, 3, stride: 2, padding: 1)
        assertClose(y.scalars, c.reference(x: x.scalars, w: w.scalars, bias: nil), tol: 1e-5, "symmetric overload")
        XCTAssertEqual(conv2d(x, weight: w).shape, [2, 5, 5, 7])
    }

    /// The backward pass of every schedule against the loop reference, with an arbitrary output gradient.
    func testBackwardMatchesLoopReference() {
        for (n, c) in (forwardCases + bandedCases).enumerated() {
            let x = testTensor(c.xShape, seed: UInt64(30 + n))
            let w = testTensor(c.wShape, seed: UInt64(300 + n))
            let bias = testTensor([c.cout], seed: UInt64(400 + n))
            let dy = testTensor(c.yShape, seed: UInt64(500 + n), requiresGrad: false)
            let (edx, edw, edb) = c.referenceGradients(x: x.scalars, w: w.scalars, dy: dy.scalars)
            for algorithm in algorithms {
                x.grad = nil; w.grad = nil; bias.grad = nil
                c.run(x, w, bias, algorithm).backward(seed: dy)
                guard let gx = x.grad, let gw = w.grad, let gb = bias.grad else {
                    XCTFail("\(c) \(algorithm): missing gradient"); continue
                }
                XCTAssertEqual(gx.shape, c.xShape)
                XCTAssertEqual(gw.shape, c.wShape)
                assertClose(gx.scalars, edx, tol: 1e-5 * max(1, maxAbs(edx)), "\(c) \(algorithm) dx")
                assertClose(gw.scalars, edw, tol: 1e-5 * max(1, maxAbs(edw)), "\(c) \(algorithm) dw")
                assertClose(gb.scalars, edb, tol: 1e-5 * max(1, maxAbs(edb)), "\(c) \(algorithm) db")
            }
        }
    }

    /// Only the gradients that are asked for are computed, and they do not depend on the others.
    func testPartialGradients() {
        let c = ConvCase(2, 16, 7, 6, 16, 3, 3, padding: 1)
        for algorithm in algorithms {
            let x = testTensor(c.xShape, seed: 1)
            let w = testTensor(c.wShape, seed: 2, requiresGrad: false)
            let dy = testTensor(c.yShape, seed: 3, requiresGrad: false)
            let (edx, edw, _) = c.referenceGradients(x: x.scalars, w: w.scalars, dy: dy.scalars)
            c.run(x, w, nil, algorithm).backward(seed: dy)
            XCTAssertNil(w.grad)
            assertClose(x.grad?.scalars ?? [], edx, tol: 1e-5 * max(1, maxAbs(edx)), "\(algorithm) dx only")

            x.requiresGrad = false; x.grad = nil
            w.requiresGrad = true
            c.run(x, w, nil, algorithm).backward(seed: dy)
            XCTAssertNil(x.grad)
            assertClose(w.grad?.scalars ?? [], edw, tol: 1e-5 * max(1, maxAbs(edw)), "\(algorithm) dw only")
        }
        // Nothing is recorded when no input needs gradients, or inside withoutGradients.
        let x = testTensor(c.xShape, requiresGrad: false), w = testTensor(c.wShape, requiresGrad: false)
        XCTAssertFalse(c.run(x, w, nil).hasGradientHistory)
        w.requiresGrad = true
        XCTAssertTrue(c.run(x, w, nil).hasGradientHistory)
        XCTAssertFalse(withoutGradients { c.run(x, w, nil) }.hasGradientHistory)
    }

    /// `relu: true` is max(conv, 0), and its gradient is the output gradient where the output is positive.
    func testFusedReLUMatchesReference() {
        let cases = [ConvCase(2, 32, 9, 10, 32, 5, 5, padding: 2), ConvCase(3, 3, 16, 14, 32, 5, 5, stride: 2, padding: 2),
                     ConvCase(2, 5, 7, 9, 6, 3, 3, padding: 1)]
        for (n, c) in cases.enumerated() {
            let x = testTensor(c.xShape, seed: UInt64(80 + n))
            let w = testTensor(c.wShape, seed: UInt64(90 + n))
            let bias = testTensor([c.cout], seed: UInt64(95 + n))
            let dy = testTensor(c.yShape, seed: UInt64(99 + n), requiresGrad: false)
            let linear = c.reference(x: x.scalars, w: w.scalars, bias: bias.scalars)
            let expected = linear.map { max($0, 0) }
            let masked = zip(dy.scalars, linear).map { $1 > 0 ? $0 : 0 }
            let (edx, edw, edb) = c.referenceGradients(x: x.scalars, w: w.scalars, dy: masked)
            XCTAssertTrue(expected.contains(0) && expected.contains { $0 > 0 }, "\(c): the ReLU must clip something")
            for algorithm in [Conv2dAlgorithm.automatic, .im2col] {
                x.grad = nil; w.grad = nil; bias.grad = nil
                let y = conv2d(x, weight: w, bias: bias, stride: (c.sh, c.sw), padding: (c.ph, c.pw), relu: true,
                               algorithm: algorithm)
                assertClose(y.scalars, expected, tol: 1e-5 * max(1, maxAbs(expected)), "\(c) \(algorithm) relu")
                y.backward(seed: dy)
                assertClose(x.grad?.scalars ?? [], edx, tol: 1e-5 * max(1, maxAbs(edx)), "\(c) \(algorithm) relu dx")
                assertClose(w.grad?.scalars ?? [], edw, tol: 1e-5 * max(1, maxAbs(edw)), "\(c) \(algorithm) relu dw")
                assertClose(bias.grad?.scalars ?? [], edb, tol: 1e-5 * max(1, maxAbs(edb)), "\(c) \(algorithm) relu db")
            }
        }
    }

    /// Convolutions started inside the engine's parallel loops (oneDNN then runs on the calling thread only)
    /// compute the same as on the calling thread, concurrently, for forward and both backward passes.
    func testConvolutionsInsideParallelLoop() {
        let c = ConvCase(2, 32, 9, 10, 32, 5, 5, padding: 2)
        let w = testTensor(c.wShape, seed: 7, requiresGrad: false)
        let inputs = (0..<6).map { testTensor(c.xShape, seed: UInt64(110 + $0)) }
        let dy = testTensor(c.yShape, seed: 120, requiresGrad: false)
        let serial = inputs.map { x -> ([Float], [Float]) in
            x.grad = nil
            let y = c.run(x, w, nil)
            y.backward(seed: dy)
            return (y.scalars, x.grad!.scalars)
        }
        let copies = inputs.map { testTensor($0.shape, seed: 0) }
        for (copy, x) in zip(copies, inputs) { copy.data.update(from: x.data, count: x.count) }
        nonisolated(unsafe) var parallel = [([Float], [Float])](repeating: ([], []), count: copies.count)
        Engine.parallelFor(copies.count, costPerItem: 1 << 20) { i in
            let y = c.run(copies[i], w, nil)
            y.backward(seed: dy)
            parallel[i] = (y.scalars, copies[i].grad?.scalars ?? [])
        }
        for i in 0..<copies.count {
            assertClose(parallel[i].0, serial[i].0, tol: 1e-5, "forward \(i)")
            assertClose(parallel[i].1, serial[i].1, tol: 1e-5, "dx \(i)")
        }
    }

    /// The im2col fallback overwrites the gradient buffers it is given, which may hold stale values: freed
    /// large buffers are reused by exact size, so NaN-filled tensors of the input's size are freed first.
    /// Both backward schedules (big GEMMs for one image, column chunks for a batch).
    func testIm2colBackwardOverwritesStaleBuffers() {
        for (n, c) in [ConvCase(1, 16, 64, 64, 16, 3, 3, padding: 1), ConvCase(2, 8, 64, 64, 8, 3, 3, padding: 1)].enumerated() {
            XCTAssertGreaterThanOrEqual(c.xShape.reduce(1, *) * 4, 1 << 18, "the input must be large enough to be cached")
            let x = testTensor(c.xShape, seed: UInt64(140 + n))
            let w = testTensor(c.wShape, seed: UInt64(150 + n), scale: 0.5)
            let dy = testTensor(c.yShape, seed: UInt64(160 + n), requiresGrad: false)
            let (edx, edw, _) = c.referenceGradients(x: x.scalars, w: w.scalars, dy: dy.scalars)
            var stale = (0..<4).map { _ in Tensor(Array(repeating: Float.nan, count: x.count), shape: x.shape) }
            stale.removeAll()
            c.run(x, w, nil, .im2col).backward(seed: dy)
            assertClose(x.grad?.scalars ?? [], edx, tol: 1e-5 * max(1, maxAbs(edx)), "\(c) dx")
            assertClose(w.grad?.scalars ?? [], edw, tol: 1e-5 * max(1, maxAbs(edw)), "\(c) dw")
        }
    }

    func testGradientsFiniteDifferences() {
        let cases: [ConvCase] = [
            ConvCase(2, 3, 7, 5, 5, 3, 3, padding: 1),
            ConvCase(1, 3, 7, 9, 5, 5, 5, stride: 2, padding: 2),
            ConvCase(3, 1, 7, 9, 5, 4, 4, stride: 4),
            ConvCase(2, 3, 5, 7, 5, 2, 3, stride: 2, padding: 1),
            ConvCase(2, 2, 5, 7, 3, 1, 1),
            ConvCase(1, 3, 11, 13, 5, 3, 3, stride: (2, 1), padding: (2, 1)),
            ConvCase(2, 16, 5, 7, 16, 3, 3, padding: 1),
        ]
        for (n, c) in cases.enumerated() {
            for algorithm in [Conv2dAlgorithm.automatic, .im2col] {
                let x = testTensor(c.xShape, seed: UInt64(50 + n))
                let w = testTensor(c.wShape, seed: UInt64(60 + n), scale: 0.5)
                let bias = testTensor([c.cout], seed: UInt64(70 + n))
                assertGradientsMatch([x, w, bias]) { t in c.run(t[0], t[1], t[2], algorithm) }
            }
        }
    }

    // MARK: Pixel shuffle

    func testPixelShuffleForwardMatchesIndexFormula() {
        for (b, c, h, w, r) in [(2, 3, 3, 5, 2), (1, 2, 4, 3, 3), (2, 5, 2, 2, 1)] {
            let x = testTensor([b, c * r * r, h, w], seed: 7, requiresGrad: false)
            let y = pixelShuffle(x, upscale: r)
            XCTAssertEqual(y.shape, [b, c, h * r, w * r])
            let xs = x.scalars, ys = y.scalars
            var mismatches = 0
            for n in 0..<b { for ch in 0..<c { for hh in 0..<h { for ww in 0..<w { for i in 0..<r { for j in 0..<r {
                let out = ((n * c + ch) * (h * r) + hh * r + i) * (w * r) + ww * r + j
                let inp = ((n * c * r * r + ch * r * r + i * r + j) * h + hh) * w + ww
                if ys[out] != xs[inp] { mismatches += 1 }
            } } } } } }
            XCTAssertEqual(mismatches, 0, "pixelShuffle r=\(r)")
            // pixelUnshuffle inverts it exactly.
            XCTAssertEqual(pixelUnshuffle(y, downscale: r).scalars, xs)
        }
    }

    func testPixelShuffleGradients() {
        let x = testTensor([2, 12, 3, 5], seed: 8)
        assertGradientsMatch([x]) { t in pixelShuffle(t[0], upscale: 2) }
        let z = testTensor([1, 2, 6, 9], seed: 9)
        assertGradientsMatch([z]) { t in pixelUnshuffle(t[0], downscale: 3) }
    }
}
