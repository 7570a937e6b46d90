// PackedLinear (oneDNN matmul on a weight packed once) against linear.

import SVQEngine
import SVQTestSupport
import XCTest

/// PackedLinear against linear: few rows (sgemm path), many rows, one and several column slices, in parallel.
final class PackedLinearTests: XCTestCase {
    func testMatchesLinear() {
        for (inF, outF) in [(48, 40), (192, 576), (512, 512)] {
            let w = testTensor([outF, inF], seed: 3, scale: 0.2, requiresGrad: false)
            let b = testTensor([outF], seed: 4, requiresGrad: false)
            for bias in [b, nil] {
                let packed = PackedLinear(weight: w, bias: bias)
                for rows in [1, 3, 4, 16, 37] {
                    let x = testTensor([rows, 1, inF], seed: UInt64(rows), requiresGrad: false)
                    let expected = linear(x, weight: w, bias: bias)
                    let y = packed(x)
                    XCTAssertEqual(y.shape, [rows, 1, outF])
                    assertClose(y.scalars, expected.scalars, tol: 1e-4, "\(inF)→\(outF) rows \(rows) bias \(bias != nil)")
                }
            }
        }
    }

    /// The weight is packed at the first product of enough rows; later changes to it are not seen.
    func testWeightIsCapturedAtFirstUse() {
        let w = testTensor([64, 32], seed: 5, requiresGrad: false)
        let x = testTensor([16, 32], seed: 6, requiresGrad: false)
        let packed = PackedLinear(weight: w, bias: nil)
        let first = packed(x).scalars
        w.data.update(repeating: 0, count: w.count)
        assertClose(packed(x).scalars, first, tol: 0, "packed copy")
    }
}
