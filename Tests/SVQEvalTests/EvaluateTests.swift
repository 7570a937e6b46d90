// `evaluate`, the whole held-out evaluation on a folder: the figures it gathers agree with the parts computed
// directly, the ground truth decides which figures there are, and the pictures have the documented layout.

import Foundation
import SVQData
import SVQEngine
import SVQEval
import SVQModels
import SVQTestSupport
import XCTest

final class EvaluateTests: XCTestCase {
    var folder: URL!

    /// 20 sprite scenes at 64 px with their ground truth: the validation split is files 14..<17, the test
    /// split 17..<20.
    override func setUpWithError() throws {
        folder = try temporaryDirectory()
        try SpriteDataset.generate(count: 20, options: SpriteOptions(variant: .oddOneOut, seed: 4), to: folder)
    }

    /// A random model; its random prior stands in for a trained one unless `priorTrained` is false.
    func tinyModel(prior: Bool = true, priorTrained: Bool = true) throws -> SVQModel {
        var config = SVQConfig.goldenTiny
        if !prior { config.prior = nil }
        var rng = RandomGenerator(seed: 2)
        let model = try SVQModel(config: config, rng: &rng)
        model.priorTrained = priorTrained
        return model
    }

    func options(samples: Int = 3, legendTiles: Bool = false) -> EvaluationOptions {
        var o = EvaluationOptions()
        o.legendTiles = legendTiles
        o.split = .validation
        o.limit = 2
        o.samples = samples
        o.batchSize = 2
        o.seed = 7
        return o
    }

    func testReportAgreesWithTheEvaluatorOnTheSplitsFirstImages() throws {
        let model = try tinyModel()
        var events: [EvaluationProgress] = []
        let evaluation = try evaluate(model, modelName: "tiny", data: folder, options: options()) { events.append($0) }
        let r = evaluation.report

        // The first two validation images, evaluated by hand with the same seed.
        let files = try ImageFolder(directory: folder).files
        XCTAssertEqual(files.count, 20)
        let images = try files[14..<16].map { try PNG.read(contentsOf: $0) }
        let results = try Evaluator(model: model, batchSize: 2).run(images, seed: 7)
        XCTAssertEqual(r.reconstruction.images, 2)
        XCTAssertEqual(r.reconstruction.dvaeMSE, Evaluator.mse(images, results.map(\.dvaeReconstruction)))
        XCTAssertEqual(r.reconstruction.decodeMSE, Evaluator.mse(images, results.map(\.decoded)))
        let codes = IntTensor(results.flatMap { $0.codes.map(Int32.init) }, shape: [2, 3, 4])
        XCTAssertEqual(r.codeUsage, CodeStatistics.usage(codes, prototypes: 8))

        XCTAssertEqual(r.model, "tiny")
        XCTAssertEqual(r.split, "validation")
        XCTAssertEqual(r.seed, 7)
        XCTAssertEqual(r.priorTemperature, 1)
        XCTAssertNil(r.decodeTemperature)
        XCTAssertEqual(events, [.loaded(images: 2), .reconstructed(2, of: 2), .sampled(2, of: 3), .sampled(3, of: 3)])
        // Ground truth beside every image: every figure is there.
        XCTAssertNotNil(r.factorAlignment)
        XCTAssertNotNil(r.ruleOnData)
        XCTAssertNotNil(r.objectRecovery)
        XCTAssertEqual(r.generation?.samples, 3)
    }

    func testGridsHaveTheDocumentedLayout() throws {
        let evaluation = try evaluate(try tinyModel(), modelName: "tiny", data: folder, options: options())
        // Two rows of input, dVAE, decoded and 3 slot regions, 64 px cells with 2 px padding.
        XCTAssertEqual(evaluation.reconstructionGrid.width, 2 + 6 * 66)
        XCTAssertEqual(evaluation.reconstructionGrid.height, 2 + 2 * 66)
        XCTAssertEqual(evaluation.sampleGrid?.width, 2 + 3 * 66)
        XCTAssertEqual(evaluation.sampleGrid?.height, 2 + 66)
        // Ten samples: a row of eight and a row of two.
        let page = EvaluationGrid.samples([RGBImage](repeating: RGBImage(width: 4, height: 4), count: 10))
        XCTAssertEqual(page.width, 2 + 8 * 6)
        XCTAssertEqual(page.height, 2 + 2 * 6)
    }

