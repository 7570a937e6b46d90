// Picture grids for reports: inputs | reconstructions | per-slot masks side by side, or pages of samples.

public enum ImageGrid {
    /// The images laid out in rows, each cell as wide as the widest image in its column and as tall as the
    /// tallest in its row (images sit at their cell's top-left), with `padding` px of `background` between
    /// cells and around the border. Rows may have different lengths.
    public static func compose(rows: [[RGBImage]], padding: Int = 2,
                               background: (UInt8, UInt8, UInt8) = (128, 128, 128)) -> RGBImage {
        precondition(padding >= 0, "negative padding")
        let columnCount = rows.map(\.count).max() ?? 0
        let columnWidths = (0..<columnCount).map { c in rows.compactMap { c < $0.count ? $0[c].width : nil }.max()! }
        let rowHeights = rows.map { $0.map(\.height).max() ?? 0 }
        let width = columnWidths.reduce(padding) { $0 + $1 + padding }
        let height = rowHeights.reduce(padding) { $0 + $1 + padding }
        var canvas = RGBImage(width: width, height: height, fill: background)
        var top = padding
        for (r, row) in rows.enumerated() {
            var left = padding
            for (c, image) in row.enumerated() {
                paste(image, into: &canvas, x: left, y: top)
                left += columnWidths[c] + padding
            }
            top += rowHeights[r] + padding
        }
        return canvas
    }

    /// The image where `mask` is 1, fading to a quarter of its brightness where `mask` is 0 — shows what a
    /// slot attends to. `mask` is height·width values in [0, 1], row-major (values outside are clamped).
    public static func maskOverlay(image: RGBImage, mask: [Float]) -> RGBImage {
        precondition(mask.count == image.width * image.height,
                     "mask of \(mask.count) values for a \(image.width)×\(image.height) image")
        var out = image
        for p in mask.indices {
            let weight = 0.25 + 0.75 * min(max(mask[p], 0), 1)
            for c in 0..<3 {
                out.pixels[3 * p + c] = quantize(Float(image.pixels[3 * p + c]) / 255 * weight)
            }
        }
        return out
    }

    private static func paste(_ image: RGBImage, into canvas: inout RGBImage, x: Int, y: Int) {
        for row in 0..<image.height {
            let source = 3 * row * image.width
            let target = 3 * ((y + row) * canvas.width + x)
            canvas.pixels.replaceSubrange(target..<(target + 3 * image.width),
                                          with: image.pixels[source..<(source + 3 * image.width)])
        }
    }
}
