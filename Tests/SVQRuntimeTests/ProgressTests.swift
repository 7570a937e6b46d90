// Progress handlers: called once per step of the call's main loop with increasing fractions ending at 1,
// they change no result, and returning false cancels the call at once.

import SVQ
import XCTest

final class ProgressTests: XCTestCase {
    let model = TestModels.tiny

    /// Runs `call` with a handler that records each fraction and stops after `stopAfter` reports (nil: never).
    func watching<T>(stopAfter: Int? = nil, _ call: (@escaping ProgressHandler) throws -> T) rethrows -> (T, [Double]) {
        var seen: [Double] = []
        let result = try call { fraction in
            seen.append(fraction)
            return stopAfter.map { seen.count < $0 } ?? true
        }
        return (result, seen)
    }

    func checkSteps(_ seen: [Double], _ steps: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(seen.count, steps, file: file, line: line)
        XCTAssertEqual(seen, (1...steps).map { Double($0) / Double(steps) }, file: file, line: line)
    }

    func testEachCallReportsItsStepsAndGivesTheSameResult() throws {
        let info = model.info
        let codes = try model.samplePrior(count: 2, seed: 1)
        let sampling = Sampling.sampled(temperature: 1, topK: nil)
        let (decoded, decodeSteps) = try watching { try model.decode(codes, sampling: sampling, seed: 4, progress: $0) }
        checkSteps(decodeSteps, info.tokensPerImage)
        XCTAssertEqual(decoded, try model.decode(codes, sampling: sampling, seed: 4))
        let (sampled, priorSteps) = try watching { try model.samplePrior(count: 2, seed: 1, progress: $0) }
        checkSteps(priorSteps, info.codesPerImage)
        XCTAssertEqual(sampled, codes)
        let images = testImages(batch: 2)
        let (encoded, encodeSteps) = try watching { try model.encode(images, seed: 2, progress: $0) }
        checkSteps(encodeSteps, 3)   // the golden-tiny config's slot-attention iterations
        XCTAssertEqual(encoded, try model.encode(images, seed: 2))
        // Best-of-k decoding re-encodes its draws after the tokens: those steps report 1, never less.
        let (_, bestOf) = try watching { try model.decode(codes, candidates: 2, progress: $0) }
        XCTAssertEqual(Array(bestOf.prefix(info.tokensPerImage)), decodeSteps)
        XCTAssertGreaterThan(bestOf.count, info.tokensPerImage)
        XCTAssertTrue(bestOf.dropFirst(info.tokensPerImage).allSatisfy { $0 == 1 })
    }

    func testReturningFalseCancelsAtOnce() throws {
        let codes = try model.samplePrior(count: 2, seed: 1)
        var reports = 0
        expectError(.cancelled, try model.decode(codes, progress: { _ in reports += 1; return reports < 3 }))
        XCTAssertEqual(reports, 3)
        reports = 0
        expectError(.cancelled, try model.samplePrior(count: 2, progress: { _ in reports += 1; return false }))
        XCTAssertEqual(reports, 1)
        reports = 0
        expectError(.cancelled, try model.encode(testImages(batch: 1), progress: { _ in reports += 1; return false }))
        XCTAssertEqual(reports, 1)
        // Nothing is left behind: the next call runs to the end.
        XCTAssertEqual(try model.decode(codes).shape, [2, 64, 64, 3])
    }
}
