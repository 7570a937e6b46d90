// Code usage per block: for each block's codebook a bar per code, the share of the evaluated objects' codes
// that are that code, titled with the block's used fraction and perplexity. A dead code is a gap; a block
// that leans on a few codes shows a few tall bars.

import SVQData
import SVQEval

public enum CodeUsageChart {
    /// Each block's bars: code c's count over the block's total (all zero for a block with no codes).
    public static func shares(_ usage: [BlockUsage]) -> [[Double]] {
        usage.map { block in
            let total = Double(block.counts.reduce(0, +))
            return block.counts.map { total > 0 ? Double($0) / total : 0 }
        }
    }

    static let panelWidth = 420, panelHeight = 190, columns = 2

    public static func size(blocks: Int) -> (width: Int, height: Int) {
        let rows = max(1, (blocks + columns - 1) / columns)
        return (panelWidth * min(max(blocks, 1), columns), panelHeight * rows + 28)
    }

    public static func figure(_ usage: [BlockUsage], title: String = "code usage per block") throws -> RGBImage {
        guard !usage.isEmpty else { throw PlotError("no code usage to plot") }
        let (width, height) = size(blocks: usage.count)
        let canvas = try Canvas(width: width, height: height)
        canvas.text(title, x: 10, y: 19, size: 14, bold: true)
        for (i, (block, bars)) in zip(usage, shares(usage)).enumerated() {
            let (px, py) = (Double(i % columns * panelWidth), Double(28 + i / columns * panelHeight))
            let axes = Axes(x: px + 50, y: py + 30, width: Double(panelWidth) - 66, height: Double(panelHeight) - 66,
                            xScale: AxisScale(covering: [-0.5, Double(bars.count) - 0.5]),
                            yScale: AxisScale(covering: bars, includingZero: true))
            axes.drawFrame(on: canvas, title: String(format: "block %d: %.0f%% of %d codes used, perplexity %.1f",
                                                     block.block, block.usedFraction * 100, bars.count, block.perplexity),
                           xLabel: "code", xTicks: false)
            let slot = axes.width / Double(max(bars.count, 1))
            for (code, share) in bars.enumerated() {
                let top = axes.point(Double(code), share).y
                canvas.fill(x: axes.x + slot * Double(code) + 1, y: top, width: max(slot - 2, 1),
                            height: axes.y + axes.height - top, colour: Colour.categorical[block.block % Colour.categorical.count])
            }
            // Code numbers under the bars, as many as fit.
            let every = max(1, Int((24 / slot).rounded(.up)))
            for code in stride(from: 0, to: bars.count, by: every) {
                canvas.text("\(code)", x: axes.x + slot * (Double(code) + 0.5), y: axes.y + axes.height + 13,
                            size: 10, colour: .grey, anchor: .centre)
            }
        }
        return try canvas.image()
    }
}
