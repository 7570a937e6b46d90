// Encode and decode through the runtime API: shapes, value ranges, determinism per seed, and agreement
// with SVQModel called directly on NCHW tensors (which checks the NHWC layout conversions).

import Foundation
import SafeTensors
import CSVQ
import SVQ
import SVQEngine
import SVQModels
import SVQTestSupport
import XCTest

final class EncodeDecodeTests: XCTestCase {
    let model = TestModels.tiny

    /// The wrapped model, loaded from the same bytes, for direct comparisons.
    static let direct: SVQModel = {
        let m = try! SVQModel(file: try! SafeTensorsFile(data: TestModels.tinyData))
        m.freeze()
        m.train(false)
        return m
    }()

    func testEncodeShapesAndRanges() throws {
        let images = testImages(batch: 2)
        let r = try model.encode(images, seed: 1, masks: true, slots: true)
        XCTAssertEqual(r.codes.shape, [2, 3, 4])
        XCTAssertTrue(r.codes.scalars.allSatisfy { $0 >= 0 && $0 < 8 })
        let masks = try XCTUnwrap(r.masks)
        XCTAssertEqual(masks.shape, [2, 3, 64, 64])
        // Each pixel's shares over the 3 objects sum to 1.
        for b in 0..<2 {
            for pixel in stride(from: 0, to: 64 * 64, by: 97) {
                let sum = (0..<3).map { masks.scalars[(b * 3 + $0) * 64 * 64 + pixel] }.reduce(0, +)
                XCTAssertEqual(sum, 1, accuracy: 1e-4)
            }
        }
        let slots = try XCTUnwrap(r.slots)
        XCTAssertEqual(slots.shape, [2, 3, 64])
        // A quantized slot is its codes' codebook rows, block after block.
        for (i, code) in r.codes.scalars.enumerated() {
            let block = i % 4, slot = i / 4
            let row = try model.codebook(block: block).scalars[Int(code) * 16..<(Int(code) + 1) * 16]
            XCTAssertEqual(Array(slots.scalars[slot * 64 + block * 16..<slot * 64 + (block + 1) * 16]), Array(row))
        }
        let plain = try model.encode(images, seed: 1)
        XCTAssertNil(plain.masks)
        XCTAssertNil(plain.slots)
        XCTAssertEqual(plain.codes, r.codes)
    }

    func testEncodeIsDeterministicPerSeed() throws {
        let images = testImages(batch: 3)
        XCTAssertEqual(try model.encode(images, seed: 7), try model.encode(images, seed: 7))
        let seeds = try (0..<6).map { try model.encode(images, seed: UInt64($0), slots: true).slots! }
        XCTAssertGreaterThan(Set(seeds.map(\.scalars)).count, 1, "the seed should matter (random slot init)")
    }

    func testUInt8AndFloatEncodingsAgree() throws {
        let bytes = testImageBytes(batch: 2)
        let floats = try ShapedArray(bytes.scalars.map { Float($0) / 255 }, shape: bytes.shape)
        XCTAssertEqual(try model.encode(bytes, seed: 4, masks: true, slots: true),
                       try model.encode(floats, seed: 4, masks: true, slots: true))
    }

    func testEncodeMatchesTheModelOnNCHW() throws {
        let images = testImages(batch: 2)
        var nchw = [Float](repeating: 0, count: images.count)
        for b in 0..<2 { for y in 0..<64 { for x in 0..<64 { for c in 0..<3 {
            nchw[((b * 3 + c) * 64 + y) * 64 + x] = images.scalars[((b * 64 + y) * 64 + x) * 3 + c]
        } } } }
        var rng = RandomGenerator(seed: 9)
        let expected = withoutGradients { Self.direct.encode(Tensor(nchw, shape: [2, 3, 64, 64]), rng: &rng) }
        let got = try model.encode(images, seed: 9, masks: true)
        XCTAssertEqual(got.codes.scalars, expected.codes.values)
        XCTAssertEqual(got.masks?.scalars, Self.direct.masks(expected).scalars)
    }

