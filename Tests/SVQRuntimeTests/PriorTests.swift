// Sampling from the semantic prior through the runtime API: shapes, range, determinism, completion of
// fixed codes, and the prior's errors.

import SafeTensors
import SVQ
import XCTest

final class PriorTests: XCTestCase {
    let model = TestModels.tiny

    func testSamplesAreLocalCodesAndDeterministic() throws {
        let codes = try model.samplePrior(count: 5, seed: 3)
        XCTAssertEqual(codes.shape, [5, 3, 4])
        XCTAssertTrue(codes.scalars.allSatisfy { $0 >= 0 && $0 < 8 })
        XCTAssertEqual(codes, try model.samplePrior(count: 5, seed: 3))
        XCTAssertNotEqual(codes, try model.samplePrior(count: 5, seed: 4))
        XCTAssertEqual(try model.samplePrior(count: 2, seed: 3, temperature: 0.5, topK: 2),
                       try model.samplePrior(count: 2, seed: 3, temperature: 0.5, topK: 2))
        // Decodable as they are.
        XCTAssertEqual(try model.decode(codes).shape, [5, 64, 64, 3])
    }

    func testFixedCodesAreKept() throws {
        let count = 3
        let base = try model.samplePrior(count: count, seed: 10)
        // Fix the first object's codes (and one more), sample the rest.
        var mask = [Bool](repeating: false, count: count * 12)
        for i in 0..<count { for k in 0..<4 { mask[i * 12 + k] = true } }
        mask[2 * 12 + 9] = true
        var fixed = base.scalars
        for i in fixed.indices where !mask[i] { fixed[i] = -7 }   // ignored where the mask is false
        fixed[0] = (base.scalars[0] + 1) % 8
        let out = try model.samplePrior(count: count, seed: 11, fixed: try ShapedArray(fixed, shape: [count, 3, 4]),
                                        fixedMask: try ShapedArray(mask, shape: [count, 3, 4]))
        for i in mask.indices where mask[i] { XCTAssertEqual(out.scalars[i], fixed[i], "position \(i)") }
        XCTAssertTrue(out.scalars.allSatisfy { $0 >= 0 && $0 < 8 })
        // All positions fixed: the codes come back unchanged.
        let all = try model.samplePrior(count: count, seed: 12, fixed: base,
                                        fixedMask: try ShapedArray([Bool](repeating: true, count: count * 12), shape: [count, 3, 4]))
        XCTAssertEqual(all, base)
    }

    func testAnUntrainedPriorIsNoPrior() throws {
        let untrained = try SVQ.Model(data: TestModels.tinyUntrainedPriorData)
        XCTAssertFalse(untrained.info.hasPrior)
        XCTAssertTrue(expectError(.noPrior, try untrained.samplePrior(count: 1)).contains("never trained"))
        // The marker is what differs: the same tensors without it sample (files written before it existed).
        let marked = try SafeTensorsFile(data: TestModels.tinyUntrainedPriorData).metadata
        XCTAssertEqual(marked["prior_trained"], "false")
        let unmarked = TestModels.rewritten(TestModels.tinyUntrainedPriorData, metadata: { $0["prior_trained"] = nil })
        XCTAssertEqual(try SVQ.Model(data: unmarked).samplePrior(count: 2, seed: 3), try model.samplePrior(count: 2, seed: 3))
    }

    func testPriorErrors() throws {
        let n = [1, 3, 4]
        let codes = try ShapedArray([Int32](repeating: 0, count: 12), shape: n)
        let mask = try ShapedArray([Bool](repeating: true, count: 12), shape: n)
        expectError(.noPrior, try TestModels.tinyNoPrior.samplePrior(count: 1))
        expectError(.invalidArgument, try model.samplePrior(count: 0))
        expectError(.invalidArgument, try model.samplePrior(count: -3))
        expectError(.invalidArgument, try model.samplePrior(count: 1, temperature: 0))
        expectError(.invalidArgument, try model.samplePrior(count: 1, temperature: -1))
        expectError(.invalidArgument, try model.samplePrior(count: 1, temperature: .nan))
        expectError(.invalidArgument, try model.samplePrior(count: 1, temperature: .infinity))
        expectError(.invalidArgument, try model.samplePrior(count: 1, topK: 0))
        XCTAssertTrue(expectError(.invalidArgument, try model.samplePrior(count: 1, fixedMask: mask)).contains("without the fixed codes"))
        XCTAssertTrue(expectError(.invalidArgument, try model.samplePrior(count: 1, fixed: codes)).contains("without a mask"))
        expectError(.shapeMismatch, try model.samplePrior(count: 2, fixed: codes, fixedMask: mask))
        expectError(.shapeMismatch, try model.samplePrior(count: 1, fixed: try ShapedArray([Int32](repeating: 0, count: 12), shape: [1, 4, 3]), fixedMask: mask))
        expectError(.shapeMismatch, try model.samplePrior(count: 1, fixed: codes, fixedMask: try ShapedArray([Bool](repeating: true, count: 12), shape: [12])))
        var bad = codes.scalars
        bad[5] = 8
        let message = expectError(.invalidValue, try model.samplePrior(count: 1, fixed: try ShapedArray(bad, shape: n), fixedMask: mask))
        XCTAssertTrue(message.contains("[0, 1, 1]"), message)
        bad[5] = -1
        expectError(.invalidValue, try model.samplePrior(count: 1, fixed: try ShapedArray(bad, shape: n), fixedMask: mask))
    }
}
