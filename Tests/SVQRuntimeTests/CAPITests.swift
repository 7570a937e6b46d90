// The C ABI called from Swift (Tests/CAPI/test_capi.c covers it from C): statuses and messages for bad
// pointers, handles and sizes, and the same results as the Swift API.

import CSVQ
import Foundation
import SVQ
import XCTest

final class CAPITests: XCTestCase {
    /// A loaded handle of the tiny model (freed by the caller).
    func load(_ data: Data = TestModels.tinyData) throws -> OpaquePointer {
        var handle: OpaquePointer?
        let status = data.withUnsafeBytes { svq_model_load_memory($0.baseAddress, $0.count, &handle) }
        XCTAssertEqual(status, SVQ_STATUS_OK, String(cString: svq_last_error()))
        return try XCTUnwrap(handle)
    }

    var lastError: String { String(cString: svq_last_error()) }

    func testVersionsAndStatusStrings() {
        XCTAssertEqual(svq_api_version(), SVQ_API_VERSION)
        XCTAssertEqual(String(cString: svq_version()), Runtime.version)
        let pairs: [(SVQError.Code, svq_status)] = [
            (.invalidArgument, SVQ_STATUS_INVALID_ARGUMENT), (.shapeMismatch, SVQ_STATUS_SHAPE_MISMATCH),
            (.invalidValue, SVQ_STATUS_INVALID_VALUE), (.bufferTooSmall, SVQ_STATUS_BUFFER_TOO_SMALL),
            (.ioError, SVQ_STATUS_IO_ERROR), (.invalidModel, SVQ_STATUS_INVALID_MODEL),
            (.noPrior, SVQ_STATUS_NO_PRIOR), (.internalError, SVQ_STATUS_INTERNAL_ERROR), (.cancelled, SVQ_STATUS_CANCELLED)]
        XCTAssertEqual(pairs.map(\.0), SVQError.Code.allCases)
        for (code, status) in pairs {
            XCTAssertEqual(UInt32(code.rawValue), status.rawValue, "\(code)")
            XCTAssertNotEqual(String(cString: svq_status_string(status)), "unknown status")
        }
        XCTAssertEqual(String(cString: svq_status_string(SVQ_STATUS_OK)), "ok")
        XCTAssertEqual(String(cString: svq_status_string(svq_status(rawValue: 99))), "unknown status")
    }

    func testLoadErrors() {
        var handle: OpaquePointer? = OpaquePointer(bitPattern: 0x1234)
        XCTAssertEqual(svq_model_load_file(nil, &handle), SVQ_STATUS_INVALID_ARGUMENT)
        XCTAssertNil(handle, "out_model is cleared on error")
        XCTAssertTrue(lastError.contains("path"))
        XCTAssertEqual(svq_model_load_file("/nonexistent.safetensors", nil), SVQ_STATUS_INVALID_ARGUMENT)
        XCTAssertEqual(svq_model_load_file("/nonexistent.safetensors", &handle), SVQ_STATUS_IO_ERROR)
        XCTAssertTrue(lastError.contains("/nonexistent.safetensors"), lastError)
        XCTAssertEqual(svq_model_load_memory(nil, 10, &handle), SVQ_STATUS_INVALID_ARGUMENT)
        XCTAssertEqual(svq_model_load_memory(nil, 0, &handle), SVQ_STATUS_INVALID_MODEL)
        let junk: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        XCTAssertEqual(svq_model_load_memory(junk, junk.count, &handle), SVQ_STATUS_INVALID_MODEL)
        XCTAssertNil(handle)
        XCTAssertFalse(lastError.isEmpty)
    }

    func testLoadSizesBeyondAnyObjectAreRejected() throws {
        // size_t arrives in Swift as Int: SIZE_MAX is -1 and 2⁶³ is Int.min there.
        var handle: OpaquePointer?
        let junk: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        for size: UInt in [.max, 1 << 63, 1 << 62, (1 << 60) + 1] {
            XCTAssertEqual(svq_model_load_memory(junk, Int(bitPattern: size), &handle), SVQ_STATUS_INVALID_ARGUMENT, "\(size)")
            XCTAssertTrue(lastError.contains("size is \(size)"), lastError)
            XCTAssertNil(handle)
        }
        // Larger than the buffer but within the limit: the bytes are read where they are (never copied to a
        // buffer of that size), and only where the header points, so the file reads as one with a missing tail.
        let status = TestModels.microData.withUnsafeBytes { svq_model_load_memory($0.baseAddress, 1 << 60, &handle) }
        XCTAssertEqual(status, SVQ_STATUS_INVALID_MODEL, lastError)
        XCTAssertNil(handle)
    }

