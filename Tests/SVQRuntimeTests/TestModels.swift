// Models and inputs the runtime tests share: the golden-tiny random model (with and without a prior), a
// micro model small enough to truncate at every length, and deterministic test images.

import Foundation
import SafeTensors
import SVQ
import SVQEngine
import SVQModels
import SVQTestSupport
import XCTest

enum TestModels {
    /// The golden-tiny test config with random weights, as our weights file (64×64×3, N 3, M 4, P 8, prior).
    static let tinyData: Data = serialized(.goldenTiny, seed: 11)

    /// The same sizes without a prior.
    static let tinyNoPriorData: Data = {
        var c = SVQConfig.goldenTiny
        c.prior = nil
        return serialized(c, seed: 12)
    }()

    /// A few kilobytes: every size 1–8, with a prior.
    static let microConfig: SVQConfig = {
        var c = SVQConfig(imageSize: 8, cnnHiddenSize: 2, dModel: 4, mlpHiddenSize: 4, numSlots: 2, slotSize: 4,
                          numBlocks: 2, numPrototypes: 3, vocabSize: 4, numDecoderLayers: 1, numDecoderHeads: 1,
                          prior: PriorConfig(dModel: 4, numHeads: 1, numLayers: 1))
        c.featureSize = 8
        c.dvaeHiddenSize = 2
        c.couplerHeads = 1
        return c
    }()
    static let microData: Data = serialized(microConfig, seed: 13)

    /// The golden-tiny sizes with a prior that was never trained (`svq train`'s output).
    static let tinyUntrainedPriorData: Data = serialized(.goldenTiny, seed: 11, priorTrained: false)

    static let tiny: SVQ.Model = try! SVQ.Model(data: tinyData)
    static let tinyNoPrior: SVQ.Model = try! SVQ.Model(data: tinyNoPriorData)

    /// A random model as our weights file; its random prior stands in for a trained one unless
    /// `priorTrained` is false (as `svq train` writes it).
    static func serialized(_ config: SVQConfig, seed: UInt64, priorTrained: Bool = true) -> Data {
        var rng = RandomGenerator(seed: seed)
        let model = try! SVQModel(config: config, rng: &rng)
        model.priorTrained = priorTrained
        return try! model.serialized()
    }

    /// `data` with its metadata, or its tensors, replaced (everything else copied).
    static func rewritten(_ data: Data, metadata edit: (inout [String: String]) -> Void = { _ in },
                          tensors replace: (String, [Float], [Int]) -> (values: [Float], shape: [Int])? = { _, v, s in (v, s) }) -> Data {
        let file = try! SafeTensorsFile(data: data)
        var metadata = file.metadata
        edit(&metadata)
        var writer = SafeTensorsWriter(metadata: metadata)
        for info in file.tensors {
            if let (values, shape) = replace(info.name, try! file.floats(info.name), info.shape) {
                try! writer.add(info.name, floats: values, shape: shape)
            }
        }
        return try! writer.serialize()
    }

    /// `data` with one key of its config JSON set to `value` (a JSON literal).
    static func withConfig(_ data: Data, _ key: String, _ value: Any) -> Data {
        rewritten(data, metadata: { meta in
            var config = try! JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
            if key.hasPrefix("prior.") {
                var prior = config["prior"] as! [String: Any]
                prior[String(key.dropFirst(6))] = value
                config["prior"] = prior
            } else {
                config[key] = value
            }
            meta["config"] = String(decoding: try! JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        })
    }
}

/// Deterministic images in [0, 1]: soft coloured blobs on a dark background, NHWC.
func testImages(batch: Int, size: Int = 64, channels: Int = 3, seed: UInt64 = 5) -> ShapedArray<Float> {
    var rng = RandomGenerator(seed: seed)
    var values = [Float](repeating: 0.05, count: batch * size * size * channels)
    for b in 0..<batch {
        for _ in 0..<3 {
            let cx = rng.nextUniform() * Float(size), cy = rng.nextUniform() * Float(size)
            let r = 4 + rng.nextUniform() * Float(size) / 6
            let colour = (0..<channels).map { _ in rng.nextUniform() }
            for y in 0..<size {
                for x in 0..<size where (Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy) < r * r {
                    for c in 0..<channels { values[((b * size + y) * size + x) * channels + c] = colour[c] }
                }
            }
        }
    }
    return try! ShapedArray(values, shape: [batch, size, size, channels])
}

/// The same images as bytes, and back as the floats byte / 255 that the uint8 entry points read.
func testImageBytes(batch: Int, seed: UInt64 = 5) -> ShapedArray<UInt8> {
    let f = testImages(batch: batch, seed: seed)
    return try! ShapedArray(f.scalars.map { UInt8(($0 * 255).rounded()) }, shape: f.shape)
}

/// Asserts that `body` throws an SVQError with `code`, and returns its message.
@discardableResult
func expectError<T>(_ code: SVQError.Code, _ body: @autoclosure () throws -> T,
                    file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        _ = try body()
        XCTFail("expected SVQError.\(code), but the call succeeded", file: file, line: line)
    } catch let error as SVQError {
        XCTAssertEqual(error.code, code, "message: \(error.message)", file: file, line: line)
        XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        return error.message
    } catch {
        XCTFail("expected SVQError.\(code), got \(type(of: error)): \(error)", file: file, line: line)
    }
    return ""
}
