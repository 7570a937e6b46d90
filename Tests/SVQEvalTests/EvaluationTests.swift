// The evaluation figures on inputs whose answers are known by construction.

import SVQData
import SVQEngine
import SVQEval
import SVQModels
import SVQTestSupport
import XCTest

final class EvaluationTests: XCTestCase {
    func testCodeUsageAndPerplexity() {
        // Block 0 uses codes 0 and 1 equally; block 1 always code 3. P = 4.
        let codes = IntTensor([0, 3, 1, 3, 0, 3, 1, 3], shape: [2, 2, 2])
        let u = CodeStatistics.usage(codes, prototypes: 4)
        XCTAssertEqual(u.count, 2)
        XCTAssertEqual(u[0].usedFraction, 0.5)
        XCTAssertEqual(u[0].perplexity, 2, accuracy: 1e-12)
        XCTAssertEqual(u[1].usedFraction, 0.25)
        XCTAssertEqual(u[1].perplexity, 1, accuracy: 1e-12)
        XCTAssertEqual(u[1].counts, [0, 0, 0, 4])
    }

    func testMajorityAccuracyIsOneForAFunctionAndChanceForNoise() {
        // value = code % 3: a code fully determines the value.
        let determined = (0..<600).map { i in (code: i % 9, value: (i % 9) % 3) }
        XCTAssertEqual(FactorAlignment.majorityAccuracy(determined), 1, accuracy: 1e-12)
        // Codes unrelated to values (codes and two values drawn independently): about one half.
        var rng = RandomGenerator(seed: 4)
        let noise = (0..<2000).map { _ in (code: rng.nextInt(below: 16), value: rng.nextInt(below: 2)) }
        XCTAssertEqual(FactorAlignment.majorityAccuracy(noise), 0.5, accuracy: 0.05)
        // A unique code per pair carries no transferable information (cross-fitting stops memorisation).
        let unique = (0..<400).map { i in (code: i, value: i % 4 == 0 ? 1 : 0) }
        XCTAssertEqual(FactorAlignment.majorityAccuracy(unique), 0.75, accuracy: 1e-12)
    }

    func testSlotsMatchTheObjectsTheyCover() {
        // 4×4 image; object 1 = left column, object 2 = bottom-right pixel. Slot 2 attends to object 1, slot 0
        // to object 2, slot 1 to the rest.
        var labels = [UInt8](repeating: 0, count: 16)
        for y in 0..<4 { labels[y * 4] = 1 }
        labels[15] = 2
        var attention = [Float](repeating: 0, count: 3 * 16)
        for p in 0..<16 {
            let slot = labels[p] == 1 ? 2 : (labels[p] == 2 ? 0 : 1)
            attention[slot * 16 + p] = 0.9
        }
        let m = FactorAlignment.match(attention: attention, slots: 3, labels: labels, objects: 2)
        XCTAssertEqual(m.map(\.slot), [2, 0])
        XCTAssertEqual(m[0].iou, 1, accuracy: 1e-12)
        XCTAssertEqual(m[1].iou, 1, accuracy: 1e-12)
    }

