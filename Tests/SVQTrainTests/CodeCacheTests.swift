// The prior's code cache: one encoding per image in a fixed order, and a cache file reused only for the
// exact source it records.

import Foundation
import SVQEngine
import SVQModels
import SVQTrain
import XCTest

final class CodeCacheTests: XCTestCase {
    func testEncodingIsOneValidCodeSetPerImageAndReproducibleFromItsSeed() throws {
        var rng = RandomGenerator(seed: 2)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        let images = squaresDataset()
        let cache = CodeCache.encode(images, model: model, seed: 4, batchSize: 5)
        let t = model.config.codesPerImage
        XCTAssertEqual(cache.codes.shape, [images.count, t])
        XCTAssertEqual(CodeCache.encode(images, model: model, seed: 4, batchSize: 5).codes.values, cache.codes.values)
        XCTAssertNotEqual(CodeCache.encode(images, model: model, seed: 5, batchSize: 5).codes.values, cache.codes.values)
        // Every row is a valid code set: each position's id lies in its block.
        XCTAssertNoThrow(model.config.localCodes(global: cache.codes))
    }

    func testCacheFileIsReusedOnlyForTheSourceItRecords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-code-cache-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("codes.safetensors")
        let cache = CodeCache(codes: IntTensor([0, 5, 1, 6, 2, 7, 3, 4], shape: [2, 4]))
        let source = CodeCache.Source(modelFingerprint: "m1", dataFingerprint: "d1")
        try cache.write(to: url, source: source)
        XCTAssertEqual(CodeCache.read(from: url, source: source)?.codes.values, cache.codes.values)
        XCTAssertEqual(CodeCache.read(from: url, source: source)?.codes.shape, [2, 4])
        var other = source
        other.modelFingerprint = "m2"
        XCTAssertNil(CodeCache.read(from: url, source: other), "a cache of another model served")
        other = source
        other.dataFingerprint = "d2"
        XCTAssertNil(CodeCache.read(from: url, source: other), "a cache of other images served")
        // A truncated file is a miss, not a crash.
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        XCTAssertNil(CodeCache.read(from: url, source: source))
    }
}
