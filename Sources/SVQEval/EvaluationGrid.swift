// The pictures of an evaluation: held-out images beside their reconstructions and slot regions, and pages
// of prior samples.

import SVQData

public enum EvaluationGrid {
    /// Per row: input | dVAE reconstruction | decoded from the codes | each of the `slots` slots' regions,
    /// for the first `rows` images.
    /// Images the reconstruction pictures show.
    public static let rows = 8

    public static func reconstructions(_ images: [RGBImage], _ results: [ImageResult], slots: Int, rows: Int = rows) -> RGBImage {
        let grid = zip(images, results).prefix(rows).map { image, r in
            let plane = image.width * image.height
            return [image, r.dvaeReconstruction, r.decoded] + (0..<slots).map { s in
                slotRegion(image, mask: Array(r.attention[(s * plane)..<((s + 1) * plane)]))
            }
        }
        return ImageGrid.compose(rows: grid)
    }

    /// The first `most` images, `perRow` to a row.
    public static func samples(_ images: [RGBImage], perRow: Int = 8, most: Int = 64) -> RGBImage {
        let shown = Array(images.prefix(most))
        return ImageGrid.compose(rows: stride(from: 0, to: shown.count, by: perRow).map {
            Array(shown[$0..<min(shown.count, $0 + perRow)])
        })
    }

    /// The image where the slot attends, grey where it does not: on the data's black backgrounds a darkened
    /// image (`ImageGrid.maskOverlay`) would hide where a slot's region ends.
    public static func slotRegion(_ image: RGBImage, mask: [Float]) -> RGBImage {
        var out = image
        for p in mask.indices {
            let m = min(max(mask[p], 0), 1)
            for ch in 0..<3 {
                let v = m * Float(image.pixels[3 * p + ch]) + (1 - m) * 96
                out.pixels[3 * p + ch] = UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return out
    }
}
