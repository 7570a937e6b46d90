// SVQModel(officialArguments:svq:prior:): the official run's files (args JSON, state_dicts as safetensors)
// give the model that the config and loadOfficial give by hand; PyTorch files are refused with the way out.

import Foundation
import SVQEngine
import SVQModels
import SVQTestSupport
import XCTest

final class OfficialModelFilesTests: XCTestCase {
    func testTheFilesGiveTheModelLoadedByHand() throws {
        let dir = Golden.directory
        let model = try SVQModel(officialArguments: dir.appendingPathComponent("config.json"),
                                 svq: dir.appendingPathComponent("svq_state_dict.safetensors"),
                                 prior: dir.appendingPathComponent("prior_state_dict.safetensors"))
        XCTAssertEqual(model.config, Golden.config)
        var rng = RandomGenerator(seed: 5)
        let byHand = try SVQModel(config: Golden.config, rng: &rng)
        try byHand.loadOfficial(svq: Golden.svqStateDict, prior: Golden.priorStateDict)
        XCTAssertEqual(model.namedTensors().map(\.name), byHand.namedTensors().map(\.name))
        XCTAssertEqual(model.namedTensors().map(\.tensor.scalars), byHand.namedTensors().map(\.tensor.scalars))

        let noPrior = try SVQModel(officialArguments: dir.appendingPathComponent("config.json"),
                                   svq: dir.appendingPathComponent("svq_state_dict.safetensors"), prior: nil)
        XCTAssertNil(noPrior.prior)
    }

    func testPyTorchFilesAndBadArgumentsAreRefused() throws {
        let dir = Golden.directory
        XCTAssertThrowsError(try SVQModel(officialArguments: dir.appendingPathComponent("config.json"),
                                          svq: URL(fileURLWithPath: "svq_checkpoint.pt"), prior: nil)) {
            XCTAssertEqual(($0 as? SVQModelError)?.kind, .unsupported)
            XCTAssertTrue("\($0)".contains("scripts/convert_official_checkpoint.py svq_checkpoint.pt"), "\($0)")
        }
        let list = try temporaryDirectory().appendingPathComponent("args.json")
        try Data("[1, 2]".utf8).write(to: list)
        XCTAssertThrowsError(try SVQModel(officialArguments: list, svq: dir.appendingPathComponent("svq_state_dict.safetensors"),
                                          prior: nil)) {
            XCTAssertEqual(($0 as? SVQModelError)?.kind, .invalidConfig)
            XCTAssertTrue("\($0)".contains("must hold a JSON object"), "\($0)")
        }
    }
}
