// Model lifetime in svq.h: load from a file or memory, free, and the sizes.

import CSVQ
import Foundation
@_spi(CAPI) import SVQ

@c @implementation
public func svq_model_load_file(_ path: UnsafePointer<CChar>?,
                                _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> svq_status {
    outModel?.pointee = nil
    return guarded {
        let out = try required(outModel, "out_model")
        let model = try Model(path: try required(path, "path"))
        out.pointee = Handles.register(model)
    }
}

@c @implementation
public func svq_model_load_memory(_ data: UnsafeRawPointer?, _ size: Int,
                                  _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> svq_status {
    outModel?.pointee = nil
    return guarded {
        let out = try required(outModel, "out_model")
        let count = try CSize(size).count("size", atMost: maxMemoryModelBytes)
        // Parsed in place, not copied: the model copies each tensor it loads and keeps nothing of the bytes,
        // so a size larger than the caller's buffer is never allocated (it fails as a truncated file does).
        let bytes = count == 0 ? Data()
            : Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: try required(data, "data")), count: count, deallocator: .none)
        out.pointee = Handles.register(try Model(data: bytes))
    }
}

/// The largest `size` svq_model_load_memory takes: 2⁶⁰ bytes, beyond any machine's address space (64-bit
/// processors address at most 2⁵⁷), so a larger size is a mistake, never a buffer — and Foundation's Data,
/// which the parser reads through, traps from just under 2⁶² on.
let maxMemoryModelBytes = 1 << 60

@c @implementation
public func svq_model_free(_ model: OpaquePointer?) {
    guard let model else { return }
    Handles.remove(model)
}

@c @implementation
public func svq_model_info(_ model: OpaquePointer?, _ outInfo: UnsafeMutablePointer<svq_info>?) -> svq_status {
    guarded {
        let m = try Handles.model(model)
        let out = try required(outInfo, "out_info")
        let i = m.info
        out.pointee = svq_info(
            image_size: Int32(i.imageSize), image_channels: Int32(i.imageChannels), num_slots: Int32(i.numSlots),
            num_blocks: Int32(i.numBlocks), codebook_size: Int32(i.codebookSize), slot_size: Int32(i.slotSize),
            vocab_size: Int32(i.vocabSize), tokens_per_image: Int32(i.tokensPerImage), has_prior: i.hasPrior)
    }
}
