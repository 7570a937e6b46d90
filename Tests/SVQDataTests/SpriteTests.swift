import Foundation
import SVQData
import SVQEngine
import SVQTestSupport
import XCTest

final class SpriteTests: XCTestCase {
    func testShapeAndColourSets() {
        XCTAssertEqual(SpriteShape.allCases.count, 12)
        XCTAssertEqual(Set(SpriteShape.allCases.map(\.name)).count, 12)
        XCTAssertEqual(SpritePalette.names, ["red", "green", "blue", "yellow", "magenta", "cyan", "white"])
        XCTAssertEqual(Set(SpritePalette.colours.map(\.rgb)).count, 7)
    }

    func testShapeInsideTestsAtHandPickedPoints() {
        // (inside, outside) points per shape, in the [-1, 1]² box with v pointing down.
        let cases: [(SpriteShape, (Double, Double), (Double, Double))] = [
            (.square, (0.95, -0.95), (1.05, 0)),
            (.circle, (0.7, 0.7), (0.75, 0.75)),
            (.triangle, (0, -0.8), (-0.6, -0.5)),
            (.diamond, (0.45, 0.45), (0.55, 0.55)),
            (.plus, (0.9, 0.1), (0.5, 0.5)),
            (.cross, (0.8, -0.8), (0, 0.8)),
            (.star, (0, -0.9), (0, 0.9)),
            (.hourglass, (0.3, -0.9), (0.9, 0.1)),
            (.pentagon, (0, 0.5), (-0.9, 0.9)),
            (.heart, (-0.5, -0.9), (0, -0.9)),
            (.ring, (0.8, 0), (0, 0)),
            (.semicircle, (0, -0.9), (-0.9, -0.9)),
        ]
        for (shape, inside, outside) in cases {
            XCTAssertTrue(shape.contains(inside.0, inside.1), "\(shape.name) should contain \(inside)")
            XCTAssertFalse(shape.contains(outside.0, outside.1), "\(shape.name) should not contain \(outside)")
        }
    }

    func testShapesFillTheirBoxAndStayDistinctAt14Pixels() {
        let size = 14
        let masks = SpriteShape.allCases.map { $0.coverage(size: size).map { $0 >= 0.5 } }
        for shape in SpriteShape.allCases {
            let c = shape.coverage(size: 20)
            let top = (0..<20).contains { c[$0] > 0 }, bottom = (0..<20).contains { c[19 * 20 + $0] > 0 }
            let left = (0..<20).contains { c[$0 * 20] > 0 }, right = (0..<20).contains { c[$0 * 20 + 19] > 0 }
            XCTAssertTrue(top && bottom && left && right, "\(shape.name) should touch all four sides")
        }
        for a in 0..<12 {
            for b in (a + 1)..<12 {
                let both = zip(masks[a], masks[b]).filter { $0 && $1 }.count
                let either = zip(masks[a], masks[b]).filter { $0 || $1 }.count
                XCTAssertLessThan(Double(both) / Double(either), 0.85,
                                  "\(SpriteShape.allCases[a].name) and \(SpriteShape.allCases[b].name) look alike")
            }
        }
    }

    func testSameSeedSameBytesDifferentSeedDifferent() throws {
        let a = try SpriteGenerator(options: SpriteOptions(seed: 7)).samples(0..<5, threads: 1)
        let b = try SpriteGenerator(options: SpriteOptions(seed: 7)).samples(0..<5, threads: 1)
        let c = try SpriteGenerator(options: SpriteOptions(seed: 8)).samples(0..<5, threads: 1)
        for i in 0..<5 {
            XCTAssertEqual(try PNG.encode(a[i].image), try PNG.encode(b[i].image))
            XCTAssertEqual(a[i].scene, b[i].scene)
            XCTAssertNotEqual(a[i].image, c[i].image)
        }
    }

    func testParallelEqualsSerialAndIndexIsIndependentOfRange() throws {
        for background in SpriteBackground.allCases {
            let generator = try SpriteGenerator(options: SpriteOptions(background: background, seed: 3))
            let serial = try generator.samples(0..<40, threads: 1)
            let parallel = try generator.samples(0..<40, threads: 2)
            XCTAssertEqual(serial.map(\.image), parallel.map(\.image))
            XCTAssertEqual(serial.map(\.scene), parallel.map(\.scene))
            XCTAssertEqual(try generator.sample(17).image, serial[17].image)
        }
    }

