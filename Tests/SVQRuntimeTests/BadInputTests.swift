// Every bad input of encode, decode and codebook is an SVQError with the right code and a message that
// locates the problem.

import SVQ
import XCTest

final class BadInputTests: XCTestCase {
    let model = TestModels.tiny

    func testArraysMustFillTheirShape() {
        expectError(.shapeMismatch, try ShapedArray([Float](repeating: 0, count: 5), shape: [2, 3]))
        expectError(.shapeMismatch, try ShapedArray([Float](), shape: [-1, 0]))
        expectError(.shapeMismatch, try ShapedArray([Float](), shape: [1 << 40, 1 << 40]))
        XCTAssertNoThrow(try ShapedArray([Float](), shape: [0, 3]))
    }

    func testImageShapes() throws {
        func images(_ shape: [Int]) throws -> ShapedArray<Float> {
            try ShapedArray([Float](repeating: 0.5, count: shape.reduce(1, *)), shape: shape)
        }
        expectError(.shapeMismatch, try model.encode(try images([64, 64, 3])))          // no batch axis
        expectError(.invalidArgument, try model.encode(try images([0, 64, 64, 3])))      // empty batch
        expectError(.shapeMismatch, try model.encode(try images([1, 32, 32, 3])))
        expectError(.shapeMismatch, try model.encode(try images([1, 64, 32, 3])))
        expectError(.shapeMismatch, try model.encode(try images([1, 64, 64, 4])))
        XCTAssertTrue(expectError(.shapeMismatch, try model.encode(try images([1, 3, 64, 64]))).contains("64×64"))  // NCHW
        let bytes = try ShapedArray([UInt8](repeating: 0, count: 64 * 64), shape: [1, 64, 64, 1])
        expectError(.shapeMismatch, try model.encode(bytes))
    }

    func testPixelValues() throws {
        let good = testImages(batch: 2)
        for (bad, index) in [(Float.nan, 0), (.infinity, 5000), (-.infinity, 9), (-0.01, 64 * 64 * 3 + 7), (1.5, 100), (255, 1)] {
            var values = good.scalars
            values[index] = bad
            let message = expectError(.invalidValue, try model.encode(try ShapedArray(values, shape: good.shape)))
            let b = index / (64 * 64 * 3), y = index / (64 * 3) % 64, x = index / 3 % 64, c = index % 3
            XCTAssertTrue(message.contains("[\(b), \(y), \(x), \(c)]"), message)
        }
        XCTAssertNoThrow(try model.encode(try ShapedArray(good.scalars.map { $0 > 0.5 ? Float(1) : 0 }, shape: good.shape)))
    }

    func testCodes() throws {
        func codes(_ shape: [Int], _ value: Int32 = 0) throws -> ShapedArray<Int32> {
            try ShapedArray([Int32](repeating: value, count: shape.reduce(1, *)), shape: shape)
        }
        expectError(.shapeMismatch, try model.decode(try codes([3, 4])))
        expectError(.invalidArgument, try model.decode(try codes([0, 3, 4])))
        expectError(.shapeMismatch, try model.decode(try codes([1, 4, 3])))
        expectError(.shapeMismatch, try model.decodeUInt8(try codes([1, 3, 5])))
        expectError(.invalidValue, try model.decode(try codes([1, 3, 4], 8)))
        expectError(.invalidValue, try model.decode(try codes([1, 3, 4], -1)))
        var values = [Int32](repeating: 1, count: 24)
        values[17] = 1000
        let message = expectError(.invalidValue, try model.decodeUInt8(try ShapedArray(values, shape: [2, 3, 4])))
        XCTAssertTrue(message.contains("[1, 1, 1]") && message.contains("1000"), message)
    }

    func testSamplingParameters() throws {
        let codes = try ShapedArray([Int32](repeating: 0, count: 12), shape: [1, 3, 4])
        for (t, k) in [(Float(0), nil), (-1, nil), (.nan, nil), (.infinity, nil), (1, 0), (1, -2)] as [(Float, Int?)] {
            expectError(.invalidArgument, try model.decode(codes, sampling: .sampled(temperature: t, topK: k)))
        }
        XCTAssertNoThrow(try model.decode(codes, sampling: .sampled(temperature: 1, topK: 1000)))   // capped
        let drawn = Sampling.sampled(temperature: 1, topK: nil)
        for k in [0, -1, Model.maxDecodeCandidates + 1] {
            let message = expectError(.invalidArgument, try model.decode(codes, sampling: drawn, candidates: k))
            XCTAssertTrue(message.contains("candidates"), message)
        }
        let message = expectError(.invalidArgument, try model.decodeUInt8(codes, sampling: .greedy, candidates: 2))
        XCTAssertTrue(message.contains("greedy"), message)
    }

    func testCodebookBlock() {
        expectError(.invalidArgument, try model.codebook(block: -1))
        expectError(.invalidArgument, try model.codebook(block: 4))
    }

    func testErrorCodesMatchTheCHeader() {
        // SVQError.Code's raw values are svq_status values (checked against the header in CAPITests).
        XCTAssertEqual(SVQError.Code.allCases.map(\.rawValue), Array(1...9))
    }
}