    func testHandles() throws {
        let model = try load()
        var info = svq_info()
        XCTAssertEqual(svq_model_info(model, &info), SVQ_STATUS_OK)
        XCTAssertEqual(lastError, "", "success clears the message")
        XCTAssertEqual([info.image_size, info.image_channels, info.num_slots, info.num_blocks, info.codebook_size,
                        info.slot_size, info.vocab_size, info.tokens_per_image], [64, 3, 3, 4, 8, 64, 32, 256])
        XCTAssertTrue(info.has_prior)
        XCTAssertEqual(svq_model_info(model, nil), SVQ_STATUS_INVALID_ARGUMENT)
        XCTAssertEqual(svq_model_info(nil, &info), SVQ_STATUS_INVALID_ARGUMENT)
        XCTAssertEqual(svq_model_info(OpaquePointer(bitPattern: 0xdead_beef), &info), SVQ_STATUS_INVALID_ARGUMENT)
        svq_model_free(model)
        XCTAssertEqual(svq_model_info(model, &info), SVQ_STATUS_INVALID_ARGUMENT, "a freed handle")
        XCTAssertTrue(lastError.contains("not a loaded model"), lastError)
        svq_model_free(model)    // twice: a no-op
        svq_model_free(nil)
        let again = try load()
        XCTAssertNotEqual(again, model, "handles are never reused")
        svq_model_free(again)
    }

    func testStrayPointersAreNotHandles() throws {
        // Handles were 16 × the load number, so 0x10 named the first model loaded and a small aligned value
        // any model of a process that had loaded a few.
        let model = try load(), other = try load()
        defer { svq_model_free(model); svq_model_free(other) }
        var info = svq_info()
        XCTAssertEqual(svq_model_info(model, &info), SVQ_STATUS_OK)
        let real = Set([UInt(bitPattern: model), UInt(bitPattern: other)])
        // Not small numbers, and the next handle does not follow from the last (both were so).
        XCTAssertTrue(real.allSatisfy { $0 >= 1 << 24 }, real.map { String($0, radix: 16) }.joined(separator: ", "))
        XCTAssertNotEqual(UInt(bitPattern: other) &- UInt(bitPattern: model), 16)
        var accepted: [UInt] = []
        for k in UInt(1)...(1 << 16) where !real.contains(k << 4) {
            if svq_model_info(OpaquePointer(bitPattern: k << 4), &info) == SVQ_STATUS_OK { accepted.append(k << 4) }
        }
        XCTAssertEqual(accepted, [], "small aligned values taken for models")
        // Near misses of a real handle: each bit flipped, and neighbouring addresses.
        let bits = UInt(bitPattern: model)
        var near = (0..<64).map { bits ^ (1 << $0) }
        near += [bits &+ 16, bits &- 16, bits &+ 1, bits &+ 4096]
        for value in near where value != 0 && !real.contains(value) {
            XCTAssertEqual(svq_model_info(OpaquePointer(bitPattern: value), &info), SVQ_STATUS_INVALID_ARGUMENT,
                           String(value, radix: 16))
        }
        svq_model_free(OpaquePointer(bitPattern: bits ^ (1 << 20)))   // freeing a forged handle frees nothing
        XCTAssertEqual(svq_model_info(model, &info), SVQ_STATUS_OK)
    }

