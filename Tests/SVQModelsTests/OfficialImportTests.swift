import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQModels
import SVQTestSupport

final class OfficialImportTests: XCTestCase {
    func testOfficialArgumentsMapToOurConfig() throws {
        let data = try Data(contentsOf: Golden.directory.appendingPathComponent("config.json"))
        let args = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(try SVQConfig(officialArguments: args, includePrior: true), .goldenTiny)
        var without = SVQConfig.goldenTiny
        without.prior = nil
        XCTAssertEqual(try SVQConfig(officialArguments: args, includePrior: false), without)
        XCTAssertThrowsError(try SVQConfig(officialArguments: ["slot_init_type": "fancy"], includePrior: false)) { e in
            XCTAssertEqual((e as? SVQModelError)?.kind, .unsupported, "\(e)")
        }
        XCTAssertThrowsError(try SVQConfig(officialArguments: ["slot_size": 100, "num_blocks": 8], includePrior: false)) { e in
            XCTAssertEqual((e as? SVQModelError)?.kind, .invalidConfig, "\(e)")
            XCTAssertTrue("\(e)".contains("divisible"), "\(e)")
        }
        // A whole number too large for an Int is an error, not a trap.
        XCTAssertThrowsError(try SVQConfig(officialArguments: ["num_slots": 1e300], includePrior: false)) { e in
            XCTAssertEqual((e as? SVQModelError)?.kind, .invalidConfig, "\(e)")
            XCTAssertTrue("\(e)".contains("num_slots"), "\(e)")
        }
    }

    func testAMismatchedCheckpointIsATensorMismatch() throws {
        var config = Golden.config
        config.numDecoderLayers += 1
        var rng = RandomGenerator(seed: 0)
        let model = try SVQModel(config: config, rng: &rng)
        XCTAssertThrowsError(try model.loadOfficial(svq: Golden.svqStateDict, prior: Golden.priorStateDict)) { e in
            XCTAssertEqual((e as? SVQModelError)?.kind, .tensorMismatch, "\(e)")
            XCTAssertTrue("\(e)".contains("official checkpoint: missing tensor \"image_decoder.tf.blocks.2"), "\(e)")
        }
    }

    /// Checkpoints saved from a DataParallel-wrapped model prefix every name with "module.".
    func testDataParallelPrefixIsStripped() throws {
        let original = Golden.svqStateDict.file
        var writer = SafeTensorsWriter()
        for name in original.names {
            try writer.add("module." + name, floats: try original.floats(name), shape: original.info(name)!.shape)
        }
        var rng = RandomGenerator(seed: 0)
        var config = Golden.config
        config.prior = nil
        let model = try SVQModel(config: config, rng: &rng)
        try model.loadOfficial(svq: OfficialStateDict(try SafeTensorsFile(data: try writer.serialize())), prior: nil)
        model.train(false)
        let enc = model.encode(Golden.tensor("images_nchw"), noise: Golden.tensor("slot_init_noise"))
        XCTAssertEqual(enc.codes, Golden.ints("codes_local"))
    }
}
