// The figures as files: written as PNGs of the sizes their layouts give, with something drawn on them, and
// the charts of an evaluation redrawn from its report.json.

import Foundation
import SVQData
import SVQEngine
import SVQEval
import SVQModels
import SVQPlot
import SVQTestSupport
import XCTest

final class FigureFileTests: XCTestCase {
    /// Pixels of `image` within `tolerance` of `colour` in every channel.
    func count(_ image: RGBImage, _ colour: Colour, tolerance: Int = 8) -> Int {
        let target = [colour.red, colour.green, colour.blue].map { Int(($0 * 255).rounded()) }
        return stride(from: 0, to: image.pixels.count, by: 3).filter { i in
            (0..<3).allSatisfy { abs(Int(image.pixels[i + $0]) - target[$0]) <= tolerance }
        }.count
    }

    func testTrainingCurvesAreWrittenAtTheirLayoutsSizeWithCurvesAndText() throws {
        let run = try temporaryDirectory()
        let rows = (1...50).map { "\($0 * 10),\(1000.0 / Double($0)),\(0.5 + Double($0) / 200),2.0" }
        try ("step,loss,live_codes,steps_per_s\n" + rows.joined(separator: "\n") + "\n")
            .write(to: run.appendingPathComponent("metrics.csv"), atomically: true, encoding: .utf8)
        let figure = try TrainingCurves.figure(run: run)
        // Two panels of 380 × 230 side by side under a 28-pixel title.
        XCTAssertEqual(figure.width, 760)
        XCTAssertEqual(figure.height, 258)
        XCTAssertGreaterThan(count(figure, Colour.categorical[0]), 100, "the curves are drawn in the first colour")
        XCTAssertGreaterThan(count(figure, .black, tolerance: 40), 50, "titles are written in black")

        let file = run.appendingPathComponent("curves.png")
        try PNG.write(figure, to: file)
        let back = try PNG.read(contentsOf: file)
        XCTAssertEqual(back, figure)
    }

    func testEvaluationChartsAreRedrawnFromReportJSON() throws {
        let folder = try temporaryDirectory()
        let matches = (0..<8).map { i in MatchedSlot(codes: [(i / 2) % 2, 0, i % 3], factors: [(i / 2) % 2, 0, 0, 0, 0], iou: 1) }
        let usage = CodeStatistics.usage(IntTensor([0, 1, 1, 2, 0, 3], shape: [2, 1, 3]), prototypes: 4)
        // The parts of a report the charts read, encoded as `EvaluationReport.jsonData` encodes them.
        struct Report: Encodable { var model = "m"; var codeUsage: [BlockUsage]; var factorAlignment: FactorAlignmentReport }
        let report = Report(codeUsage: usage, factorAlignment: FactorAlignment.report(matches, objects: 8, blocks: 3))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(report).write(to: folder.appendingPathComponent("report.json"))

        let read = try ReportFigures(contentsOf: folder.appendingPathComponent("report.json"))
        XCTAssertEqual(read.codeUsage, usage)
        XCTAssertEqual(read.factorAlignment, report.factorAlignment)
        XCTAssertEqual(try EvaluationFigures.writeReportFigures(read, to: folder), ["code-usage.png", "factor-blocks.png"])
        // Three blocks: two usage panels of 420 × 190 to a row, two rows, under the title.
        let usagePicture = try PNG.read(contentsOf: folder.appendingPathComponent("code-usage.png"))
        XCTAssertEqual([usagePicture.width, usagePicture.height], [840, 2 * 190 + 28])
        // Five factors by three blocks and chance: 80 + 4 · 70 + 20 wide, 66 + 5 · 40 + 30 high.
        let heatMap = try PNG.read(contentsOf: folder.appendingPathComponent("factor-blocks.png"))
        XCTAssertEqual([heatMap.width, heatMap.height], [380, 296])
        // Block 0 holds the shape exactly: its cell is the full shade.
        XCTAssertGreaterThan(count(heatMap, Colour(hex: 0x1f77b4), tolerance: 2), 1000)

        try "{\"code_usage\": 3}".write(to: folder.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ReportFigures(contentsOf: folder.appendingPathComponent("report.json"))) {
            XCTAssertTrue("\($0)".contains("is not an evaluation report"), "\($0)")
        }
    }

    func testLabelledGridLeavesRoomForEveryHeadingAndCaption() throws {
        let tile = RGBImage(width: 16, height: 16, fill: (255, 0, 0))
        var grid = LabelledGrid(title: "t", cells: [[tile, tile, tile], [tile]])
        grid.columnTitles = ["a", "b", "c"]
        grid.captions = [["x", "y", "z"]]
        grid.legend = [("slot 0", .black)]
        grid.scale = 2
        let figure = try grid.figure()
        // Three 32-pixel columns with 4-pixel gaps; title 28, legend 22, headings 18, then two rows of
        // 32 + 4 + a 14-pixel caption line, and the top gap.
        XCTAssertEqual(figure.width, 4 + 3 * 36)
        XCTAssertEqual(figure.height, 28 + 22 + 18 + 4 + 2 * (32 + 4 + 14))
        XCTAssertEqual(count(figure, Colour(1, 0, 0), tolerance: 0), 4 * 32 * 32, "every tile drawn, at twice its size")
        XCTAssertThrowsError(try LabelledGrid(title: "empty", cells: []).figure())
    }
}