    func testOddOneOutScenesObeyTheRuleAndDoNotOverlap() throws {
        let generator = try SpriteGenerator(options: SpriteOptions(variant: .oddOneOut, seed: 11))
        var objectCounts: [Int: Int] = [:], oddProperties: [SceneProperty: Int] = [:]
        var otherPartitions: Set<[Int]> = []
        for sample in try generator.samples(0..<300) {
            let scene = sample.scene
            let shapes = scene.objects.map(\.shape), colours = scene.objects.map(\.colour)
            XCTAssertTrue(OddOneOut.holds(shapes: shapes, colours: colours), "scene \(scene.index): \(shapes) \(colours)")
            guard let answer = scene.oddOneOut else { XCTFail("scene \(scene.index) has no answer"); continue }
            let values = answer.property == .shape ? shapes : colours
            XCTAssertEqual(values.filter { $0 == answer.value }.count, 1)
            XCTAssertEqual(values[answer.object], answer.value)
            objectCounts[scene.objects.count, default: 0] += 1
            oddProperties[answer.property, default: 0] += 1
            let other = answer.property == .shape ? colours : shapes
            otherPartitions.insert(Dictionary(grouping: other, by: { $0 }).values.map(\.count).sorted())
            assertValidLayout(scene)
        }
        XCTAssertEqual(Set(objectCounts.keys), [3, 4])
        XCTAssertGreaterThan(oddProperties[.shape] ?? 0, 100)
        XCTAssertGreaterThan(oddProperties[.colour] ?? 0, 100)
        XCTAssertEqual(otherPartitions, [[3], [4], [2, 2]])
    }

    func testRandomVariantCoversEveryShapeAndColour() throws {
        let generator = try SpriteGenerator(options: SpriteOptions(variant: .random, seed: 5))
        let objects = try generator.samples(0..<300).flatMap(\.scene.objects)
        XCTAssertEqual(Set(objects.map(\.shape)), Set(0..<12))
        XCTAssertEqual(Set(objects.map(\.colour)), Set(0..<7))
        XCTAssertEqual(Set(objects.map(\.sizeBin)), [0, 1, 2])
        XCTAssertEqual(Set(objects.map(\.xBin)), [0, 1, 2, 3])
        let limited = try SpriteGenerator(options: SpriteOptions(shapes: 3, colours: 2, variant: .random))
        let few = try limited.samples(0..<50).flatMap(\.scene.objects)
        XCTAssertEqual(Set(few.map(\.shapeName)), ["square", "circle", "triangle"])
        XCTAssertEqual(Set(few.map(\.colourName)), ["red", "green"])
    }

    func testMaskMatchesObjectsAndImage() throws {
        let generator = try SpriteGenerator(options: SpriteOptions(variant: .random, seed: 2))
        for sample in try generator.samples(0..<50) {
            let scene = sample.scene
            let labels = try scene.mask.labels()
            XCTAssertEqual(labels.count, 64 * 64)
            XCTAssertEqual(Set(labels.filter { $0 > 0 }), Set((1...scene.objects.count).map(UInt8.init)))
            for (k, object) in scene.objects.enumerated() {
                let pixels = labels.indices.filter { labels[$0] == UInt8(k + 1) }
                let area = Double(object.size * object.size)
                // Every shape covers between a third and all of its box.
                XCTAssertGreaterThan(Double(pixels.count), 0.33 * area, "\(object.shapeName) of \(object.size) px")
                XCTAssertLessThanOrEqual(Double(pixels.count), area)
                let rgb = SpritePalette.colours[object.colour].rgb
                for p in pixels {
                    let (x, y) = (p % 64, p / 64)
                    XCTAssertTrue((object.x..<(object.x + object.size)).contains(x) && (object.y..<(object.y + object.size)).contains(y))
                    // A pixel at least half covered on black shows at least half the object's colour, and no other.
                    let pixel = sample.image.pixel(x: x, y: y)
                    for (value, target) in zip([pixel.0, pixel.1, pixel.2], rgb) {
                        XCTAssertTrue(target == 0 ? value == 0 : value >= 127, "object \(k) pixel (\(x), \(y))")
                    }
                }
            }
            XCTAssertTrue(labels.indices.filter { labels[$0] == 0 }.allSatisfy { p in
                let px = sample.image.pixel(x: p % 64, y: p / 64)
                return max(px.0, px.1, px.2) <= 128
            })
        }
    }

    func testMaskRunLengthEncoding() throws {
        let map = ObjectIndexMap(labels: [0, 0, 0, 2, 2, 1, 0, 0], width: 4, height: 2)
        XCTAssertEqual(map.runs, [0, 3, 2, 2, 1, 1, 0, 2])
        XCTAssertEqual(try map.labels(), [0, 0, 0, 2, 2, 1, 0, 0])
        for runs in [[0, 3, 2], [0, 9], [0, 3, 1, 0, 0, 5], [0, 7]] {
            let bad = try SpriteDataset.jsonDecoder().decode(
                ObjectIndexMap.self, from: Data("{\"width\": 4, \"height\": 2, \"runs\": \(runs)}".utf8))
            XCTAssertThrowsError(try bad.labels(), "runs \(runs)")
        }
    }

