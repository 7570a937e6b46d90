// The factor × block table of an evaluation as a heat map: a row per ground-truth factor, a column per block,
// each cell the majority-vote accuracy of that block's code for that factor, shaded by how far it rises
// from chance (the last column) towards 1. The best block of each factor is outlined.

import SVQData
import SVQEval

public enum FactorHeatMap {
    /// What the map shows: the factors (rows), the accuracy of each block (columns) and each factor's chance.
    public struct Table: Equatable, Sendable {
        public var factors: [String]
        public var accuracy: [[Double]]
        public var chance: [Double]
        public var bestBlock: [Int]
    }

    public static func table(_ report: FactorAlignmentReport) -> Table {
        Table(factors: report.factors.map(\.factor), accuracy: report.factors.map(\.blockAccuracy),
              chance: report.factors.map(\.chance), bestBlock: report.factors.map(\.bestBlock))
    }

    /// How strongly a cell is shaded, in [0, 1]: 0 at or below chance, 1 at accuracy 1.
    public static func strength(accuracy: Double, chance: Double) -> Double {
        guard chance < 1 else { return 0 }
        return min(max((accuracy - chance) / (1 - chance), 0), 1)
    }

    static let cell = (width: 70.0, height: 40.0), left = 80.0, top = 66.0

    public static func size(factors: Int, blocks: Int) -> (width: Int, height: Int) {
        (Int(left + cell.width * Double(blocks + 1) + 20), Int(top + cell.height * Double(factors) + 30))
    }

    public static func figure(_ report: FactorAlignmentReport) throws -> RGBImage {
        let t = table(report)
        let blocks = t.accuracy.first?.count ?? 0
        guard !t.factors.isEmpty, blocks > 0 else { throw PlotError("no factor alignment to plot") }
        let (width, height) = size(factors: t.factors.count, blocks: blocks)
        let canvas = try Canvas(width: width, height: height)
        canvas.text("factor × block accuracy", x: 10, y: 19, size: 14, bold: true)
        canvas.text(String(format: "%d objects, mean IoU %.2f", report.matched, report.meanIoU), x: 10, y: 36, size: 10, colour: .grey)
        for b in 0...blocks {
            canvas.text(b < blocks ? "block \(b)" : "chance", x: left + cell.width * (Double(b) + 0.5), y: top - 8,
                        size: 11, anchor: .centre, bold: b < blocks)
        }
        let shade = Colour(hex: 0x1f77b4)
        for (f, name) in t.factors.enumerated() {
            let y = top + cell.height * Double(f)
            canvas.text(name, x: left - 8, y: y + cell.height / 2 + 4, size: 11, anchor: .right, bold: true)
            for b in 0...blocks {
                let value = b < blocks ? t.accuracy[f][b] : t.chance[f]
                let s = b < blocks ? strength(accuracy: value, chance: t.chance[f]) : 0
                let colour = Colour(1 - s * (1 - shade.red), 1 - s * (1 - shade.green), 1 - s * (1 - shade.blue))
                let x = left + cell.width * Double(b)
                canvas.fill(x: x, y: y, width: cell.width, height: cell.height, colour: b < blocks ? colour : .lightGrey)
                canvas.stroke(x: x, y: y, width: cell.width + 1, height: cell.height + 1, colour: .white)
                if b == t.bestBlock[f] { canvas.stroke(x: x + 1, y: y + 1, width: cell.width - 2, height: cell.height - 2, colour: .black, lineWidth: 2) }
                canvas.text(String(format: "%.2f", value), x: x + cell.width / 2, y: y + cell.height / 2 + 5, size: 13,
                            colour: s > 0.6 ? .white : .black, anchor: .centre)
            }
        }
        canvas.text("shade: from chance (white) to 1 (blue); outlined: the factor's best block", x: 10, y: Double(height) - 10,
                    size: 10, colour: .grey)
        return try canvas.image()
    }
}
