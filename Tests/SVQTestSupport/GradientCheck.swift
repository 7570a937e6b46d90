// Central finite differences against the recorded backward pass, deterministic test values, and an elementwise
// comparison of float arrays: for every suite that checks the engine's numbers.

import XCTest
import SVQEngine

/// Deterministic test values in [-1, 1) (an LCG, so fixtures never depend on the engine's own RNG).
public func testValues(_ count: Int, seed: UInt64 = 1, scale: Float = 1) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

public func testTensor(_ shape: [Int], seed: UInt64 = 1, scale: Float = 1, requiresGrad: Bool = true) -> Tensor {
    let t = Tensor(testValues(shape.reduce(1, *), seed: seed, scale: scale), shape: shape)
    t.requiresGrad = requiresGrad
    return t
}

/// Checks d(Σ w·f(inputs))/d(input) from `backward()` against central differences, for every input that
/// requires gradients. `w` is a fixed pseudo-random weighting so that every output element matters.
public func assertGradientsMatch(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                          maxChecksPerInput: Int = 300,
                          file: StaticString = #filePath, line: UInt = #line,
                          _ f: ([Tensor]) -> Tensor) {
    let y0 = f(inputs)
    let w = Tensor(testValues(y0.count, seed: 99), shape: y0.shape)
    func weightedSum(_ y: Tensor) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(w.data[i]) }
        return s
    }
    for t in inputs { t.grad = nil }
    (y0 * w).sum().backward()

    for (which, x) in inputs.enumerated() where x.requiresGrad {
        guard let g = x.grad else {
            XCTFail("input \(which) \(x.shape) received no gradient", file: file, line: line)
            continue
        }
        XCTAssertEqual(g.shape.reduce(1, *), x.count, file: file, line: line)
        let stride = max(1, x.count / maxChecksPerInput)
        var worst: Float = 0
        for i in Swift.stride(from: 0, to: x.count, by: stride) {
            let saved = x.data[i]
            x.data[i] = saved + eps
            let up = withoutGradients { weightedSum(f(inputs)) }
            x.data[i] = saved - eps
            let down = withoutGradients { weightedSum(f(inputs)) }
            x.data[i] = saved
            let numeric = Float((up - down) / Double(2 * eps))
            let analytic = g.data[i]
            let err = abs(numeric - analytic)
            worst = max(worst, err)
            if err > atol + rtol * max(abs(numeric), abs(analytic)) {
                XCTFail("input \(which) \(x.shape) element \(i): backward \(analytic), finite difference \(numeric)",
                        file: file, line: line)
                return
            }
        }
    }
}

/// Asserts two float arrays agree elementwise within `tol` (absolute), reporting the worst element.
public func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-5, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var worst: Float = 0, at = 0
    for i in 0..<min(a.count, b.count) {
        let d = abs(a[i] - b[i])
        if !(d <= worst) { worst = d; at = i }
    }
    XCTAssert(worst <= tol, "\(what): max |diff| \(worst) at \(at) (\(a[at]) vs \(b[at])) exceeds \(tol)",
              file: file, line: line)
}