    func testTexturedBackgroundIsDimAndSmooth() throws {
        let generator = try SpriteGenerator(options: SpriteOptions(background: .textured, seed: 4))
        for sample in try generator.samples(0..<10) {
            let labels = try sample.scene.mask.labels()
            var levels: Set<UInt8> = []
            for p in labels.indices where labels[p] == 0 {
                // Only pixels clear of every box show pure background.
                let (x, y) = (p % 64, p / 64)
                guard sample.scene.objects.allSatisfy({ x < $0.x - 1 || x > $0.x + $0.size || y < $0.y - 1 || y > $0.y + $0.size })
                else { continue }
                let px = sample.image.pixel(x: x, y: y)
                XCTAssertLessThanOrEqual(max(px.0, px.1, px.2), 90, "0.35 · 255 = 89.25")
                levels.insert(px.0)
                if x + 1 < 64 && labels[p + 1] == 0 {
                    let next = sample.image.pixel(x: x + 1, y: y)
                    XCTAssertLessThanOrEqual(abs(Int(next.1) - Int(px.1)), 12, "neighbours differ little")
                }
            }
            XCTAssertGreaterThan(levels.count, 5, "the background should not be flat")
        }
    }

    func testInvalidOptionsAreRejected() {
        let bad = [
            SpriteOptions(shapes: 13), SpriteOptions(colours: 0),
            SpriteOptions(minObjects: 2, maxObjects: 3, variant: .oddOneOut),
            SpriteOptions(minObjects: 4, maxObjects: 3),
            SpriteOptions(imageSize: 16),
            SpriteOptions(maxObjects: 9),
            SpriteOptions(shapes: 1, variant: .oddOneOut),
        ]
        for options in bad {
            XCTAssertThrowsError(try SpriteGenerator(options: options), "\(options)")
        }
        XCTAssertNoThrow(try SpriteGenerator(options: SpriteOptions(minObjects: 1, maxObjects: 2, shapes: 1, colours: 1, variant: .random)))
    }

    func testDatasetOnDiskIsSortedDeterministicAndSelfDescribing() throws {
        let one = try makeTemporaryDirectory(), two = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: one); try? FileManager.default.removeItem(at: two) }
        let options = SpriteOptions(seed: 21)
        try SpriteDataset.generate(count: 12, options: options, to: one, threads: 1)
        try SpriteDataset.generate(count: 12, options: options, to: two, threads: 2)
        let names = try FileManager.default.contentsOfDirectory(atPath: one.path).sorted()
        XCTAssertEqual(names.count, 25)
        XCTAssertEqual(names.first, "000000.json")
        XCTAssertEqual(names.last, "dataset.json")
        for name in names {
            XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent(name)),
                           try Data(contentsOf: two.appendingPathComponent(name)), name)
        }
        let generator = try SpriteGenerator(options: options)
        let folder = try ImageFolder(directory: one)
        XCTAssertEqual(folder.files.map(\.lastPathComponent), (0..<12).map { String(format: "%06d.png", $0) })
        XCTAssertEqual(try folder.loadAll(), try generator.samples(0..<12).map(\.image))
        XCTAssertEqual(try SpriteDataset.scene(contentsOf: one.appendingPathComponent("000007.json")),
                       try generator.sample(7).scene)
        let description = try SpriteDataset.jsonDecoder().decode(
            SpriteDatasetDescription.self, from: Data(contentsOf: one.appendingPathComponent("dataset.json")))
        XCTAssertEqual(description.count, 12)
        XCTAssertEqual(description.options, options)
        XCTAssertEqual(description.shapes.count, 12)
        // The ground truth uses snake_case keys.
        let json = try String(contentsOf: one.appendingPathComponent("000000.json"), encoding: .utf8)
        XCTAssertTrue(json.contains("\"x_bin\"") && json.contains("\"center_x\"") && json.contains("\"odd_one_out\""), json)
        XCTAssertEqual(SpriteDataset.stem(5, count: 2_000_000), "0000005")
    }

    /// Boxes inside the image and at least 2 px apart (checked independently of the generator).
    private func assertValidLayout(_ scene: SpriteScene, file: StaticString = #filePath, line: UInt = #line) {
        let objects = scene.objects
        for (i, a) in objects.enumerated() {
            XCTAssertTrue(a.x >= 0 && a.y >= 0 && a.x + a.size <= 64 && a.y + a.size <= 64, file: file, line: line)
            XCTAssertTrue((14...20).contains(a.size), file: file, line: line)
            XCTAssertEqual(a.centerX, Double(a.x) + Double(a.size) / 2, file: file, line: line)
            for b in objects[(i + 1)...] {
                let gapX = max(b.x - (a.x + a.size), a.x - (b.x + b.size))
                let gapY = max(b.y - (a.y + a.size), a.y - (b.y + b.size))
                XCTAssertGreaterThanOrEqual(max(gapX, gapY), 2, "scene \(scene.index): boxes too close", file: file, line: line)
            }
        }
    }
}