    func testMatchingIgnoresTheBackgroundEachSlotOwns() {
        // 8×8 image, one object: the 2×2 square at (0,0)–(1,1). Slot 0 owns the object's three top/left pixels
        // and half the background; slot 1 owns the object's last pixel and a single background pixel; slot 2
        // owns the rest. Counted over all pixels, slot 1's region is small enough to win (IoU 1/5 against
        // 3/32); over the foreground, slot 0 covers 3 of the object's 4 pixels.
        var labels = [UInt8](repeating: 0, count: 64)
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] { labels[y * 8 + x] = 1 }
        var attention = [Float](repeating: 0, count: 3 * 64)
        for p in 0..<64 {
            let slot: Int
            if p == 9 || p == 63 { slot = 1 }
            else if labels[p] == 1 || p < 32 { slot = 0 }
            else { slot = 2 }
            attention[slot * 64 + p] = 0.9
        }
        let m = FactorAlignment.match(attention: attention, slots: 3, labels: labels, objects: 1)
        XCTAssertEqual(m.map(\.slot), [0])
        XCTAssertEqual(m[0].iou, 0.75, accuracy: 1e-12)
    }

    func testReportFindsAFactorHeldByOneBlockAndOneSpreadOverTwo() {
        // Three blocks over 400 objects: block 0 is shape itself; colour is the XOR of blocks 1 and 2, so
        // neither block alone beats chance but the pair holds it exactly. Size is constant.
        var matches: [MatchedSlot] = []
        for i in 0..<400 {
            let (shape, c1, c2) = (i % 5, (i / 5) % 2, (i / 10) % 2)
            matches.append(MatchedSlot(codes: [shape, c1, c2], factors: [shape, c1 ^ c2, 0, 0, 0], iou: i < 100 ? 0.4 : 0.8))
        }
        let r = FactorAlignment.report(matches, objects: 500, blocks: 3)
        XCTAssertEqual(r.matched, 400)
        XCTAssertEqual(r.meanIoU, 0.7, accuracy: 1e-12)
        XCTAssertEqual(r.objectsWithIoUAbove50, 300.0 / 500, accuracy: 1e-12)
        let shape = r.factors[0], colour = r.factors[1]
        XCTAssertEqual(shape.factor, "shape")
        XCTAssertEqual(shape.bestBlock, 0)
        XCTAssertEqual(shape.bestAccuracy, 1, accuracy: 1e-12)
        XCTAssertEqual(shape.chance, 0.2, accuracy: 1e-12)
        XCTAssertEqual(colour.factor, "colour")
        XCTAssertLessThan(colour.bestAccuracy, 0.6)
        XCTAssertEqual(colour.bestPair, [1, 2])
        XCTAssertEqual(colour.bestPairAccuracy ?? 0, 1, accuracy: 1e-12)
    }

    func testGenerationCheckCountsRuleAndObjectCount() {
        let good = (shapes: [0, 0, 0], colours: [1, 1, 2])             // colour 2 is the only unique value
        let twoUnique = (shapes: [0, 1, 2], colours: [1, 1, 1])        // shapes 1 and 2 both unique
        let tooMany = (shapes: [0, 0, 0, 0, 0], colours: [1, 1, 2, 1, 1])
        let r = GenerationCheck.report([good, twoUnique, tooMany, good], objects: 3...4)
        XCTAssertEqual(r.samples, 4)
        XCTAssertEqual(r.accuracy, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.countOK, 0.75, accuracy: 1e-12)
    }

    func testEvaluatorDecodesAsItIsTold() throws {
        // A random tiny model: greedy decoding repeats itself, and draws at a high temperature leave the most
        // likely token often enough that the images differ from the greedy ones.
        var rng = RandomGenerator(seed: 3)
        let model = try SVQModel(config: .goldenTiny, rng: &rng)
        let greedy = Evaluator(model: model, batchSize: 2)
        let (codes, first) = try greedy.sample(count: 2, seed: 5)
        let (sameCodes, again) = try greedy.sample(count: 2, seed: 5)
        XCTAssertEqual(codes.values, sameCodes.values)
        XCTAssertEqual(first.map(\.pixels), again.map(\.pixels))

        let drawn = Evaluator(model: model, batchSize: 2, decoding: .sample(temperature: 100, topK: nil))
        let (drawnCodes, hot) = try drawn.sample(count: 2, seed: 5)
        XCTAssertEqual(drawnCodes.values, codes.values, "the prior's draws do not depend on how the image is decoded")
        XCTAssertNotEqual(hot.map(\.pixels), first.map(\.pixels))
    }
}

final class ObjectRecoveryTests: XCTestCase {
    /// A parsed object drawn exactly where `truth` is, with the given shape and colour.
    private func reading(_ truth: SpriteObject, shape: Int? = nil, colour: Int? = nil, shift: Int = 0) -> ParsedObject {
        ParsedObject(shape: shape ?? truth.shape, colour: colour ?? truth.colour, x: truth.x + shift, y: truth.y,
                     size: truth.size, confidence: 1, pixelCount: truth.size * truth.size)
    }

