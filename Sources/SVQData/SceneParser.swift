// Reads a 2D Sprites image back into objects, for judging generated or reconstructed scenes (e.g. whether
// sampled scenes obey the odd-one-out rule). Black backgrounds only: the textured background is not modelled.
//
// 1. Each pixel whose brightest channel reaches `brightness` is an object pixel; its colour is the palette
//    colour nearest to its hue (the pixel divided by its brightest channel). Palette colours are RGB-cube
//    corners, so an anti-aliased or blurred edge — the colour scaled towards black — keeps its hue.
// 2. Object pixels of one colour form 8-connected components; components under `minimumPixels` are noise.
// 3. The shape is the template that best matches the component: templates are the shapes' 4×4 supersampled
//    coverage (the generator's own rasterisation), tried at sides max(w, h) − 1 … max(w, h) + 3 of the
//    component's bounding box and placed with their own ≥ ½-coverage bounding box on the component's, shifted
//    by up to ±`slack` px; the score is a soft IoU against the component's brightness (see `fit`).
//    The wide search matters for blurred input, where thin parts fall below the threshold and the bounding box
//    shrinks: with 3×3 blur and noise, a search of −1…+2 sizes and ±1 px took about one
//    star in eight for a pentagon (1% of all objects); this search recovered every object in the tests.

/// An object found by `SceneParser`.
public struct ParsedObject: Equatable, Sendable {
    public let shape: Int
    public let colour: Int
    /// The best-fitting drawing box: top-left corner and side, and its centre.
    public let x: Int
    public let y: Int
    public let size: Int
    public var centerX: Double { Double(x) + Double(size) / 2 }
    public var centerY: Double { Double(y) + Double(size) / 2 }
    /// Soft IoU of the best template with the component (1 = a perfect fit).
    public let confidence: Double
    public let pixelCount: Int

    public init(shape: Int, colour: Int, x: Int, y: Int, size: Int, confidence: Double, pixelCount: Int) {
        (self.shape, self.colour, self.x, self.y, self.size) = (shape, colour, x, y, size)
        (self.confidence, self.pixelCount) = (confidence, pixelCount)
    }

    public var shapeName: String { SpriteShape.allCases[shape].name }
    public var colourName: String { SpritePalette.colours[colour].name }
}

/// Parses sprite images on a black background into objects (shape, colour, box); see the file comment.
public struct SceneParser: Sendable {
    public struct Options: Sendable {
        /// Shapes and colours to consider: the first k of each, as in `SpriteOptions`.
        public var shapes = SpriteShape.allCases.count
        public var colours = SpritePalette.colours.count
        /// Minimum brightest-channel value (in [0, 1]) of an object pixel; ½ matches the generator's masks.
        public var brightness: Float = 0.5
        /// Components with fewer pixels are dropped as noise.
        public var minimumPixels = 20
        /// Template placement search radius around the bounding-box alignment, in pixels.
        public var slack = 2
        /// Templates up to this size are precomputed; larger ones are made on demand.
        public var largestCachedSize = 32

        public init() {}
    }

    public let options: Options
    /// Templates per shape and size: `templates[shape][size]`.
    private let templates: [[Template]]

    public init(options: Options = Options()) {
        self.options = options
        templates = (0..<options.shapes).map { shape in
            (0...options.largestCachedSize).map { Template(shape: SpriteShape.allCases[shape], size: $0) }
        }
    }

    /// The objects in `image`, in raster order of their first pixel.
    public func parse(_ image: RGBImage) -> [ParsedObject] {
        let pixels = PixelColours(image, paletteSize: options.colours, floor: Self.evidenceFloor)
        let threshold = options.brightness
        let labels = pixels.brightness.indices.map { pixels.brightness[$0] >= threshold ? pixels.colour[$0] : 0 }
        var owner = [Int32](repeating: -1, count: labels.count)
        var seen = [Bool](repeating: false, count: labels.count)
        var components: [(colour: Int, pixels: [Int])] = []
        for start in labels.indices where labels[start] > 0 && !seen[start] {
            let component = self.component(from: start, labels: labels, width: image.width, seen: &seen)
            guard component.count >= options.minimumPixels else { continue }
            for p in component { owner[p] = Int32(components.count) }
            components.append((Int(labels[start]) - 1, component))
        }
        return components.enumerated().map { id, component in
            fit(component.pixels, colour: component.colour, id: Int32(id), owner: owner, pixels: pixels,
                width: image.width, height: image.height)
        }
    }

    /// Pixels dimmer than this carry no shape evidence (keeps background noise out of the sums).
    static let evidenceFloor: Float = 0.1

    /// The 8-connected pixels of `start`'s label reachable from it (marked in `seen`).
    private func component(from start: Int, labels: [UInt8], width: Int, seen: inout [Bool]) -> [Int] {
        let height = labels.count / width
        var pixels: [Int] = [], stack = [start]
        seen[start] = true
        while let p = stack.popLast() {
            pixels.append(p)
            let (x, y) = (p % width, p / width)
            for dy in -1...1 {
                for dx in -1...1 {
                    let (nx, ny) = (x + dx, y + dy)
                    guard nx >= 0, nx < width, ny >= 0, ny < height else { continue }
                    let q = ny * width + nx
                    if !seen[q] && labels[q] == labels[start] { seen[q] = true; stack.append(q) }
                }
            }
        }
        return pixels
    }

