// Weights that are finite but huge (a corrupt or hostile file) load, then make the computation overflow
// float32. Each call checks what it computed: slot attention and slot distances in encode, token scores and
// pixels in decode, code scores in prior sampling. Overflow is `.invalidModel` naming what went non-finite —
// never NaN masks, never codes or tokens drawn from NaN scores, never NaN pixels.

import Foundation
import SVQ
import SVQTestSupport
import XCTest

final class OverflowTests: XCTestCase {
    /// The tiny model with the tensors whose names start with `prefix` multiplied by `scale` (finite).
    func scaled(_ prefix: String, by scale: Float) throws -> SVQ.Model {
        let data = TestModels.rewritten(TestModels.tinyData, tensors: { name, values, shape in
            (name.hasPrefix(prefix) ? values.map { $0 * scale } : values, shape)
        })
        return try SVQ.Model(data: data)
    }

    func testEveryWeightHugeIsAnInvalidModelOnEveryCall() throws {
        for scale: Float in [1e10, 1e20, 1e28] {
            let model = try scaled("", by: scale)
            XCTAssertTrue(expectError(.invalidModel, try model.encode(testImages(batch: 2), masks: true)).contains("not finite"))
            XCTAssertTrue(expectError(.invalidModel, try model.encode(testImageBytes(batch: 1))).contains("not finite"))
            XCTAssertTrue(expectError(.invalidModel, try model.samplePrior(count: 2, seed: 1)).contains("prior"))
        }
    }

    func testAnOverflowingPriorIsAnInvalidModelAndTheRestStillWorks() throws {
        let model = try scaled("prior.", by: 1e20)
        XCTAssertTrue(expectError(.invalidModel, try model.samplePrior(count: 2, seed: 1)).contains("prior"))
        let codes = try model.encode(testImages(batch: 1)).codes
        XCTAssertTrue(try model.decode(codes).scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testAnOverflowingImageDecoderIsAnInvalidModel() throws {
        // The head alone, however scaled, may not overflow: it reads layer-normalised rows, whose terms cancel.
        // A final norm whose bias is 1e30 and a head ×1e30 make every score's terms ±1e60.
        let data = TestModels.rewritten(TestModels.tinyData, tensors: { name, values, shape in
            switch name {
            case "image_decoder.transformer.layer_norm.bias": return (values.map { _ in 1e30 }, shape)
            case "image_decoder.head.weight": return (values.map { $0 * 1e30 }, shape)
            default: return (values, shape)
            }
        })
        let model = try SVQ.Model(data: data)
        let codes = try TestModels.tiny.encode(testImages(batch: 2)).codes
        XCTAssertTrue(expectError(.invalidModel, try model.decode(codes)).contains("token scores"))
        XCTAssertTrue(expectError(.invalidModel, try model.decodeUInt8(codes, sampling: .sampled(temperature: 1, topK: nil),
                                                                        seed: 2, candidates: 2)).contains("token scores"))
    }

    /// The same weights, scaled by less, still give results in range: the check is on what was computed,
    /// not on the size of the weights.
    func testLargeButNotOverflowingWeightsStillWork() throws {
        let model = try scaled("image_decoder.head", by: 1e3)
        let codes = try TestModels.tiny.encode(testImages(batch: 1)).codes
        XCTAssertTrue(try model.decode(codes).scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
