// What each figure draws, on inputs whose answers are worked out by hand: curves read from a metrics file,
// bar heights, heat-map cells, slot tints and the code legend's most frequent values.

import Foundation
import SVQData
import SVQEngine
import SVQEval
import SVQModels
import SVQPlot
import SVQTestSupport
import XCTest

final class PlotDataTests: XCTestCase {
    func testCurvesComeFromTheMetricsFileWithHeldOutLossDrawnOverTraining() throws {
        let run = try temporaryDirectory()
        try "step,loss,batch_code_usage,steps_per_s\n10,1000,0.5,2.5\n20,100,0.75,2.6\n30,10,0.9,2.4\n"
            .write(to: run.appendingPathComponent("metrics.csv"), atomically: true, encoding: .utf8)
        try "step,loss,accuracy\n20,150,0.25\n30,40,0.5\n"
            .write(to: run.appendingPathComponent("validation.csv"), atomically: true, encoding: .utf8)
        let metrics = try MetricsTable(contentsOf: run.appendingPathComponent("metrics.csv"))
        XCTAssertEqual(metrics.names, ["loss", "batch_code_usage", "steps_per_s"])
        XCTAssertEqual(metrics.steps, [10, 20, 30])
        XCTAssertEqual(metrics.series("loss"), [1000, 100, 10])
        let validation = try MetricsTable(contentsOf: run.appendingPathComponent("validation.csv"))

        let panels = TrainingCurves.panels(metrics: metrics, validation: validation)
        // Steps per second is left out; the held-out loss joins the loss panel; held-out accuracy has its own.
        XCTAssertEqual(panels.map(\.title), ["loss", "batch_code_usage", "held-out accuracy"])
        XCTAssertEqual(panels[0].curves, [Curve(label: "train", steps: [10, 20, 30], values: [1000, 100, 10]),
                                          Curve(label: "held-out", steps: [20, 30], values: [150, 40])])
        XCTAssertEqual(panels[2].curves, [Curve(label: "held-out", steps: [20, 30], values: [0.25, 0.5])])
        // The loss spans two decades: log scale; usage (0.5 to 0.9) and accuracy stay linear.
        XCTAssertEqual(panels.map(\.logarithmic), [true, false, false])
    }

    func testAMissingOrMalformedMetricsFileIsAClearError() throws {
        let run = try temporaryDirectory()
        func message(_ csv: String?) -> String {
            let url = run.appendingPathComponent("metrics.csv")
            try? FileManager.default.removeItem(at: url)
            if let csv { try! csv.write(to: url, atomically: true, encoding: .utf8) }
            do {
                _ = try TrainingCurves.figure(run: run)
                return "no error"
            } catch let error as PlotError { return error.description } catch { return "other error: \(error)" }
        }
        XCTAssertTrue(message(nil).hasSuffix("metrics.csv: no such file"), message(nil))
        XCTAssertTrue(message("").contains("is empty"), message(""))
        XCTAssertTrue(message("loss,step\n1,2\n").contains("does not start with a header"), message("loss,step\n1,2\n"))
        XCTAssertTrue(message("step,loss\n").contains("no rows"), message("step,loss\n"))
        XCTAssertTrue(message("step,loss\n1,2\n2\n").contains("line 3 has 1 fields, the header 2"), message("step,loss\n1,2\n2\n"))
        XCTAssertTrue(message("step,loss\n1,fast\n").contains("line 2: loss is \"fast\", not a number"), message("step,loss\n1,fast\n"))
        // A run folder that is not there at all.
        XCTAssertThrowsError(try TrainingCurves.figure(run: run.appendingPathComponent("nothing"))) {
            XCTAssertTrue("\($0)".hasSuffix("nothing does not exist"), "\($0)")
        }
    }

    func testUsageBarsAreEachCodesShareOfItsBlock() {
        // Block 0: codes 0, 1, 1, 1 → shares 1/4 and 3/4; block 1 only ever had a code outside its codebook.
        let usage = CodeStatistics.usage(IntTensor([0, 9, 1, 9, 1, 9, 1, 9], shape: [4, 1, 2]), prototypes: 4)
        XCTAssertEqual(CodeUsageChart.shares(usage), [[0.25, 0.75, 0, 0], [0, 0, 0, 0]])
    }

    /// 8 objects: shape is (i / 2) % 2; block 0's code is the shape, block 1's always 0. Colour, size and
    /// position never change.
    func shapeMatches() -> [MatchedSlot] {
        (0..<8).map { i in MatchedSlot(codes: [(i / 2) % 2, 0], factors: [(i / 2) % 2, 0, 0, 0, 0], iou: 1) }
    }