    func testEncodeDecodeMatchTheSwiftAPI() throws {
        let model = try load()
        defer { svq_model_free(model) }
        let images = testImages(batch: 2), swift = TestModels.tiny
        var params = svq_encode_default_params()
        params.seed = 6
        var codes = [Int32](repeating: -1, count: 24)
        var masks = [Float](repeating: -1, count: 2 * 3 * 64 * 64)
        var slots = [Float](repeating: -1, count: 2 * 3 * 64)
        XCTAssertEqual(svq_encode_f32(model, images.scalars, 2, 64, 64, 3, &params, &codes, codes.count,
                                      &masks, masks.count, &slots, slots.count), SVQ_STATUS_OK, lastError)
        let expected = try swift.encode(images, seed: 6, masks: true, slots: true)
        XCTAssertEqual(codes, expected.codes.scalars)
        XCTAssertEqual(masks, expected.masks?.scalars)
        XCTAssertEqual(slots, expected.slots?.scalars)

        var decode = svq_decode_default_params()
        decode.sampling = SVQ_SAMPLING_SAMPLE
        decode.temperature = 0.9
        decode.top_k = 4
        decode.seed = 2
        var pixels = [UInt8](repeating: 0, count: 2 * 64 * 64 * 3)
        XCTAssertEqual(svq_decode_u8(model, codes, 2, &decode, &pixels, pixels.count), SVQ_STATUS_OK, lastError)
        let shaped = try ShapedArray(codes, shape: [2, 3, 4])
        XCTAssertEqual(pixels, try swift.decodeUInt8(shaped, sampling: .sampled(temperature: 0.9, topK: 4), seed: 2).scalars)
        decode.candidates = 3
        XCTAssertEqual(svq_decode_u8(model, codes, 2, &decode, &pixels, pixels.count), SVQ_STATUS_OK, lastError)
        XCTAssertEqual(pixels, try swift.decodeUInt8(shaped, sampling: .sampled(temperature: 0.9, topK: 4), seed: 2,
                                                     candidates: 3).scalars)
        decode.candidates = 0   // a zero-initialised field reads as one draw
        XCTAssertEqual(svq_decode_u8(model, codes, 2, &decode, &pixels, pixels.count), SVQ_STATUS_OK, lastError)
        XCTAssertEqual(pixels, try swift.decodeUInt8(shaped, sampling: .sampled(temperature: 0.9, topK: 4), seed: 2).scalars)

        var prior = svq_prior_default_params()
        prior.seed = 8
        XCTAssertEqual(svq_prior_sample(model, 2, &prior, nil, nil, &codes, codes.count), SVQ_STATUS_OK, lastError)
        XCTAssertEqual(codes, try swift.samplePrior(count: 2, seed: 8).scalars)
    }

