// svq_decode_f32 / svq_decode_u8: codes → NHWC images.

import CSVQ
import SVQ

@c @implementation
public func svq_decode_f32(_ model: OpaquePointer?, _ codes: UnsafePointer<Int32>?, _ batch: Int32,
                           _ params: UnsafePointer<svq_decode_params>?,
                           _ images: UnsafeMutablePointer<Float>?, _ imagesCapacity: Int) -> svq_status {
    guarded {
        try decode(model, codes, batch, params, images, imagesCapacity) { m, codes, sampling, seed, k in
            try m.decode(codes, sampling: sampling, seed: seed, candidates: k, progress: Callbacks.current).scalars
        }
    }
}

@c @implementation
public func svq_decode_u8(_ model: OpaquePointer?, _ codes: UnsafePointer<Int32>?, _ batch: Int32,
                          _ params: UnsafePointer<svq_decode_params>?,
                          _ images: UnsafeMutablePointer<UInt8>?, _ imagesCapacity: Int) -> svq_status {
    guarded {
        try decode(model, codes, batch, params, images, imagesCapacity) { m, codes, sampling, seed, k in
            try m.decodeUInt8(codes, sampling: sampling, seed: seed, candidates: k, progress: Callbacks.current).scalars
        }
    }
}

/// The checks and copies both pixel types share; `run` decodes.
private func decode<Pixel>(_ handle: OpaquePointer?, _ codes: UnsafePointer<Int32>?, _ batch: Int32,
                           _ params: UnsafePointer<svq_decode_params>?,
                           _ images: UnsafeMutablePointer<Pixel>?, _ imagesCapacity: Int,
                           _ run: (Model, ShapedArray<Int32>, Sampling, UInt64, Int) throws -> [Pixel]) throws {
    let model = try Handles.model(handle)
    let codes = try required(codes, "codes")
    let images = try required(images, "images")
    guard batch >= 1 else { throw SVQError(.invalidArgument, "batch must be at least 1, got \(batch)") }
    let info = model.info, b = Int(batch)
    try checkCapacity(CSize(imagesCapacity), b * info.valuesPerImage, "images")
    let p = params?.pointee ?? svq_decode_default_params()
    let sampling: Sampling
    switch p.sampling {
    case SVQ_SAMPLING_GREEDY:
        sampling = .greedy
    case SVQ_SAMPLING_SAMPLE:
        guard p.top_k >= 0 else { throw SVQError(.invalidArgument, "top_k must be 0 (all tokens) or positive, got \(p.top_k)") }
        sampling = .sampled(temperature: p.temperature, topK: p.top_k == 0 ? nil : Int(p.top_k))
    default:
        throw SVQError(.invalidArgument, "sampling \(p.sampling.rawValue) is neither SVQ_SAMPLING_GREEDY nor SVQ_SAMPLING_SAMPLE")
    }
    let values = Array(UnsafeBufferPointer(start: codes, count: b * info.codesPerImage))
    let shaped = try ShapedArray(values, shape: [b, info.numSlots, info.numBlocks])
    // 0 reads as 1 so that a zero-initialised struct decodes as before candidates existed.
    copy(try run(model, shaped, sampling, p.seed, p.candidates == 0 ? 1 : Int(p.candidates)), to: images)
}