    func testGeneratedScenesParseBackExactly() throws {
        let samples = try SpriteGenerator(options: SpriteOptions(variant: .oddOneOut, seed: 9)).samples(0..<24, threads: 1)
        let parser = SceneParser()
        let r = ObjectRecovery.report(truth: samples.map(\.scene.objects), parsed: samples.map { parser.parse($0.image) })
        XCTAssertEqual(r.scenes, 24)
        XCTAssertEqual(r.objects, samples.map(\.scene.objects.count).reduce(0, +))
        XCTAssertEqual(r.found, 1)
        XCTAssertEqual(r.extra, 0)
        XCTAssertEqual(r.shapeAccuracy, 1)
        XCTAssertEqual(r.colourAccuracy, 1)
        XCTAssertEqual(r.exactScenes, 1)
        XCTAssertTrue(r.shapeConfusions.isEmpty && r.colourConfusions.isEmpty)
    }

    func testCountsLostAddedAndChangedObjects() throws {
        let scene = try SpriteGenerator(options: SpriteOptions(variant: .oddOneOut, seed: 3)).sample(0).scene
        let t = Array(scene.objects.prefix(3))
        XCTAssertEqual(t.count, 3)
        let wrongShape = (t[1].shape + 1) % SpriteShape.allCases.count
        let wrongColour = (t[2].colour + 1) % SpritePalette.colours.count
        // Scene A: object 0 lost, object 1 read with another shape, object 2 right, one object where none was.
        let far = ParsedObject(shape: 0, colour: 0, x: -100, y: -100, size: 8, confidence: 1, pixelCount: 64)
        let a = [reading(t[1], shape: wrongShape), reading(t[2]), far]
        // Scene B: all found, object 2's colour changed.
        let b = [reading(t[0]), reading(t[1]), reading(t[2], colour: wrongColour)]
        // Scene C: exact, in another order.
        let c = [reading(t[2]), reading(t[0]), reading(t[1])]
        let r = ObjectRecovery.report(truth: [t, t, t], parsed: [a, b, c])
        XCTAssertEqual(r.objects, 9)
        XCTAssertEqual(r.found, 8.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(r.extra, 1.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(r.shapeAccuracy, 7.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(r.colourAccuracy, 7.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(r.exactScenes, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.shapeConfusions, [Confusion(truth: t[1].shapeName, parsed: SpriteShape.allCases[wrongShape].name, count: 1)])
        XCTAssertEqual(r.colourConfusions, [Confusion(truth: t[2].colourName, parsed: SpritePalette.colours[wrongColour].name, count: 1)])
    }

    func testMatchingTakesTheClosestReadingWithinTheSide() throws {
        var truth = try SpriteGenerator(options: SpriteOptions(variant: .oddOneOut, seed: 5)).sample(0).scene.objects[0]
        truth.size = 12                                          // reach: 12 px from the centre
        truth.centerX = Double(truth.x) + 6
        truth.centerY = Double(truth.y) + 6
        let near = reading(truth, shift: 1), nearer = reading(truth), outside = reading(truth, shift: 13)
        let pairs = ObjectRecovery.match([truth], [near, outside, nearer])
        XCTAssertEqual(pairs.map(\.truth), [0])
        XCTAssertEqual(pairs.map(\.parsed), [2])
        XCTAssertTrue(ObjectRecovery.match([truth], [outside]).isEmpty)
        XCTAssertEqual(ObjectRecovery.match([truth], [reading(truth, shift: 12)]).count, 1)  // on the edge counts
        // One reading between two true objects is a rendering of one of them only: the closer.
        var neighbour = truth
        neighbour.x += 3
        neighbour.centerX += 3
        let shared = ObjectRecovery.match([neighbour, truth], [near])
        XCTAssertEqual(shared.map(\.truth), [1])
        XCTAssertEqual(shared.map(\.distance), [1])
        let r = ObjectRecovery.report(truth: [[truth]], parsed: [[near]])
        XCTAssertEqual(r.meanCentreOffset, 1, accuracy: 1e-12)
    }
}
