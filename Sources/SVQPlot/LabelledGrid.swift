// A grid of images with words on it: a title, column headings, row headings, a caption under each image and
// a legend of colour swatches. The reconstruction, sample and code-legend pictures are all this layout.

import SVQData

public struct LabelledGrid {
    public var title: String
    public var cells: [[RGBImage]]
    public var columnTitles: [String] = []
    public var rowTitles: [String] = []
    /// `captions[r][c]` under cell (r, c); rows or cells without one are left blank.
    public var captions: [[String]] = []
    public var legend: [(label: String, colour: Colour)] = []
    /// Each image pixel drawn as scale × scale pixels.
    public var scale = 1

    public init(title: String, cells: [[RGBImage]]) { (self.title, self.cells) = (title, cells) }

    static let padding = 4, titleHeight = 28, headingHeight = 18, captionHeight = 14, legendHeight = 22

    private var cellWidth: Int { (cells.flatMap { $0 }.map(\.width).max() ?? 0) * scale }
    private var cellHeight: Int { (cells.flatMap { $0 }.map(\.height).max() ?? 0) * scale }
    private var rowHeadingWidth: Int { rowTitles.isEmpty ? 0 : 8 + rowTitles.map { 7 * $0.count }.max()! }
    private var top: Int { Self.titleHeight + (legend.isEmpty ? 0 : Self.legendHeight) + (columnTitles.isEmpty ? 0 : Self.headingHeight) }
    private var rowPitch: Int { cellHeight + Self.padding + (captions.isEmpty ? 0 : Self.captionHeight) }

    /// The figure's size in pixels.
    public var size: (width: Int, height: Int) {
        let columns = cells.map(\.count).max() ?? 0
        return (max(rowHeadingWidth + Self.padding + columns * (cellWidth + Self.padding), 7 * title.count + 20),
                top + Self.padding + cells.count * rowPitch)
    }

    public func figure() throws -> RGBImage {
        guard !cells.isEmpty, cellWidth > 0 else { throw PlotError("no images for \"\(title)\"") }
        let (width, height) = size
        let canvas = try Canvas(width: width, height: height, background: Colour(0.96, 0.96, 0.96))
        canvas.text(title, x: 8, y: 19, size: 14, bold: true)
        var x = 8.0
        for entry in legend {
            canvas.fill(x: x, y: Double(Self.titleHeight) + 2, width: 12, height: 12, colour: entry.colour)
            canvas.text(entry.label, x: x + 16, y: Double(Self.titleHeight) + 12, size: 11)
            x += 16 + canvas.textWidth(entry.label, size: 11) + 14
        }
        let left = rowHeadingWidth + Self.padding
        for (c, heading) in columnTitles.enumerated() {
            canvas.text(heading, x: Double(left + c * (cellWidth + Self.padding) + cellWidth / 2), y: Double(top - 5),
                        size: 11, anchor: .centre, bold: true)
        }
        for (r, row) in cells.enumerated() {
            let y = top + Self.padding + r * rowPitch
            if r < rowTitles.count {
                canvas.text(rowTitles[r], x: Double(rowHeadingWidth), y: Double(y + cellHeight / 2 + 4), size: 11, anchor: .right, bold: true)
            }
            for (c, image) in row.enumerated() {
                let cx = left + c * (cellWidth + Self.padding)
                canvas.draw(image, x: cx, y: y, scale: scale)
                if r < captions.count, c < captions[r].count {
                    canvas.text(captions[r][c], x: Double(cx + cellWidth / 2), y: Double(y + cellHeight + 11), size: 9,
                                colour: Colour(0.2, 0.2, 0.2), anchor: .centre)
                }
            }
        }
        return try canvas.image()
    }
}
