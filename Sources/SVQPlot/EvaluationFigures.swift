// The pictures of an evaluation, as `svq eval` writes them and `svq plot` redraws them from report.json:
// labelled reconstructions with slot masks in colour, prior samples, code usage, the factor × block heat
// map and the code legend with its traversal tiles.

import Foundation
import SVQData
import SVQEval
import SVQModels

public enum EvaluationFigures {
    /// Small images are drawn enlarged, to at least this many pixels a side.
    static let minimumCell = 64

    static func scale(_ images: [RGBImage]) -> Int { max(1, minimumCell / max(images.first?.width ?? minimumCell, 1)) }

    /// Per row: input | dVAE | decoded | all slots in colour | each slot's region.
    public static func reconstructions(_ examples: [EvaluatedImage]) throws -> RGBImage {
        guard let first = examples.first else { throw PlotError("no evaluated images to draw") }
        let slots = first.result.attention.count / max(first.image.width * first.image.height, 1)
        let plane = first.image.width * first.image.height
        var grid = LabelledGrid(title: "held-out images: input, reconstructions and slots", cells: examples.map { e in
            [e.image, e.result.dvaeReconstruction, e.result.decoded,
             SlotOverlay.image(e.image, attention: e.result.attention, slots: slots)]
                + (0..<slots).map { s in EvaluationGrid.slotRegion(e.image, mask: Array(e.result.attention[(s * plane)..<((s + 1) * plane)])) }
        })
        grid.columnTitles = ["input", "dVAE", "decoded", "slots"] + (0..<slots).map { "slot \($0)" }
        grid.legend = SlotOverlay.legend(slots: slots)
        grid.scale = scale([first.image])
        return try grid.figure()
    }

    /// The first `most` samples, `perRow` to a row.
    public static func samples(_ images: [RGBImage], title: String, perRow: Int = 8, most: Int = 64) throws -> RGBImage {
        let shown = Array(images.prefix(most))
        var grid = LabelledGrid(title: title, cells: stride(from: 0, to: shown.count, by: perRow).map {
            Array(shown[$0..<min(shown.count, $0 + perRow)])
        })
        grid.scale = scale(shown)
        return try grid.figure()
    }

    /// A row per block (named with its factor, accuracy and chance), a column per code: the traversal tile, captioned with the
    /// value the code most often means ("–" for a code never seen).
    public static func codeLegend(_ legend: CodeLegend, tiles: [[RGBImage]]) throws -> RGBImage {
        guard tiles.count == legend.blocks.count else {
            throw PlotError("\(tiles.count) rows of tiles for a legend of \(legend.blocks.count) blocks")
        }
        var grid = LabelledGrid(title: "code legend: each code's decoded edit of one object, and the value it most often means",
                                cells: tiles)
        // With the accuracy against chance: a block that holds no factor still gets its likeliest one.
        grid.rowTitles = legend.blocks.map { String(format: "block %d: %@ %.2f (chance %.2f)", $0.block, $0.factor, $0.accuracy, $0.chance) }
        grid.columnTitles = (0..<(tiles.map(\.count).max() ?? 0)).map { "\($0)" }
        grid.captions = legend.blocks.map { $0.codes.map { $0.value ?? "–" } }
        grid.scale = scale(tiles.first ?? [])
        return try grid.figure()
    }

    /// Writes every picture `evaluation` has into `folder`; returns the file names written.
    public static func write(_ evaluation: Evaluation, to folder: URL) throws -> [String] {
        var written: [String] = []
        func save(_ image: RGBImage, _ name: String) throws {
            try PNG.write(image, to: folder.appendingPathComponent(name))
            written.append(name)
        }
        try save(try reconstructions(evaluation.examples), "reconstructions.png")
        if !evaluation.samples.isEmpty {
            let r = evaluation.report
            let title = String(format: "prior samples (prior temperature %g%@)", r.priorTemperature ?? 1,
                               r.priorTopK.map { ", top-k \($0)" } ?? "")
            try save(try samples(evaluation.samples, title: title), "samples.png")
        }
        written += try writeReportFigures(ReportFigures(evaluation.report), to: folder)
        if let legend = evaluation.codeLegend, let tiles = evaluation.legendTiles {
            try save(try codeLegend(legend, tiles: tiles), "code-legend.png")
        }
        return written
    }

    /// Writes the charts of a report (code usage; the factor × block heat map where measured).
    public static func writeReportFigures(_ report: ReportFigures, to folder: URL) throws -> [String] {
        try PNG.write(try CodeUsageChart.figure(report.codeUsage), to: folder.appendingPathComponent("code-usage.png"))
        guard let alignment = report.factorAlignment else { return ["code-usage.png"] }
        try PNG.write(try FactorHeatMap.figure(alignment), to: folder.appendingPathComponent("factor-blocks.png"))
        return ["code-usage.png", "factor-blocks.png"]
    }
}

/// The parts of report.json the charts draw, read back from the file.
public struct ReportFigures: Decodable, Sendable {
    public var codeUsage: [BlockUsage]
    public var factorAlignment: FactorAlignmentReport?

    public init(_ report: EvaluationReport) { (codeUsage, factorAlignment) = (report.codeUsage, report.factorAlignment) }

    /// Reads an evaluation's report.json.
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw PlotError("cannot read \(url.path)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { self = try decoder.decode(ReportFigures.self, from: data) } catch {
            throw PlotError("\(url.path) is not an evaluation report: \(error)")
        }
    }
}
