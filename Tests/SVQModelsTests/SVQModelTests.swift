// The assembled model: official import of both checkpoints, the full pipeline against the golden outputs,
// and our weights format round trip.

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQModels
import SVQTestSupport

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
        let image = try model.decode(slots: enc.slots, rng: &rng)
        assertMatchesGolden(image, "decoded_image", tol: 1e-4)
        // Decoding from the codes alone (codebook rows) gives the same image.
        let fromCodes = try model.decode(codes: enc.codes, rng: &rng)
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
        assertMatchesGolden(try reloaded.decode(slots: enc.slots, rng: &rng), "decoded_image", tol: 1e-4)
    }

    func testRejectsFilesThatAreNotOurs() throws {
        var w = SafeTensorsWriter(metadata: ["format": "svq", "format_version": "99", "config": "{}"])
        try w.add("x", floats: [1], shape: [1])
        XCTAssertEqual(loadError(try w.serialize(), .unsupported)?.contains("version 99"), true)
        XCTAssertThrowsError(try SVQModel(file: Golden.outputs)) { error in
            XCTAssertEqual((error as? SVQModelError)?.kind, .unsupported)
            XCTAssertTrue("\(error)".contains("not an SVQ weights file"), "\(error)")
        }
    }

    // MARK: Loading untrusted files

    /// The tally counted from the sizes is the model's own count of named tensors and their values, for
    /// every preset and the variants the count branches on, so the loader's allocation bound cannot drift
    /// from the model.
    func testTensorTallyCountsTheModelsTensors() throws {
        var configs = SVQConfig.presets.sorted { $0.key < $1.key }.map { (name: $0.key, config: $0.value) }
        var learnedNoPrior = Golden.config
        learnedNoPrior.slotInit = .learned
        learnedNoPrior.prior = nil
        var other = Golden.config
        other.imageSize = 32
        other.featureSize = 8
        other.imageChannels = 1
        other.dvaeHiddenSize = 24
        other.numDecoderLayers = 3
        other.prior = PriorConfig(dModel: 12, numHeads: 3, numLayers: 3)
        configs += [("golden tiny", Golden.config), ("learned slots, no prior", learnedNoPrior), ("other sizes", other)]
        for (name, config) in configs {
            var rng = RandomGenerator(seed: 0)
            let tensors = try SVQModel(config: config, rng: &rng).namedTensors()
            let tally = try XCTUnwrap(config.tensorTally, name)
            XCTAssertEqual(tally.tensors, tensors.count, name)
            XCTAssertEqual(tally.values, tensors.reduce(0) { $0 + $1.tensor.count }, name)
        }
    }

    func testValidateRejectsSizesBeyondItsLimits() {
        func problem(_ edit: (inout SVQConfig) -> Void) -> String {
            var c = Golden.config
            edit(&c)
            do { try c.validate() } catch let error as SVQModelError where error.kind == .invalidConfig {
                return error.message
            } catch { XCTFail("\(error)") }
            XCTFail("accepted")
            return ""
        }
        XCTAssertTrue(problem { $0.numIterations = SVQConfig.maxIterations + 1 }.contains("num_iterations"))
        XCTAssertTrue(problem { $0.numSlots = 64 * 64 + 1 }.contains("num_slots"))
        XCTAssertTrue(problem { $0.vocabSize = Int(Int32.max) + 1 }.contains("vocab_size"))
        XCTAssertTrue(problem { $0.numDecoderLayers = 1 << 62 }.contains("more values than an Int"))
        XCTAssertNil({ var c = Golden.config; c.numBlocks = 0; return c.tensorTally }())
    }

    /// Every refusal of the loader carries its kind, and a config implying far more than the file holds is
    /// refused before the model is built.
    func testLoaderRefusalsCarryTheirKind() throws {
        var rng = RandomGenerator(seed: 1)
        let valid = try SVQModel(config: Golden.config, rng: &rng).serialized()
        XCTAssertNoThrow(try SVQModel(file: try SafeTensorsFile(data: valid)))

        XCTAssertNotNil(loadError(rewritten(valid, metadata: { $0["config"] = nil }), .invalidConfig))
        XCTAssertNotNil(loadError(rewritten(valid, metadata: { $0["config"] = "{" }), .invalidConfig))
        let tooMany = withConfig(valid, "numDecoderLayers", 1_000_000_000)
        XCTAssertEqual(loadError(tooMany, .invalidConfig)?.contains("may have"), true)
        let moreLayers = withConfig(valid, "numDecoderLayers", 1000)   // within the cap, far beyond the file
        let start = Date()
        XCTAssertEqual(loadError(moreLayers, .tensorMismatch)?.contains("the config implies"), true)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        let missing = rewritten(valid, tensors: { name, v, s in name == "image_decoder.bos" ? nil : (v, s) })
        XCTAssertEqual(loadError(missing, .tensorMismatch)?.contains("image_decoder.bos"), true)
        let nan = rewritten(valid, tensors: { name, v, s in name == "dvae.decoder_out.bias" ? ([.nan] + v.dropFirst(), s) : (v, s) })
        XCTAssertEqual(loadError(nan, .nonFiniteWeights)?.contains("dvae.decoder_out.bias"), true)
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
            let img = try model.decode(codes: enc.codes, rng: &rng)
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

/// The message of the `SVQModelError` that loading `data` throws, if it is one of `kind`.
private func loadError(_ data: Data, _ kind: ModelErrorKind, file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        _ = try SVQModel(file: try SafeTensorsFile(data: data))
        XCTFail("loaded", file: file, line: line)
    } catch let error as SVQModelError {
        XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
        return error.kind == kind ? error.message : nil
    } catch {
        XCTFail("not an SVQModelError: \(error)", file: file, line: line)
    }
    return nil
}

/// `data` with its metadata, or its tensors, replaced (everything else copied).
private func rewritten(_ data: Data, metadata edit: (inout [String: String]) -> Void = { _ in },
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

/// `data` with one key of its config JSON set to `value`.
private func withConfig(_ data: Data, _ key: String, _ value: Any) -> Data {
    rewritten(data, metadata: { meta in
        var config = try! JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        config[key] = value
        meta["config"] = String(decoding: try! JSONSerialization.data(withJSONObject: config), as: UTF8.self)
    })
}
