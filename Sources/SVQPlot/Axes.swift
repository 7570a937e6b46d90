// A chart's plotting area: data ranges mapped onto a rectangle of the canvas (linear, or logarithmic for
// values spanning decades, as a loss does), with a frame, round-numbered ticks and a title.

import Foundation

/// A data range mapped onto [0, 1].
struct AxisScale: Equatable {
    var low: Double
    var high: Double
    var logarithmic = false

    /// The range of the finite `values` (positive ones on a log scale), widened when it is a single point.
    init(covering values: [Double], logarithmic: Bool = false, includingZero: Bool = false) {
        let usable = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        var low = usable.min() ?? 0, high = usable.max() ?? 1
        if includingZero && !logarithmic { (low, high) = (min(low, 0), max(high, 0)) }
        if low == high {
            if logarithmic { (low, high) = (low / 2, high * 2) } else { (low, high) = (low - 0.5, high + 0.5) }
        }
        (self.low, self.high, self.logarithmic) = (low, high, logarithmic)
    }

    /// Where `v` falls, 0 at `low` and 1 at `high` (NaN for what a log scale cannot show).
    func fraction(_ v: Double) -> Double {
        if logarithmic { return v > 0 ? (log10(v) - log10(low)) / (log10(high) - log10(low)) : .nan }
        return (v - low) / (high - low)
    }

    /// Round values inside the range to label: 1-2-5 steps, about `count` of them (powers of ten on a log
    /// scale, with 2 and 5 between them when the range spans less than two decades).
    func ticks(count: Int = 5) -> [Double] {
        if logarithmic {
            let (a, b) = (Int(floor(log10(low))), Int(ceil(log10(high))))
            let multiples: [Double] = b - a <= 2 ? [1, 2, 5] : [1]
            return (a...b).flatMap { e in multiples.map { $0 * pow(10, Double(e)) } }.filter { $0 >= low && $0 <= high }
        }
        let raw = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var t = ceil(low / step) * step
        while t <= high + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }
}

/// A tick label: short, without trailing zeros.
func tickLabel(_ v: Double) -> String {
    let a = abs(v)
    if a >= 1e6 { return String(format: "%gM", v / 1e6) }
    if a >= 1000 { return String(format: "%gk", v / 1000) }
    if a != 0 && a < 1e-3 { return String(format: "%.0e", v) }
    var s = String(format: "%.3f", v)
    while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
    return s
}

/// A chart rectangle on a canvas with its two scales.
struct Axes {
    var x: Double, y: Double, width: Double, height: Double
    var xScale: AxisScale
    var yScale: AxisScale

    func point(_ u: Double, _ v: Double) -> (x: Double, y: Double) {
        (x + xScale.fraction(u) * width, y + height - yScale.fraction(v) * height)
    }

    /// The frame, light grid lines at the ticks, tick labels on both axes, and `title` above.
    func drawFrame(on canvas: Canvas, title: String, xLabel: String? = nil, xTicks: Bool = true) {
        canvas.fill(x: x, y: y, width: width, height: height, colour: Colour(0.97, 0.97, 0.97))
        for t in yScale.ticks() {
            let p = point(xScale.low, t)
            canvas.fill(x: x, y: p.y.rounded(), width: width, height: 1, colour: .lightGrey)
            canvas.text(tickLabel(t), x: x - 4, y: p.y + 4, size: 10, colour: .grey, anchor: .right)
        }
        if xTicks {
            for t in xScale.ticks() {
                let p = point(t, yScale.low)
                canvas.fill(x: p.x.rounded(), y: y, width: 1, height: height, colour: .lightGrey)
                canvas.text(tickLabel(t), x: p.x, y: y + height + 13, size: 10, colour: .grey, anchor: .centre)
            }
        }
        canvas.stroke(x: x, y: y, width: width, height: height, colour: .grey)
        canvas.text(title, x: x, y: y - 7, size: 12, bold: true)
        if let xLabel { canvas.text(xLabel, x: x + width, y: y + height + 26, size: 10, colour: .grey, anchor: .right) }
    }
}