    func testHeatMapCellsAreTheBlocksMajorityAccuracies() {
        let t = FactorHeatMap.table(FactorAlignment.report(shapeMatches(), objects: 8, blocks: 2))
        XCTAssertEqual(t.factors, ["shape", "colour", "size", "x", "y"])
        // Block 0 names the shape. Block 1's one code votes, per fold, for the value of a 2–2 tie broken to the
        // smaller (0), which is right for half of the other fold: 4 of 8. Chance: 4 of 8 objects share a shape.
        XCTAssertEqual(t.accuracy[0], [1, 0.5])
        XCTAssertEqual(t.chance[0], 0.5)
        XCTAssertEqual(t.bestBlock[0], 0)
        // A constant factor is always guessed right, and so is chance: no shading.
        XCTAssertEqual(t.accuracy[1], [1, 1])
        XCTAssertEqual(FactorHeatMap.strength(accuracy: 1, chance: 1), 0)
        XCTAssertEqual(FactorHeatMap.strength(accuracy: 0.75, chance: 0.5), 0.5)
        XCTAssertEqual(FactorHeatMap.strength(accuracy: 0.25, chance: 0.5), 0)
    }

    func testTheLegendGivesEachCodeItsMostFrequentValue() throws {
        // 40 objects: colour (i / 2) % 2 is block 0's code, shape (i / 4) % 2 block 1's (both values in both
        // cross-fitting folds); then 4 more with block 0 code 0 but colour 1 (green), shapes 0, 1, 0, 1. Code 2
        // of either block never occurs.
        var matches = (0..<40).map { i in
            MatchedSlot(codes: [(i / 2) % 2, (i / 4) % 2], factors: [(i / 4) % 2, (i / 2) % 2, 0, 0, 0], iou: 1)
        }
        matches += (0..<4).map { i in MatchedSlot(codes: [0, i % 2], factors: [i % 2, 1, 0, 0, 0], iou: 1) }
        let report = FactorAlignment.report(matches, objects: matches.count, blocks: 2)
        let legend = CodeMeanings.legend(matches, alignment: report, prototypes: 3)

        XCTAssertEqual(legend.blocks.map(\.factor), ["colour", "shape"])
        XCTAssertEqual(legend.blocks[0].codes, [
            CodeLegend.Code(code: 0, value: "red", share: 20.0 / 24, objects: 24),     // 20 red, 4 green
            CodeLegend.Code(code: 1, value: "green", share: 1, objects: 20),
            CodeLegend.Code(code: 2, value: nil, share: 0, objects: 0),
        ])
        XCTAssertEqual(legend.blocks[1].codes.map(\.value), ["square", "circle", nil])
        XCTAssertEqual(legend.blocks[1].codes.map(\.objects), [22, 22, 0])
        XCTAssertEqual(legend.blocks[1].chance, 0.5)

        // The JSON round trip the file and the model metadata rely on.
        XCTAssertEqual(try CodeLegend(json: try legend.jsonData()), legend)
        let json = String(decoding: try legend.jsonData(), as: UTF8.self)
        XCTAssertTrue(json.contains("\"objects\" : 24"), json)
    }

    func testSlotOverlayTintsEachPixelWithTheSlotsThatAttendThere() {
        // Pixel 0 belongs to slot 1 alone; pixel 1 is split evenly between slots 0 and 1.
        let image = RGBImage(width: 2, height: 1, pixels: [100, 0, 200, 50, 50, 50])
        let out = SlotOverlay.image(image, attention: [0, 0.5, 1, 0.5], slots: 2)
        let (c0, c1) = (SlotOverlay.colour(slot: 0), SlotOverlay.colour(slot: 1))
        func expected(_ base: Double, _ tint: Double) -> UInt8 { UInt8((0.4 * base + 0.6 * 255 * tint).rounded()) }
        XCTAssertEqual(out.pixels[0...2], [expected(100, c1.red), expected(0, c1.green), expected(200, c1.blue)])
        XCTAssertEqual(out.pixels[3...5], [expected(50, (c0.red + c1.red) / 2), expected(50, (c0.green + c1.green) / 2),
                                          expected(50, (c0.blue + c1.blue) / 2)])
        XCTAssertEqual(SlotOverlay.legend(slots: 2).map(\.label), ["slot 0", "slot 1"])
    }
}
