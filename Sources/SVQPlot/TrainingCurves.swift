// Training curves: one panel per logged metric against the step, the held-out metric of the same name
// (validation.csv) drawn over it, a held-out metric without a training twin in a panel of its own.

import Foundation
import SVQData

/// One line of a panel.
public struct Curve: Equatable, Sendable {
    public var label: String
    public var steps: [Double]
    public var values: [Double]

    public init(label: String, steps: [Double], values: [Double]) { (self.label, self.steps, self.values) = (label, steps, values) }
}

/// One metric's panel.
public struct CurvePanel: Equatable, Sendable {
    public var title: String
    public var curves: [Curve]
    /// Drawn on a log scale: every value is positive and they span more than a decade (a loss falling from
    /// thousands to tens would otherwise be a vertical line and a flat one).
    public var logarithmic: Bool
}

public enum TrainingCurves {
    /// Panels of the metrics in file order (steps per second, a timing and not a result, is left out).
    public static func panels(metrics: MetricsTable, validation: MetricsTable? = nil) -> [CurvePanel] {
        var panels: [CurvePanel] = []
        for (name, values) in zip(metrics.names, metrics.values) where name != "steps_per_s" {
            var curves = [Curve(label: "train", steps: metrics.steps, values: values)]
            if let held = validation?.series(name) { curves.append(Curve(label: "held-out", steps: validation!.steps, values: held)) }
            panels.append(panel(name, curves))
        }
        if let validation {
            for (name, values) in zip(validation.names, validation.values) where !metrics.names.contains(name) {
                panels.append(panel("held-out " + name, [Curve(label: "held-out", steps: validation.steps, values: values)]))
            }
        }
        return panels
    }

    static func panel(_ title: String, _ curves: [Curve]) -> CurvePanel {
        let all = curves.flatMap(\.values).filter(\.isFinite)
        let positive = !all.isEmpty && all.allSatisfy { $0 > 0 }
        let logarithmic = positive && all.max()! / all.min()! > 10
        return CurvePanel(title: title, curves: curves, logarithmic: logarithmic)
    }

    /// The curves of a run folder (its metrics.csv, with validation.csv drawn over it when present) or of
    /// one metrics CSV file, titled with the run's path.
    public static func figure(run url: URL) throws -> RGBImage {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw PlotError("\(url.path) does not exist")
        }
        guard isFolder.boolValue else { return try figure(panels(metrics: MetricsTable(contentsOf: url)), title: url.relativePath) }
        let metrics = try MetricsTable(contentsOf: url.appendingPathComponent("metrics.csv"))
        let held = url.appendingPathComponent("validation.csv")
        let validation = FileManager.default.fileExists(atPath: held.path) ? try MetricsTable(contentsOf: held) : nil
        return try figure(panels(metrics: metrics, validation: validation), title: url.relativePath)
    }

    /// Panel size and columns of the figure.
    static let panelWidth = 380, panelHeight = 230, columns = 3
    static let margin = (left: 56.0, right: 16.0, top: 30.0, bottom: 38.0)

    /// The figure's size for `panelCount` panels.
    public static func size(panelCount: Int) -> (width: Int, height: Int) {
        let rows = max(1, (panelCount + columns - 1) / columns)
        return (panelWidth * min(max(panelCount, 1), columns), panelHeight * rows + 28)
    }

    /// The panels laid out `columns` to a row under `title`.
    public static func figure(_ panels: [CurvePanel], title: String) throws -> RGBImage {
        guard !panels.isEmpty else { throw PlotError("no metrics to plot") }
        let (width, height) = size(panelCount: panels.count)
        let canvas = try Canvas(width: width, height: height)
        canvas.text(title, x: 10, y: 19, size: 14, bold: true)
        for (i, panel) in panels.enumerated() {
            let (px, py) = (Double(i % columns * panelWidth), Double(28 + i / columns * panelHeight))
            let axes = Axes(x: px + margin.left, y: py + margin.top,
                            width: Double(panelWidth) - margin.left - margin.right,
                            height: Double(panelHeight) - margin.top - margin.bottom,
                            xScale: AxisScale(covering: panel.curves.flatMap(\.steps)),
                            yScale: AxisScale(covering: panel.curves.flatMap(\.values), logarithmic: panel.logarithmic))
            axes.drawFrame(on: canvas, title: panel.title + (panel.logarithmic ? " (log)" : ""), xLabel: "step")
            for (k, curve) in panel.curves.enumerated() {
                let colour = Colour.categorical[k % Colour.categorical.count]
                canvas.line(zip(curve.steps, curve.values).map { axes.point($0, $1) }, colour: colour,
                            lineWidth: k == 0 ? 1.2 : 2)
                if panel.curves.count > 1 {
                    let ly = axes.y + 14 + Double(k) * 14
                    canvas.fill(x: axes.x + axes.width - 80, y: ly - 5, width: 12, height: 3, colour: colour)
                    canvas.text(curve.label, x: axes.x + axes.width - 64, y: ly, size: 10)
                }
            }
        }
        return try canvas.image()
    }
}
