// The assembled model: official import of both checkpoints, the full pipeline against the golden outputs,
// and our weights format round trip.

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQModels

final class SVQModelTests: XCTestCase {
    static func officialTiny() throws -> SVQModel {
        var rng = RandomGenerator(seed: 0)
        let model = try SVQModel(config: Golden.config, rng: &rng)
        try model.loadOfficial(svq: Golden.svqStateDict, prior: Golden.priorStateDict)
        model.freeze()
        model.train(false)
        return model
    }

    func testFullPipelineMatchesGolden() throws {
        let model = try Self.officialTiny()
        let enc = model.encode(Golden.tensor("images_nchw"), noise: Golden.tensor("slot_init_noise"))
        XCTAssertEqual(enc.codes, Golden.ints("codes_local"))
        var rng = RandomGenerator(seed: 0)
        let image = model.decode(slots: enc.slots, rng: &rng)
        assertMatchesGolden(image, "decoded_image", tol: 1e-4)
        // Decoding from the codes alone (codebook rows) gives the same image.
        let fromCodes = model.decode(codes: enc.codes, rng: &rng)
        XCTAssertEqual(fromCodes.count, image.count)
        XCTAssertLessThanOrEqual(zip(fromCodes.scalars, image.scalars).map { abs($0 - $1) }.max()!, 1e-5)
        let prior = try XCTUnwrap(model.prior)
        let global = model.config.globalCodes(local: enc.codes)
        XCTAssertEqual(global.values, Golden.ints("prior_input_codes").values)
        assertMatchesGolden(prior.logits(global), "prior_logits", tol: 1e-4)
    }

    func testOurWeightsFormatRoundTrip() throws {
        let model = try Self.officialTiny()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svq-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata["format"], "svq")
        XCTAssertEqual(file.metadata["format_version"], SVQModel.formatVersion)
        let reloaded = try SVQModel(contentsOf: url)
        XCTAssertEqual(reloaded.config, model.config)
        reloaded.train(false)
        let enc = reloaded.encode(Golden.tensor("images_nchw"), noise: Golden.tensor("slot_init_noise"))
        XCTAssertEqual(enc.codes, Golden.ints("codes_local"))
        var rng = RandomGenerator(seed: 0)
        assertMatchesGolden(reloaded.decode(slots: enc.slots, rng: &rng), "decoded_image", tol: 1e-4)
    }

    func testRejectsFilesThatAreNotOurs() throws {
        var w = SafeTensorsWriter(metadata: ["format": "svq", "format_version": "99", "config": "{}"])
        try w.add("x", floats: [1], shape: [1])
        XCTAssertThrowsError(try SVQModel(file: try SafeTensorsFile(data: try w.serialize()))) { error in
            XCTAssertTrue("\(error)".contains("version 99"), "\(error)")
        }
        XCTAssertThrowsError(try SVQModel(file: Golden.outputs)) { error in
            XCTAssertTrue("\(error)".contains("not an SVQ weights file"), "\(error)")
        }
    }

    func testOfficialImportRejectsAMismatchedConfig() {
        var config = Golden.config
        config.numPrototypes = 16
        var rng = RandomGenerator(seed: 0)
        let model = try! SVQModel(config: config, rng: &rng)
        XCTAssertThrowsError(try model.loadOfficial(svq: Golden.svqStateDict, prior: nil)) { error in
            XCTAssertTrue("\(error)".contains("prototype_memory"), "\(error)")
        }
    }

    /// Other configurations build and run end to end (official import is config-driven; its numerics are
    /// covered by the golden model).
    func testOtherConfigurationsRunEndToEnd() throws {
        var learned = SVQConfig.goldenTiny
        learned.slotInit = .learned
        learned.numIterations = 2
        var big = SVQConfig.goldenTiny
        big.imageSize = 128
        big.numIterations = 5
        var quarter = SVQConfig.goldenTiny
        quarter.imageSize = 128
        quarter.featureSize = 32
        for config in [learned, big, quarter, .cpuSprites, .cpuSpritesWide] {
            var rng = RandomGenerator(seed: 3)
            let model = try SVQModel(config: config, rng: &rng)
            model.freeze(); model.train(false)
            let images = rng.uniform([2, 3, config.imageSize, config.imageSize])
            let enc = model.encode(images, rng: &rng)
            XCTAssertEqual(enc.codes.shape, [2, config.numSlots, config.numBlocks])
            XCTAssertTrue(enc.codes.values.allSatisfy { $0 >= 0 && Int($0) < config.numPrototypes })
            XCTAssertEqual(model.masks(enc).shape, [2, config.numSlots, config.imageSize, config.imageSize])
            let img = model.decode(codes: enc.codes, rng: &rng)
            XCTAssertEqual(img.shape, [2, 3, config.imageSize, config.imageSize])
            XCTAssertFalse(img.scalars.contains { !($0 >= 0 && $0 <= 1) })
        }
    }

    func testSameNoiseSameCodesDifferentNoiseCanDiffer() throws {
        let model = try Self.officialTiny()
        let images = Golden.tensor("images_nchw")
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
        XCTAssertEqual(model.encode(images, rng: &a).codes, model.encode(images, rng: &b).codes)
    }
}
