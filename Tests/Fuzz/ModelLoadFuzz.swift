// libFuzzer harness: any bytes to svq_model_load_memory. A load must succeed or say SVQ_STATUS_INVALID_MODEL
// (anything else, SVQ_STATUS_INTERNAL_ERROR included, is a bug), and a model that loads must work: its
// sizes, codebooks, a decode, an encode and (with a prior) a prior sample all succeed with valid outputs.

import CSVQ

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelLoad(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var model: OpaquePointer? = nil
    let status = svq_model_load_memory(data, size, &model)
    guard status == SVQ_STATUS_OK else {
        require(status == SVQ_STATUS_INVALID_MODEL, "load: \(describe(status))")
        require(model == nil, "a failed load returned a model")
        return 0
    }
    defer { svq_model_free(model) }
    useLoadedModel(model!)
    return 0
}

/// One call of each kind with valid arguments; each must succeed and give outputs in range.
func useLoadedModel(_ model: OpaquePointer) {
    var info = svq_info()
    expectOK(svq_model_info(model, &info), "svq_model_info")
    let s = Int(info.image_size), c = Int(info.image_channels)
    let codeCount = Int(info.num_slots * info.num_blocks), width = Int(info.slot_size / info.num_blocks)
    for block in 0..<info.num_blocks {
        var book = [Float](repeating: 0, count: Int(info.codebook_size) * width)
        expectOK(svq_codebook(model, block, &book, book.count), "svq_codebook")
    }
    var codes = [Int32](repeating: 0, count: codeCount)
    var image = [Float](repeating: 0, count: s * s * c)
    expectOK(svq_decode_f32(model, codes, 1, nil, &image, image.count), "svq_decode_f32")
    require(image.allSatisfy { $0 >= 0 && $0 <= 1 }, "decoded pixels outside [0, 1]")
    expectOK(svq_encode_f32(model, image, 1, info.image_size, info.image_size, info.image_channels, nil,
                            &codes, codes.count, nil, 0, nil, 0), "svq_encode_f32")
    expectCodes(codes, info)
    if info.has_prior {
        expectOK(svq_prior_sample(model, 1, nil, nil, nil, &codes, codes.count), "svq_prior_sample")
        expectCodes(codes, info)
    }
}