    func testBadArgumentsGiveStatusesAndMessages() throws {
        let model = try load()
        defer { svq_model_free(model) }
        let images = testImages(batch: 1).scalars
        var codes = [Int32](repeating: 0, count: 12)
        var out = [Float](repeating: 0, count: 64 * 64 * 3)
        func expect(_ status: svq_status, _ expected: svq_status, _ fragment: String, line: UInt = #line) {
            XCTAssertEqual(status, expected, lastError, line: line)
            XCTAssertTrue(lastError.contains(fragment), "\"\(lastError)\" lacks \"\(fragment)\"", line: line)
        }
        expect(svq_encode_f32(model, nil, 1, 64, 64, 3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_INVALID_ARGUMENT, "images")
        expect(svq_encode_f32(model, images, 1, 64, 64, 3, nil, nil, 12, nil, 0, nil, 0), SVQ_STATUS_INVALID_ARGUMENT, "codes")
        expect(svq_encode_f32(model, images, 0, 64, 64, 3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_INVALID_ARGUMENT, "batch")
        expect(svq_encode_f32(model, images, -5, 64, 64, 3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_INVALID_ARGUMENT, "batch")
        expect(svq_encode_f32(model, images, 1, 32, 64, 3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_SHAPE_MISMATCH, "64×64")
        expect(svq_encode_f32(model, images, 1, 64, 64, -3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_SHAPE_MISMATCH, "channels")
        expect(svq_encode_f32(model, images, 1, 64, 64, 3, nil, &codes, 11, nil, 0, nil, 0), SVQ_STATUS_BUFFER_TOO_SMALL, "12")
        expect(svq_encode_f32(model, images, 1, 64, 64, 3, nil, &codes, 12, &out, 100, nil, 0), SVQ_STATUS_BUFFER_TOO_SMALL, "12288")
        expect(svq_encode_f32(model, images, 1, 64, 64, 3, nil, &codes, 12, nil, 0, &out, 191), SVQ_STATUS_BUFFER_TOO_SMALL, "192")
        var nan = images
        nan[77] = .nan
        expect(svq_encode_f32(model, nan, 1, 64, 64, 3, nil, &codes, 12, nil, 0, nil, 0), SVQ_STATUS_INVALID_VALUE, "NaN")

        codes = [Int32](repeating: 0, count: 12)
        expect(svq_decode_f32(model, nil, 1, nil, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "codes")
        expect(svq_decode_f32(model, codes, 1, nil, nil, out.count), SVQ_STATUS_INVALID_ARGUMENT, "images")
        expect(svq_decode_f32(model, codes, 0, nil, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "batch")
        expect(svq_decode_f32(model, codes, 1, nil, &out, out.count - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "12288")
        codes[3] = 8
        expect(svq_decode_f32(model, codes, 1, nil, &out, out.count), SVQ_STATUS_INVALID_VALUE, "outside 0 to 7")
        codes[3] = 0
        var params = svq_decode_default_params()
        params.sampling = svq_sampling(rawValue: 7)
        expect(svq_decode_f32(model, codes, 1, &params, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "sampling")
        params = svq_decode_default_params()
        XCTAssertEqual(params.candidates, 1)
        params.sampling = SVQ_SAMPLING_GREEDY
        params.candidates = 2
        expect(svq_decode_f32(model, codes, 1, &params, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "greedy")
        params.sampling = SVQ_SAMPLING_SAMPLE
        params.candidates = -1
        expect(svq_decode_f32(model, codes, 1, &params, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "candidates")
        params = svq_decode_default_params()
        params.sampling = SVQ_SAMPLING_SAMPLE
        params.top_k = -1
        expect(svq_decode_f32(model, codes, 1, &params, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "top_k")
        params.top_k = 0
        params.temperature = 0
        expect(svq_decode_f32(model, codes, 1, &params, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "temperature")

        let mask = [UInt8](repeating: 1, count: 12)
        expect(svq_prior_sample(model, 1, nil, nil, mask, &codes, 12), SVQ_STATUS_INVALID_ARGUMENT, "without the fixed codes")
        expect(svq_prior_sample(model, 1, nil, codes, nil, &codes, 12), SVQ_STATUS_INVALID_ARGUMENT, "without a mask")
        expect(svq_prior_sample(model, 0, nil, nil, nil, &codes, 12), SVQ_STATUS_INVALID_ARGUMENT, "count")
        expect(svq_prior_sample(model, 2, nil, nil, nil, &codes, 12), SVQ_STATUS_BUFFER_TOO_SMALL, "24")
        var prior = svq_prior_default_params()
        prior.temperature = .nan
        expect(svq_prior_sample(model, 1, &prior, nil, nil, &codes, 12), SVQ_STATUS_INVALID_ARGUMENT, "temperature")
        var bad = codes
        bad[11] = -2
        expect(svq_prior_sample(model, 1, nil, bad, mask, &codes, 12), SVQ_STATUS_INVALID_VALUE, "-2")

        expect(svq_codebook(model, 4, &out, out.count), SVQ_STATUS_INVALID_ARGUMENT, "block")
        expect(svq_codebook(model, 0, &out, 127), SVQ_STATUS_BUFFER_TOO_SMALL, "128")
        expect(svq_codebook(model, 0, nil, 128), SVQ_STATUS_INVALID_ARGUMENT, "out")
        expect(svq_set_threads(-1), SVQ_STATUS_INVALID_ARGUMENT, "thread")
        XCTAssertEqual(Int(SVQ_MAX_THREADS), Runtime.maxThreadCount)
        let threads = svq_get_threads()
        expect(svq_set_threads(SVQ_MAX_THREADS + 1), SVQ_STATUS_INVALID_ARGUMENT, "from 1 to \(SVQ_MAX_THREADS)")
        expect(svq_set_threads(100_000), SVQ_STATUS_INVALID_ARGUMENT, "100000")
        expect(svq_set_threads(.max), SVQ_STATUS_INVALID_ARGUMENT, "\(Int32.max)")
        XCTAssertEqual(svq_get_threads(), threads)

        let noPrior = try load(TestModels.tinyNoPriorData)
        defer { svq_model_free(noPrior) }
        expect(svq_prior_sample(noPrior, 1, nil, nil, nil, &codes, 12), SVQ_STATUS_NO_PRIOR, "prior")

        let untrained = try load(TestModels.tinyUntrainedPriorData)
        defer { svq_model_free(untrained) }
        var info = svq_info()
        XCTAssertEqual(svq_model_info(untrained, &info), SVQ_STATUS_OK)
        XCTAssertFalse(info.has_prior)
        expect(svq_prior_sample(untrained, 1, nil, nil, nil, &codes, 12), SVQ_STATUS_NO_PRIOR, "never trained")
    }

    func testCapacitiesOfTwoToTheSixtyThreeAndAboveAreLargeEnough() throws {
        // size_t arrives in Swift as Int: SIZE_MAX is -1 and 2⁶³ is Int.min there, "holds -1 elements" before.
        let model = try load()
        defer { svq_model_free(model) }
        let images = testImages(batch: 1).scalars, swift = TestModels.tiny
        let expected = try swift.encode(testImages(batch: 1), seed: 2, masks: true, slots: true)
        var params = svq_encode_default_params()
        params.seed = 2
        for huge: UInt in [.max, 1 << 63, (1 << 63) + 12_345] {
            let capacity = Int(bitPattern: huge)
            var codes = [Int32](repeating: -1, count: 12)
            var masks = [Float](repeating: -1, count: 3 * 64 * 64)
            var slots = [Float](repeating: -1, count: 3 * 64)
            XCTAssertEqual(svq_encode_f32(model, images, 1, 64, 64, 3, &params, &codes, capacity, &masks, capacity,
                                          &slots, capacity), SVQ_STATUS_OK, "\(huge): \(lastError)")
            XCTAssertEqual(codes, expected.codes.scalars)
            XCTAssertEqual(masks, expected.masks?.scalars)
            XCTAssertEqual(slots, expected.slots?.scalars)
            let bytes = images.map { UInt8(($0 * 255).rounded()) }
            XCTAssertEqual(svq_encode_u8(model, bytes, 1, 64, 64, 3, nil, &codes, capacity, nil, 0, nil, 0), SVQ_STATUS_OK, lastError)

            var pixels = [Float](repeating: -1, count: 64 * 64 * 3)
            XCTAssertEqual(svq_decode_f32(model, codes, 1, nil, &pixels, capacity), SVQ_STATUS_OK, lastError)
            XCTAssertEqual(pixels, try swift.decode(try ShapedArray(codes, shape: [1, 3, 4])).scalars)
            var bytesOut = [UInt8](repeating: 0, count: 64 * 64 * 3)
            XCTAssertEqual(svq_decode_u8(model, codes, 1, nil, &bytesOut, capacity), SVQ_STATUS_OK, lastError)
            XCTAssertEqual(svq_prior_sample(model, 1, nil, nil, nil, &codes, capacity), SVQ_STATUS_OK, lastError)
            XCTAssertEqual(codes, try swift.samplePrior(count: 1).scalars)
            var book = [Float](repeating: -1, count: 128)
            XCTAssertEqual(svq_codebook(model, 1, &book, capacity), SVQ_STATUS_OK, lastError)
            XCTAssertEqual(book, try swift.codebook(block: 1).scalars)
        }
        // Below what is needed, the message states the capacity as given.
        var codes = [Int32](repeating: 0, count: 12)
        XCTAssertEqual(svq_encode_f32(model, images, 1, 64, 64, 3, nil, &codes, 11, nil, 0, nil, 0), SVQ_STATUS_BUFFER_TOO_SMALL)
        XCTAssertTrue(lastError.contains("holds 11 elements but 12"), lastError)
    }

    func testLastErrorIsPerThread() throws {
        XCTAssertEqual(svq_model_info(nil, nil), SVQ_STATUS_INVALID_ARGUMENT)
        let mine = lastError
        XCTAssertFalse(mine.isEmpty)
        let done = DispatchSemaphore(value: 0)
        let other = Thread {
            XCTAssertEqual(String(cString: svq_last_error()), "", "a new thread starts with no message")
            _ = svq_set_threads(-7)
            XCTAssertTrue(String(cString: svq_last_error()).contains("-7"))
            done.signal()
        }
        other.start()
        done.wait()
        XCTAssertEqual(lastError, mine, "another thread's failure leaves this thread's message alone")
    }
}
