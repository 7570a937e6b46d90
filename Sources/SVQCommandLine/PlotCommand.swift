// `svq plot`: pictures of a training run (metrics.csv) or an evaluation (report.json), drawn by SVQPlot.

import ArgumentParser
import Foundation
import SVQData
import SVQPlot

package struct PlotCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a training run's curves or an evaluation's charts as PNG files.",
        discussion: """
        RUN is a run folder of `svq train` / `svq train-prior` (metrics.csv, and validation.csv drawn over it \
        when present: writes curves.png), an output folder of `svq eval` (report.json: writes code-usage.png \
        and factor-blocks.png), or one metrics CSV file (writes NAME.png beside it). `svq train` and `svq eval` \
        write these pictures themselves; this redraws them, e.g. while a run is still going.
        """)

    @Argument(help: ArgumentHelp("A run folder, an eval output folder, or a metrics CSV file.", valueName: "run")) var path: String
    @Option(help: "Folder to write the pictures to (default: RUN's own folder).") var out: String?

    package func run() throws {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw PlotError("\(path) does not exist")
        }
        let outFolder = out.map { URL(fileURLWithPath: $0) } ?? (isFolder.boolValue ? url : url.deletingLastPathComponent())
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
        var written: [String] = []
        if !isFolder.boolValue {
            let name = url.deletingPathExtension().lastPathComponent + ".png"
            try PNG.write(try TrainingCurves.figure(run: url), to: outFolder.appendingPathComponent(name))
            written.append(name)
        } else {
            let metrics = url.appendingPathComponent("metrics.csv"), report = url.appendingPathComponent("report.json")
            let hasMetrics = FileManager.default.fileExists(atPath: metrics.path)
            let hasReport = FileManager.default.fileExists(atPath: report.path)
            guard hasMetrics || hasReport else { throw PlotError("\(path) has neither a metrics.csv nor a report.json") }
            if hasMetrics {
                try PNG.write(try TrainingCurves.figure(run: url), to: outFolder.appendingPathComponent("curves.png"))
                written.append("curves.png")
            }
            if hasReport { written += try EvaluationFigures.writeReportFigures(ReportFigures(contentsOf: report), to: outFolder) }
        }
        print("wrote " + written.map { outFolder.appendingPathComponent($0).path }.joined(separator: ", "))
    }
}

/// Draws a run folder's curves.png after training stopped; a failure to draw is reported, not fatal, since
/// the run itself succeeded.
func writeCurves(of run: URL) {
    do {
        try PNG.write(try TrainingCurves.figure(run: run), to: run.appendingPathComponent("curves.png"))
        print("wrote \(run.appendingPathComponent("curves.png").path)")
    } catch {
        FileHandle.standardError.write(Data("warning: could not draw the training curves: \(error)\n".utf8))
    }
}
