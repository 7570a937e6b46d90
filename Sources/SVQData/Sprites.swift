// The 2D Sprites generator (after the SVQ paper, §5): 3–4 objects of 12 shapes and 7 colours on a black
// (or dim textured) background. Scene i is a pure function of (options, i): it draws from the Philox stream
// `RandomGenerator(seed: options.seed, stream: i)`, so scenes can be made in any order on any threads.
//
// Per scene, in this order: the object count (uniform in min...max); the attributes (by variant, below);
// the layout — each object's size (uniform integer in the size range) and top-left corner (uniform with the
// box inside the image), redrawn until its box is at least `SpriteOptions.minimumGap` px from every earlier
// box (200 tries per object; after that the whole layout is redrawn, up to 100 times); then the background
// texture, if any. Shapes are anti-aliased with 4×4 samples per pixel.
//
// Odd-one-out attributes: the odd property (shape or colour) is drawn uniformly. Its values follow a
// partition of the n objects with exactly one part equal to 1 and the rest ≥ 2 (n = 3: {2,1}; n = 4: {3,1});
// the other property follows a partition into parts ≥ 2 (n = 3: {3}; n = 4: {4} or {2,2}); each partition is
// drawn uniformly among those with no more parts than available values, the parts get distinct values drawn
// uniformly, and each property's value list is shuffled on its own, which also randomises object order.

import Foundation
import SVQEngine

/// One generated image with its ground truth.
public struct SpriteSample: Sendable {
    public let image: RGBImage
    public let scene: SpriteScene
}

public struct SpriteGenerator: Sendable {
    public let options: SpriteOptions
    /// Anti-aliased coverage of every shape at every allowed size: `coverage[shape][size − minObjectSize]`.
    private let coverage: [[[Float]]]

    public init(options: SpriteOptions) throws {
        try options.validate()
        self.options = options
        coverage = SpriteShape.allCases.prefix(options.shapes).map { shape in
            (options.minObjectSize...options.maxObjectSize).map { shape.coverage(size: $0) }
        }
    }

    /// Scene `index` of the dataset.
    public func sample(_ index: Int) throws -> SpriteSample {
        var rng = RandomGenerator(seed: options.seed, stream: UInt64(index))
        let count = options.minObjects + rng.nextInt(below: options.maxObjects - options.minObjects + 1)
        let (shapes, colours) = options.variant == .random
            ? randomAttributes(count, &rng)
            : oddOneOutAttributes(count, &rng)
        guard let boxes = layout(count, &rng) else { throw SpriteError.layoutFailed(index: index) }
        let background = options.background == .textured ? Texture(&rng) : nil
        let (image, labels) = render(shapes: shapes, colours: colours, boxes: boxes, background: background)
        let objects = boxes.indices.map { k in describe(shape: shapes[k], colour: colours[k], box: boxes[k]) }
        let scene = SpriteScene(
            index: index, width: options.imageSize, height: options.imageSize, objects: objects,
            oddOneOut: options.variant == .oddOneOut ? OddOneOut.answer(shapes: shapes, colours: colours) : nil,
            mask: ObjectIndexMap(labels: labels, width: options.imageSize, height: options.imageSize))
        return SpriteSample(image: image, scene: scene)
    }

    /// Scenes `range`, computed on `threads` threads (the result does not depend on the thread count).
    public func samples(_ range: Range<Int>, threads: Int = Engine.threadCount) throws -> [SpriteSample] {
        try parallelMap(range.count, threads: threads) { try sample(range.lowerBound + $0) }
    }

    // MARK: Attributes

    private func randomAttributes(_ n: Int, _ rng: inout RandomGenerator) -> ([Int], [Int]) {
        var shapes: [Int] = [], colours: [Int] = []
        for _ in 0..<n {
            shapes.append(rng.nextInt(below: options.shapes))
            colours.append(rng.nextInt(below: options.colours))
        }
        return (shapes, colours)
    }

    private func oddOneOutAttributes(_ n: Int, _ rng: inout RandomGenerator) -> ([Int], [Int]) {
        let oddIsShape = rng.nextInt(below: 2) == 0
        let oddChoices = oddIsShape ? options.shapes : options.colours
        let otherChoices = oddIsShape ? options.colours : options.shapes
        // {1} plus a partition of n − 1 into parts ≥ 2: exactly one singleton.
        let oddValues = values(following: partitions(of: n - 1, minimumPart: 2).map { $0 + [1] },
                               choices: oddChoices, n: n, &rng)
        let otherValues = values(following: partitions(of: n, minimumPart: 2), choices: otherChoices, n: n, &rng)
        return oddIsShape ? (oddValues, otherValues) : (otherValues, oddValues)
    }

    /// A value per object: a uniformly drawn feasible partition, distinct values for its parts, shuffled.
    private func values(following allPartitions: [[Int]], choices: Int, n: Int,
                        _ rng: inout RandomGenerator) -> [Int] {
        let feasible = allPartitions.filter { $0.count <= choices }
        let parts = feasible[rng.nextInt(below: feasible.count)]
        let distinct = rng.permutation(choices).prefix(parts.count)
        let list = zip(parts, distinct).flatMap { part, value in Array(repeating: value, count: part) }
        return rng.permutation(n).map { list[$0] }
    }

