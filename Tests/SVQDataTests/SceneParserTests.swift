import SVQData
import SVQEngine
import XCTest

final class SceneParserTests: XCTestCase {
    let parser = SceneParser()

    func testHandDrawnSquareAndNoise() {
        // A red 16 px square at (10, 20), drawn here rather than by the generator, and a 2×2 white speck.
        var image = RGBImage(width: 64, height: 64)
        for y in 20..<36 { for x in 10..<26 { image.setPixel(x: x, y: y, (255, 0, 0)) } }
        for y in 50..<52 { for x in 50..<52 { image.setPixel(x: x, y: y, (255, 255, 255)) } }
        let objects = parser.parse(image)
        XCTAssertEqual(objects.count, 1)
        XCTAssertEqual(objects.first?.shapeName, "square")
        XCTAssertEqual(objects.first?.colourName, "red")
        XCTAssertEqual(objects.first.map { [$0.x, $0.y, $0.size] }, [10, 20, 16])
        XCTAssertEqual(objects.first?.confidence, 1)
        XCTAssertEqual(parser.parse(RGBImage(width: 64, height: 64)), [])
    }

    func testRecoversCleanScenes() throws {
        let accuracy = try parseAccuracy(count: 200, seed: 1) { $0 }
        XCTAssertGreaterThanOrEqual(accuracy.objects, 0.98, accuracy.report)
        XCTAssertGreaterThanOrEqual(accuracy.counts, 0.98, accuracy.report)
        print("parser, clean scenes: \(accuracy.report)")
    }

    func testRobustToBlurAndNoise() throws {
        var rng = RandomGenerator(seed: 99)
        let accuracy = try parseAccuracy(count: 200, seed: 2) { image in
            let blurred = boxBlur3x3(image.tensor())
            let noisy = blurred.scalars.enumerated().map { $1 + 0.05 * (rng.normal([1]).item()) }
            return RGBImage(tensor: Tensor(noisy, shape: blurred.shape))
        }
        XCTAssertGreaterThanOrEqual(accuracy.objects, 0.90, accuracy.report)
        XCTAssertGreaterThanOrEqual(accuracy.counts, 0.90, accuracy.report)
        print("parser, 3×3 blur + noise σ = 0.05: \(accuracy.report)")
    }

    /// Parses `count` random-variant scenes after `distort`; an object counts as recovered when the parsed
    /// object nearest to its centre (within 2 px) has its shape and colour.
    private func parseAccuracy(count: Int, seed: UInt64, distort: (RGBImage) -> RGBImage) throws
        -> (objects: Double, counts: Double, report: String) {
        let generator = try SpriteGenerator(options: SpriteOptions(variant: .random, seed: seed))
        var recovered = 0, total = 0, rightCounts = 0
        var confusions: [String: Int] = [:]
        for sample in try generator.samples(0..<count) {
            let parsed = parser.parse(distort(sample.image))
            if parsed.count == sample.scene.objects.count { rightCounts += 1 }
            for truth in sample.scene.objects {
                total += 1
                let nearest = parsed.min { distance($0, truth) < distance($1, truth) }
                if let found = nearest, distance(found, truth) <= 2, found.shape == truth.shape, found.colour == truth.colour {
                    recovered += 1
                } else {
                    confusions["\(truth.colourName) \(truth.shapeName) → \(nearest.map { "\($0.colourName) \($0.shapeName)" } ?? "nothing")", default: 0] += 1
                }
            }
        }
        let objects = Double(recovered) / Double(total), counts = Double(rightCounts) / Double(count)
        let report = String(format: "objects %.1f%% (%d/%d), object counts %.1f%% of %d scenes; misses: ",
                            100 * objects, recovered, total, 100 * counts, count) + "\(confusions)"
        return (objects, counts, report)
    }

    private func distance(_ p: ParsedObject, _ t: SpriteObject) -> Double {
        ((p.centerX - t.centerX) * (p.centerX - t.centerX) + (p.centerY - t.centerY) * (p.centerY - t.centerY)).squareRoot()
    }

    /// Mean over each pixel's 3×3 neighbourhood, edges clamped, per channel of a [3, H, W] tensor.
    private func boxBlur3x3(_ t: Tensor) -> Tensor {
        let (h, w) = (t.shape[1], t.shape[2])
        let out = Tensor(zeros: t.shape)
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    var sum: Float = 0
                    for dy in -1...1 {
                        for dx in -1...1 {
                            sum += t.data[(c * h + min(max(y + dy, 0), h - 1)) * w + min(max(x + dx, 0), w - 1)]
                        }
                    }
                    out.data[(c * h + y) * w + x] = sum / 9
                }
            }
        }
        return out
    }
}
