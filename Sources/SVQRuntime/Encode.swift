// svq_encode_f32 / svq_encode_u8: NHWC images → codes, and optionally masks and slots.

import CSVQ
@_spi(CAPI) import SVQ

@c @implementation
public func svq_encode_f32(_ model: OpaquePointer?, _ images: UnsafePointer<Float>?, _ batch: Int32,
                           _ height: Int32, _ width: Int32, _ channels: Int32,
                           _ params: UnsafePointer<svq_encode_params>?,
                           _ codes: UnsafeMutablePointer<Int32>?, _ codesCapacity: Int,
                           _ masks: UnsafeMutablePointer<Float>?, _ masksCapacity: Int,
                           _ slots: UnsafeMutablePointer<Float>?, _ slotsCapacity: Int) -> svq_status {
    guarded {
        try encode(model, images, batch, height, width, channels, params, codes, codesCapacity,
                   masks, masksCapacity, slots, slotsCapacity) { m, pixels, shape, seed, wantMasks, wantSlots in
            try m.encode(try ShapedArray(pixels, shape: shape), seed: seed, masks: wantMasks, slots: wantSlots,
                         progress: Callbacks.current)
        }
    }
}

@c @implementation
public func svq_encode_u8(_ model: OpaquePointer?, _ images: UnsafePointer<UInt8>?, _ batch: Int32,
                          _ height: Int32, _ width: Int32, _ channels: Int32,
                          _ params: UnsafePointer<svq_encode_params>?,
                          _ codes: UnsafeMutablePointer<Int32>?, _ codesCapacity: Int,
                          _ masks: UnsafeMutablePointer<Float>?, _ masksCapacity: Int,
                          _ slots: UnsafeMutablePointer<Float>?, _ slotsCapacity: Int) -> svq_status {
    guarded {
        try encode(model, images, batch, height, width, channels, params, codes, codesCapacity,
                   masks, masksCapacity, slots, slotsCapacity) { m, pixels, shape, seed, wantMasks, wantSlots in
            try m.encode(try ShapedArray(pixels, shape: shape), seed: seed, masks: wantMasks, slots: wantSlots,
                         progress: Callbacks.current)
        }
    }
}

/// The checks and copies both pixel types share; `run` encodes the copied pixels.
private func encode<Pixel>(_ handle: OpaquePointer?, _ images: UnsafePointer<Pixel>?, _ batch: Int32,
                           _ height: Int32, _ width: Int32, _ channels: Int32,
                           _ params: UnsafePointer<svq_encode_params>?,
                           _ codes: UnsafeMutablePointer<Int32>?, _ codesCapacity: Int,
                           _ masks: UnsafeMutablePointer<Float>?, _ masksCapacity: Int,
                           _ slots: UnsafeMutablePointer<Float>?, _ slotsCapacity: Int,
                           _ run: (Model, [Pixel], [Int], UInt64, Bool, Bool) throws -> EncodeResult) throws {
    let model = try Handles.model(handle)
    let images = try required(images, "images")
    let codes = try required(codes, "codes")
    let info = model.info
    let shape = [Int(batch), Int(height), Int(width), Int(channels)]
    let b = try info.checkImageShape(shape)
    let n = info.numSlots, s = info.imageSize
    // Per-image counts are below 2³¹ (SVQConfig.validate) and batch is an Int32: these products cannot overflow.
    try checkCapacity(CSize(codesCapacity), b * n * info.numBlocks, "codes")
    if masks != nil { try checkCapacity(CSize(masksCapacity), b * n * s * s, "masks") }
    if slots != nil { try checkCapacity(CSize(slotsCapacity), b * n * info.slotSize, "slots") }
    let seed = params?.pointee.seed ?? svq_encode_default_params().seed
    let pixels = Array(UnsafeBufferPointer(start: images, count: b * info.valuesPerImage))
    let result = try run(model, pixels, shape, seed, masks != nil, slots != nil)
    copy(result.codes.scalars, to: codes)
    if let masks, let values = result.masks?.scalars { copy(values, to: masks) }
    if let slots, let values = result.slots?.scalars { copy(values, to: slots) }
}

/// Copies `values` to the start of `out` (whose capacity the caller checked).
func copy<T>(_ values: [T], to out: UnsafeMutablePointer<T>) {
    values.withUnsafeBufferPointer { if let base = $0.baseAddress { out.update(from: base, count: values.count) } }
}
