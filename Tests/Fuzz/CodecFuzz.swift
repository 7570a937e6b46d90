// libFuzzer harness: fuzzed calls of encode, decode, prior sampling and codebooks on one fixed model (the
// file named by SVQ_FUZZ_MODEL, which has a prior). The bytes choose the call, the handle, every size, value,
// param and capacity — mostly near valid, sometimes anything. Every input buffer holds exactly what the
// call is told it holds, and every output buffer exactly its stated capacity (or the needed size, if that is
// less), so AddressSanitizer sees any read or write past them. A call must succeed with outputs in range or
// fail with a status that fits its arguments; SVQ_STATUS_INTERNAL_ERROR is a bug.

import CSVQ
import Foundation

let fuzzedModel: OpaquePointer = {
    guard let path = ProcessInfo.processInfo.environment["SVQ_FUZZ_MODEL"] else {
        fatalError("set SVQ_FUZZ_MODEL to an SVQ model file with a prior")
    }
    var model: OpaquePointer? = nil
    expectOK(svq_model_load_file(path, &model), "svq_model_load_file(\(path))")
    return model!
}()

let fuzzedInfo: svq_info = {
    var info = svq_info()
    expectOK(svq_model_info(fuzzedModel, &info), "svq_model_info")
    require(info.has_prior, "SVQ_FUZZ_MODEL must have a prior")
    return info
}()

/// Batches beyond this are not allocated (the call is skipped: nil): the cost of a call grows with its batch.
let maxBatch = 3

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCodec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let call = input.byte() % 6
    let model: OpaquePointer?
    switch input.byte() % 32 {
    case 0: model = nil
    case 1: model = OpaquePointer(bitPattern: UInt(input.raw(UInt64.self)) | 1)   // no load returned it (odd)
    default: model = fuzzedModel
    }
    let called: svq_status?
    switch call {
    case 0, 1: called = encode(model, &input, floats: call == 1)
    case 2, 3: called = decode(model, &input, bytes: call == 3)
    case 4: called = samplePrior(model, &input)
    default: called = codebook(model, &input)
    }
    guard let status = called else { return 0 }
    require(status != SVQ_STATUS_INTERNAL_ERROR && status != SVQ_STATUS_IO_ERROR
                 && status != SVQ_STATUS_INVALID_MODEL && status != SVQ_STATUS_NO_PRIOR, describe(status))
    require(model == fuzzedModel || status == SVQ_STATUS_INVALID_ARGUMENT, "a call on a bad handle: \(describe(status))")
    return 0
}

/// The element count of an array with these dimensions, or nil if it is too large to allocate here
/// (dimensions ≤ 0 give 0: the call must refuse them without reading).
func elementCount(batch: Int32, _ dims: [Int32], perItem: Int) -> Int? {
    guard batch > 0, dims.allSatisfy({ $0 > 0 }) else { return 0 }
    guard batch <= maxBatch, dims.allSatisfy({ $0 <= 4096 }) else { return nil }
    let count = dims.reduce(Int(batch) * perItem) { $0 * Int($1) }
    return count <= maxBatch * 64 * 64 * 4 ? count : nil
}

/// A capacity near `needed` (or anything), and the elements to allocate for it: never more than either.
func capacity(_ input: inout FuzzInput, needed: Int) -> (capacity: Int, allocate: Int) {
    let capacity: Int
    switch input.byte() % 8 {
    case 0: capacity = Int(truncatingIfNeeded: input.raw(UInt64.self))   // as size_t: anything, SIZE_MAX too
    case 1: capacity = max(0, needed - 1)
    case 2: capacity = needed + 1
    default: capacity = needed
    }
    let asSize = UInt(bitPattern: capacity)
    return (capacity, Int(min(asSize, UInt(needed))))
}

/// Runs `body` with a pointer to `value`, or NULL (params: NULL means the defaults).
func withOptional<T, R>(_ value: T?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard var value else { return body(nil) }
    return withUnsafePointer(to: &value) { body($0) }
}