    /// The best template fit to one component. Scoring is a soft IoU, Σ min(b, t) / Σ max(b, t), between the
    /// template's coverage t and the evidence b: the brightness of pixels of the component's colour that belong
    /// to it or to no other component, including dim ones below the threshold. Using brightness rather than
    /// the thresholded component keeps thin parts (a star's points) that blur has dimmed below ½.
    private func fit(_ component: [Int], colour: Int, id: Int32, owner: [Int32], pixels: PixelColours,
                     width: Int, height: Int) -> ParsedObject {
        let xs = component.map { $0 % width }, ys = component.map { $0 / width }
        let (x0, y0, x1, y1) = (xs.min()!, ys.min()!, xs.max()!, ys.max()!)
        let extent = max(x1 - x0, y1 - y0) + 1
        let slack = options.slack
        let sizes = max(3, extent - 1)...(extent + 3)
        // Evidence is read over the area any candidate box can cover, copied into a grid (zero outside the
        // image) so that the scoring loop needs no bounds checks.
        let lead = (0..<options.shapes).flatMap { shape in sizes.map { template(shape, $0).lead } }.max()! + slack
        let (gx, gy) = (x0 - lead, y0 - lead)                  // grid origin in image coordinates
        let gridWidth = x1 + slack + sizes.upperBound - gx, gridHeight = y1 + slack + sizes.upperBound - gy
        var grid = [Float](repeating: 0, count: gridWidth * gridHeight)
        var evidenceTotal: Float = 0
        for y in max(0, gy)..<min(height, gy + gridHeight) {
            for x in max(0, gx)..<min(width, gx + gridWidth) {
                let p = y * width + x
                guard Int(pixels.colour[p]) == colour + 1, owner[p] == id || owner[p] < 0 else { continue }
                grid[(y - gy) * gridWidth + x - gx] = pixels.brightness[p]
                evidenceTotal += pixels.brightness[p]
            }
        }

        var best = ParsedObject(shape: 0, colour: colour, x: x0, y: y0, size: extent, confidence: -1,
                                pixelCount: component.count)
        for shape in 0..<options.shapes {
            for size in sizes {
                let template = self.template(shape, size)
                for dy in -slack...slack {
                    for dx in -slack...slack {
                        // Put the template's own bounding box on the component's, then shift.
                        let (bx, by) = (x0 - template.minX + dx, y0 - template.minY + dy)
                        var overlap: Float = 0, excess: Float = 0   // Σ min(b, t) and Σ (max(b, t) − b)
                        for row in 0..<size {
                            let line = (by + row - gy) * gridWidth + bx - gx
                            for column in 0..<size {
                                let t = template.coverage[row * size + column], b = grid[line + column]
                                overlap += min(b, t)
                                excess += max(t - b, 0)
                            }
                        }
                        let iou = Double(overlap / (evidenceTotal + excess))
                        if iou > best.confidence {
                            best = ParsedObject(shape: shape, colour: colour, x: bx, y: by, size: size,
                                                confidence: iou, pixelCount: component.count)
                        }
                    }
                }
            }
        }
        return best
    }

    private func template(_ shape: Int, _ size: Int) -> Template {
        size <= options.largestCachedSize ? templates[shape][size]
            : Template(shape: SpriteShape.allCases[shape], size: size)
    }
}

/// Per pixel: brightness (brightest channel in [0, 1]) and colour (0 when dimmer than `floor`, else 1 + the
/// index of the palette colour nearest to the pixel's hue, i.e. the pixel divided by its brightest channel).
private struct PixelColours {
    var brightness: [Float]
    var colour: [UInt8]

    init(_ image: RGBImage, paletteSize: Int, floor: Float) {
        let palette = SpritePalette.colours.prefix(paletteSize).map { $0.rgb.map { Float($0) / 255 } }
        let count = image.width * image.height
        brightness = [Float](repeating: 0, count: count)
        colour = [UInt8](repeating: 0, count: count)
        for p in 0..<count {
            let (r, g, b) = (Float(image.pixels[3 * p]), Float(image.pixels[3 * p + 1]), Float(image.pixels[3 * p + 2]))
            let peak = max(r, g, b)
            brightness[p] = peak / 255
            guard brightness[p] >= floor else { continue }
            var best = 0, bestDistance = Float.infinity
            for (c, rgb) in palette.enumerated() {
                let (dr, dg, db) = (r / peak - rgb[0], g / peak - rgb[1], b / peak - rgb[2])
                let d = dr * dr + dg * dg + db * db
                if d < bestDistance { (best, bestDistance) = (c, d) }
            }
            colour[p] = UInt8(best + 1)
        }
    }
}

/// A shape at one size: its coverage (row-major, size×size) and the top-left corner of the bounding box of
/// its pixels covered at least half (the part a thresholded component shows).
private struct Template: Sendable {
    let coverage: [Float]
    let minX: Int
    let minY: Int
    /// How far the box can start before the component's bounding box.
    var lead: Int { max(minX, minY) }

    init(shape: SpriteShape, size: Int) {
        let coverage = shape.coverage(size: size)
        let solid = coverage.indices.filter { coverage[$0] >= 0.5 }
        self.coverage = coverage
        minX = solid.map { $0 % size }.min() ?? 0
        minY = solid.map { $0 / size }.min() ?? 0
    }
}