    func testDecodeShapesRangesAndLayout() throws {
        let codes = try model.encode(testImages(batch: 2), seed: 2).codes
        let images = try model.decode(codes, sampling: .greedy)
        XCTAssertEqual(images.shape, [2, 64, 64, 3])
        XCTAssertTrue(images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        var rng = RandomGenerator(seed: 0)
        let nchw = try withoutGradients {
            try Self.direct.decode(codes: IntTensor(codes.scalars, shape: [2, 3, 4]), rng: &rng)
        }
        for b in 0..<2 { for y in stride(from: 0, to: 64, by: 7) { for x in stride(from: 0, to: 64, by: 5) { for c in 0..<3 {
            XCTAssertEqual(images.scalars[((b * 64 + y) * 64 + x) * 3 + c], nchw.data[((b * 3 + c) * 64 + y) * 64 + x])
        } } } }
        let bytes = try model.decodeUInt8(codes, sampling: .greedy)
        XCTAssertEqual(bytes.shape, [2, 64, 64, 3])
        XCTAssertEqual(bytes.scalars, images.scalars.map { UInt8(($0 * 255).rounded()) })
    }

    func testGreedyDecodeIsDeterministicAndSampledFollowsTheSeed() throws {
        let codes = try model.samplePrior(count: 2, seed: 1)
        XCTAssertEqual(try model.decode(codes, sampling: .greedy, seed: 1), try model.decode(codes, sampling: .greedy, seed: 2),
                       "greedy ignores the seed")
        let sampling = Sampling.sampled(temperature: 1.5, topK: nil)
        let a = try model.decode(codes, sampling: sampling, seed: 3)
        XCTAssertEqual(a, try model.decode(codes, sampling: sampling, seed: 3))
        XCTAssertNotEqual(a, try model.decode(codes, sampling: sampling, seed: 4))
        // top-1 sampling is greedy.
        XCTAssertEqual(try model.decode(codes, sampling: .sampled(temperature: 1, topK: 1), seed: 5),
                       try model.decode(codes, sampling: .greedy))
    }

    func testTheDefaultDecodeDrawsTokensAt075InSwiftAndC() throws {
        let codes = try model.samplePrior(count: 2, seed: 1)
        let drawn = try model.decode(codes, sampling: .sampled(temperature: 0.75, topK: nil), seed: 0)
        XCTAssertEqual(try model.decode(codes), drawn)
        XCTAssertNotEqual(drawn, try model.decode(codes, sampling: .greedy))
        let c = svq_decode_default_params()
        XCTAssertEqual(c.sampling, SVQ_SAMPLING_SAMPLE)
        XCTAssertEqual(c.temperature, 0.75)
        XCTAssertEqual(c.top_k, 0)
        XCTAssertEqual(c.seed, 0)
    }

    func testCodebooks() throws {
        for block in 0..<4 {
            let book = try model.codebook(block: block)
            XCTAssertEqual(book.shape, [8, 16])
            let expected = Self.direct.slotAttention.quantizer.codebooks.scalars[block * 128..<(block + 1) * 128]
            XCTAssertEqual(book.scalars, Array(expected))
        }
    }

    func testThreadCountSetting() throws {
        let before = Runtime.threadCount
        defer { try? Runtime.setThreadCount(before) }
        try Runtime.setThreadCount(1)
        XCTAssertEqual(Runtime.threadCount, 1)
        try Runtime.setThreadCount(0)
        XCTAssertGreaterThanOrEqual(Runtime.threadCount, 1)
        try Runtime.setThreadCount(2)
        XCTAssertEqual(Runtime.threadCount, 2)
        expectError(.invalidArgument, try Runtime.setThreadCount(-1))
    }

    /// Every output, masks and float images included, is the same bits on every thread count (svq.h says
    /// so). Masks differed by up to 2e-6 where matrix products were cut into one piece per thread.
    func testResultsDoNotDependOnTheThreadCount() throws {
        let before = Runtime.threadCount
        defer { try? Runtime.setThreadCount(before) }
        let images = testImages(batch: 3)
        func outputs() throws -> (EncodeResult, ShapedArray<Float>, ShapedArray<Float>, ShapedArray<Int32>) {
            let encoded = try model.encode(images, seed: 3, masks: true, slots: true)
            return (encoded, try model.decode(encoded.codes),
                    try model.decode(encoded.codes, sampling: .sampled(temperature: 0.8, topK: nil), seed: 4),
                    try model.samplePrior(count: 3, seed: 5))
        }
        try Runtime.setThreadCount(1)
        let one = try outputs()
        for threads in [2, 3, 5, 8] {
            try Runtime.setThreadCount(threads)
            let other = try outputs()
            XCTAssertEqual(other.0.masks, one.0.masks, "masks on \(threads) threads")
            XCTAssertEqual(other.0, one.0, "encoding on \(threads) threads")
            XCTAssertEqual(other.1, one.1, "greedy decoding on \(threads) threads")
            XCTAssertEqual(other.2, one.2, "sampled decoding on \(threads) threads")
            XCTAssertEqual(other.3, one.3, "prior samples on \(threads) threads")
        }
    }

    /// The same under OpenBLAS's other kernels (see SVQTestSupport/BLASKernels.swift), where the difference
    /// showed.
    func testResultsDoNotDependOnTheThreadCountUnderOtherBLASKernels() throws {
        try rerunUnderOtherBLASKernels("SVQRuntimeTests.EncodeDecodeTests/testResultsDoNotDependOnTheThreadCount")
    }

    func testThreadCountsAboveTheMaximumAreRefused() throws {
        let before = Runtime.threadCount
        defer { try? Runtime.setThreadCount(before) }
        XCTAssertEqual(Runtime.maxThreadCount, 1024)
        // libgomp exits the process at 50 000 threads and crashes at 100 000.
        for n in [1025, 50_000, 100_000, Int(Int32.max), Int.max] {
            XCTAssertTrue(expectError(.invalidArgument, try Runtime.setThreadCount(n)).contains("from 1 to 1024"))
            XCTAssertEqual(Runtime.threadCount, before, "a refused count leaves the setting alone")
        }
        try Runtime.setThreadCount(1024)
        XCTAssertEqual(Runtime.threadCount, 1024)
    }
}