/// Runs `body` with a buffer of `count` elements (an unusable but non-NULL pointer when 0), or NULL.
func withBuffer<T, R>(_ count: Int?, of _: T.Type, _ body: (UnsafeMutablePointer<T>?) -> R) -> R {
    guard let count else { return body(nil) }
    let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
    defer { buffer.deallocate() }
    return body(buffer)
}

func encode(_ model: OpaquePointer?, _ input: inout FuzzInput, floats: Bool) -> svq_status? {
    let info = fuzzedInfo
    let batch = input.int32(near: 1)
    let h = input.int32(near: info.image_size), w = input.int32(near: info.image_size)
    let c = input.int32(near: info.image_channels)
    guard let pixelCount = elementCount(batch: batch, [h, w, c], perItem: 1) else { return nil }
    let fits = batch > 0 && h == info.image_size && w == info.image_size && c == info.image_channels
    let b = fits ? Int(batch) : 0
    let seed = input.raw(UInt64.self)
    let params = input.byte() % 2 == 0 ? svq_encode_params(seed: seed) : nil
    let n = Int(info.num_slots), codesNeeded = b * n * Int(info.num_blocks)
    let codes = capacity(&input, needed: codesNeeded)
    let masks = input.byte() % 4 == 0 ? capacity(&input, needed: b * n * Int(info.image_size * info.image_size)) : nil
    let slots = input.byte() % 4 == 0 ? capacity(&input, needed: b * n * Int(info.slot_size)) : nil
    let validPixels = input.byte() % 4 != 0

    return withBuffer(codes.allocate, of: Int32.self) { codesOut in
        withBuffer(masks?.allocate, of: Float.self) { masksOut in
            withBuffer(slots?.allocate, of: Float.self) { slotsOut in
                let status: svq_status
                if floats {
                    let pixels = (0..<pixelCount).map { _ in validPixels ? Float(input.byte()) / 255 : input.float() }
                    status = withOptional(params) {
                        svq_encode_f32(model, pixels, batch, h, w, c, $0, codesOut, codes.capacity,
                                       masksOut, masks?.capacity ?? 0, slotsOut, slots?.capacity ?? 0)
                    }
                    require(status != SVQ_STATUS_OK || pixels.allSatisfy { $0 >= 0 && $0 <= 1 },
                            "encode accepted a pixel outside [0, 1]")
                } else {
                    let pixels = (0..<pixelCount).map { _ in input.byte() }
                    status = withOptional(params) {
                        svq_encode_u8(model, pixels, batch, h, w, c, $0, codesOut, codes.capacity,
                                      masksOut, masks?.capacity ?? 0, slotsOut, slots?.capacity ?? 0)
                    }
                }
                if status == SVQ_STATUS_OK {
                    require(fits && model == fuzzedModel, "encode accepted bad arguments")
                    expectCodes(Array(UnsafeBufferPointer(start: codesOut, count: codesNeeded)), info)
                    if let masksOut, let masks {
                        require(UnsafeBufferPointer(start: masksOut, count: masks.allocate)
                                        .allSatisfy { $0 >= 0 && $0 <= 1 }, "a mask value outside [0, 1]")
                    }
                }
                return status
            }
        }
    }
}

/// Codes for `count` elements: in range, any byte, or any int32.
func codes(_ input: inout FuzzInput, count: Int) -> [Int32] {
    let p = fuzzedInfo.codebook_size
    switch input.byte() % 4 {
    case 0: return (0..<count).map { _ in Int32(Int8(bitPattern: input.byte())) }
    case 1: return (0..<count).map { _ in input.raw(Int32.self) }
    default: return (0..<count).map { _ in Int32(input.byte()) % p }
    }
}