    func testTheCodeLegendCoversEveryBlockAndCodeWithADecodedTile() throws {
        var events: [EvaluationProgress] = []
        let evaluation = try evaluate(try tinyModel(), modelName: "tiny", data: folder,
                                      options: options(samples: 0, legendTiles: true)) { events.append($0) }
        XCTAssertEqual(events.filter { if case .legendTiles = $0 { return true } else { return false } },
                       (1...16).map { .legendTiles(2 * $0, of: 32) })      // batches of 2
        let legend = try XCTUnwrap(evaluation.codeLegend)
        // goldenTiny: M 4 blocks of P 8 codes.
        XCTAssertEqual(legend.blocks.map(\.block), [0, 1, 2, 3])
        for block in legend.blocks {
            XCTAssertEqual(block.codes.map(\.code), Array(0..<8))
            // Every matched object's code is counted once per block.
            XCTAssertEqual(block.codes.map(\.objects).reduce(0, +), evaluation.report.factorAlignment?.matched)
            XCTAssertTrue(FactorAlignment.factorNames.contains(block.factor))
        }
        let tiles = try XCTUnwrap(evaluation.legendTiles)
        XCTAssertEqual(tiles.map(\.count), [8, 8, 8, 8])
        XCTAssertEqual(tiles[0][0].width, 64)
        XCTAssertEqual(evaluation.examples.count, 2)
        XCTAssertNil(try evaluate(try tinyModel(), modelName: "tiny", data: folder, options: options(samples: 0)).legendTiles)
    }

    func testWithoutGroundTruthOrPriorTheFiguresThatNeedThemAreLeftOut() throws {
        try FileManager.default.removeItem(at: folder.appendingPathComponent("000015.json"))   // the second image's
        let noTruth = try evaluate(try tinyModel(), modelName: "tiny", data: folder, options: options()).report
        XCTAssertNil(noTruth.factorAlignment)
        XCTAssertNil(noTruth.objectRecovery)
        XCTAssertNil(noTruth.generation)
        XCTAssertNil(try evaluate(try tinyModel(), modelName: "tiny", data: folder, options: options(samples: 0)).codeLegend)

        let noPrior = try evaluate(try tinyModel(prior: false), modelName: "tiny", data: folder, options: options())
        XCTAssertNil(noPrior.sampleGrid)
        XCTAssertNil(noPrior.report.generation)

        // A prior never trained (`svq train`'s model) would sample noise: no samples, and the progress says why.
        var events: [EvaluationProgress] = []
        let untrained = try evaluate(try tinyModel(priorTrained: false), modelName: "tiny", data: folder,
                                     options: options()) { events.append($0) }
        XCTAssertNil(untrained.sampleGrid)
        XCTAssertNil(untrained.report.generation)
        XCTAssertEqual(events.last, .untrainedPrior)
    }

    func testReportJSONUsesSnakeCaseKeys() throws {
        let report = try evaluate(try tinyModel(), modelName: "tiny", data: folder, options: options(samples: 0)).report
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        let reconstruction = try XCTUnwrap(json["reconstruction"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(reconstruction["dvae_mse"] as? Double), report.reconstruction.dvaeMSE,
                       accuracy: 1e-12 * report.reconstruction.dvaeMSE)     // JSON prints 16 significant digits
        XCTAssertEqual(json["decode_candidates"] as? Int, 1)
        XCTAssertEqual(json["prior_temperature"] as? Double, 1)
    }

    func testBadOptionsAndEmptySplitsAreRefused() throws {
        let model = try tinyModel()
        var candidates = options()
        candidates.decodeCandidates = 2                         // greedy decoding draws one image only
        XCTAssertThrowsError(try evaluate(model, modelName: "tiny", data: folder, options: candidates)) {
            XCTAssertTrue("\($0)".contains("decoder temperature"), "\($0)")
        }
        var temperature = options()
        temperature.priorTemperature = 0
        XCTAssertThrowsError(try evaluate(model, modelName: "tiny", data: folder, options: temperature))
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try PNG.write(RGBImage(width: 64, height: 64), to: empty.appendingPathComponent("000000.png"))
        XCTAssertThrowsError(try evaluate(model, modelName: "tiny", data: empty, options: options())) {
            XCTAssertTrue("\($0)".contains("no images in the validation split"), "\($0)")
        }
    }
}