    // MARK: Layout

    /// A drawing box: top-left corner and side.
    struct Box { let x, y, size: Int }

    private func layout(_ n: Int, _ rng: inout RandomGenerator) -> [Box]? {
        for _ in 0..<100 {
            var boxes: [Box] = []
            for _ in 0..<n {
                guard let box = place(avoiding: boxes, &rng) else { break }
                boxes.append(box)
            }
            if boxes.count == n { return boxes }
        }
        return nil
    }

    private func place(avoiding placed: [Box], _ rng: inout RandomGenerator) -> Box? {
        let gap = SpriteOptions.minimumGap
        for _ in 0..<200 {
            let size = options.minObjectSize + rng.nextInt(below: options.maxObjectSize - options.minObjectSize + 1)
            let box = Box(x: rng.nextInt(below: options.imageSize - size + 1),
                          y: rng.nextInt(below: options.imageSize - size + 1), size: size)
            let clear = placed.allSatisfy { other in
                box.x + box.size + gap <= other.x || other.x + other.size + gap <= box.x ||
                    box.y + box.size + gap <= other.y || other.y + other.size + gap <= box.y
            }
            if clear { return box }
        }
        return nil
    }

    // MARK: Rendering

    /// The image and its row-major object-index labels.
    private func render(shapes: [Int], colours: [Int], boxes: [Box], background: Texture?) -> (RGBImage, [UInt8]) {
        let side = options.imageSize
        var canvas = background?.render(side: side) ?? [Float](repeating: 0, count: 3 * side * side)
        var labels = [UInt8](repeating: 0, count: side * side)
        for (k, box) in boxes.enumerated() {
            let cover = coverage[shapes[k]][box.size - options.minObjectSize]
            let rgb = SpritePalette.colours[colours[k]].rgb.map { Float($0) / 255 }
            for row in 0..<box.size {
                for column in 0..<box.size {
                    let c = cover[row * box.size + column]
                    guard c > 0 else { continue }
                    let p = (box.y + row) * side + box.x + column
                    for ch in 0..<3 { canvas[3 * p + ch] = canvas[3 * p + ch] * (1 - c) + rgb[ch] * c }
                    if c >= 0.5 { labels[p] = UInt8(k + 1) }
                }
            }
        }
        return (RGBImage(width: side, height: side, pixels: canvas.map(quantize)), labels)
    }

    private func describe(shape: Int, colour: Int, box: Box) -> SpriteObject {
        let centerX = Double(box.x) + Double(box.size) / 2, centerY = Double(box.y) + Double(box.size) / 2
        let side = Double(options.imageSize)
        let sizeSpan = options.maxObjectSize - options.minObjectSize + 1
        return SpriteObject(
            shape: shape, shapeName: SpriteShape.allCases[shape].name,
            colour: colour, colourName: SpritePalette.colours[colour].name,
            x: box.x, y: box.y, size: box.size, centerX: centerX, centerY: centerY,
            xBin: min(3, Int(centerX / side * 4)), yBin: min(3, Int(centerY / side * 4)),
            sizeBin: (box.size - options.minObjectSize) * 3 / sizeSpan)
    }
}

/// All partitions of `n` into parts ≥ `minimumPart`, parts in non-increasing order.
func partitions(of n: Int, minimumPart: Int, largest: Int? = nil) -> [[Int]] {
    if n == 0 { return [[]] }
    var out: [[Int]] = []
    let top = min(n, largest ?? n)
    if top >= minimumPart {
        for first in stride(from: top, through: minimumPart, by: -1) {
            out += partitions(of: n - first, minimumPart: minimumPart, largest: first).map { [first] + $0 }
        }
    }
    return out
}

/// The textured background: three sinusoidal gratings in dim colours, summed. Each grating's colour has
/// channels below 0.35 / 3, so no background channel exceeds 0.35 and objects (channels 0 or 1) stay distinct.
struct Texture {
    struct Grating { let colour: [Float]; let fx, fy, phase: Float }
    let gratings: [Grating]

    init(_ rng: inout RandomGenerator) {
        gratings = (0..<3).map { _ in
            let colour = (0..<3).map { _ in rng.nextUniform() * 0.35 / 3 }
            let angle = rng.nextUniform() * 2 * .pi
            let cycles = 1 + 3 * rng.nextUniform()            // 1 to 4 periods across the image: smooth
            return Grating(colour: colour, fx: cycles * cosf(angle), fy: cycles * sinf(angle),
                           phase: rng.nextUniform() * 2 * .pi)
        }
    }

    /// Interleaved RGB floats for a side×side image, sampled at pixel centres.
    func render(side: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * side * side)
        for y in 0..<side {
            for x in 0..<side {
                let (u, v) = ((Float(x) + 0.5) / Float(side), (Float(y) + 0.5) / Float(side))
                for g in gratings {
                    let wave = 0.5 + 0.5 * sinf(2 * .pi * (g.fx * u + g.fy * v) + g.phase)
                    for ch in 0..<3 { out[3 * (y * side + x) + ch] += g.colour[ch] * wave }
                }
            }
        }
        return out
    }
}