func decode(_ model: OpaquePointer?, _ input: inout FuzzInput, bytes: Bool) -> svq_status? {
    let info = fuzzedInfo
    let batch = input.int32(near: 1)
    guard let codeCount = elementCount(batch: batch, [info.num_slots, info.num_blocks], perItem: 1) else {
        return nil
    }
    let given = codes(&input, count: codeCount)
    var params: svq_decode_params? = nil
    if input.byte() % 4 != 0 {
        params = svq_decode_default_params()
        params!.sampling = svq_sampling(rawValue: input.byte() % 8 == 0 ? input.raw(UInt32.self) : UInt32(input.byte() % 2))
        params!.temperature = input.float()
        params!.top_k = input.int32(near: 0)
        params!.seed = input.raw(UInt64.self)
        params!.candidates = input.int32(near: 1)
    }
    // A valid call costs about batch × candidates decodes and re-encodes: beyond a few, skip it, so that every
    // input runs in about a second (a candidate count out of range is still passed: it costs nothing).
    if let candidates = params?.candidates, (2...64).contains(candidates), Int(batch) * Int(candidates) > 4 {
        return nil
    }
    let needed = max(0, Int(batch)) * Int(info.image_size * info.image_size * info.image_channels)
    let images = capacity(&input, needed: needed)
    let status: svq_status
    if bytes {
        status = withBuffer(images.allocate, of: UInt8.self) { out in
            withOptional(params) { svq_decode_u8(model, given, batch, $0, out, images.capacity) }
        }
    } else {
        status = withBuffer(images.allocate, of: Float.self) { out in
            let status = withOptional(params) { svq_decode_f32(model, given, batch, $0, out, images.capacity) }
            if status == SVQ_STATUS_OK {
                require(UnsafeBufferPointer(start: out, count: needed).allSatisfy { $0 >= 0 && $0 <= 1 },
                        "a decoded pixel outside [0, 1]")
            }
            return status
        }
    }
    if status == SVQ_STATUS_OK {
        require(batch > 0 && given.allSatisfy { $0 >= 0 && $0 < info.codebook_size }, "decode accepted bad codes")
    }
    return status
}

func samplePrior(_ model: OpaquePointer?, _ input: inout FuzzInput) -> svq_status? {
    let info = fuzzedInfo
    let count = input.int32(near: 1)
    guard let codeCount = elementCount(batch: count, [info.num_slots, info.num_blocks], perItem: 1) else {
        return nil
    }
    var params: svq_prior_params? = nil
    if input.byte() % 4 != 0 {
        params = svq_prior_default_params()
        params!.temperature = input.float()
        params!.top_k = input.int32(near: 0)
        params!.seed = input.raw(UInt64.self)
    }
    let fixing = input.byte() % 4       // 0: free, 1: codes and mask, 2: codes only, 3: mask only
    let fixedCodes = fixing == 1 || fixing == 2 ? codes(&input, count: codeCount) : nil
    let fixedMask = fixing == 1 || fixing == 3 ? (0..<codeCount).map { _ in input.byte() % 3 == 0 ? UInt8(1) : 0 } : nil
    let result = capacity(&input, needed: codeCount)
    return withBuffer(result.allocate, of: Int32.self) { out in
        let status = withOptional(params) {
            svq_prior_sample(model, count, $0, fixedCodes, fixedMask, out, result.capacity)
        }
        if status == SVQ_STATUS_OK {
            let sampled = Array(UnsafeBufferPointer(start: out, count: codeCount))
            expectCodes(sampled, info)
            if let fixedCodes, let fixedMask {
                for i in 0..<codeCount where fixedMask[i] != 0 {
                    require(sampled[i] == fixedCodes[i], "the prior changed a fixed code")
                }
            }
        }
        return status
    }
}

func codebook(_ model: OpaquePointer?, _ input: inout FuzzInput) -> svq_status? {
    let info = fuzzedInfo
    let block = input.int32(near: Int32(input.byte()) % info.num_blocks)
    let result = capacity(&input, needed: Int(info.codebook_size * (info.slot_size / info.num_blocks)))
    return withBuffer(result.allocate, of: Float.self) { out in
        svq_codebook(model, block, out, result.capacity)
    }
}
