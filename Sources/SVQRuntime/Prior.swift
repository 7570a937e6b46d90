// svq_prior_sample: code sets from the semantic prior, optionally completing fixed codes.

import CSVQ
import SVQ

@c @implementation
public func svq_prior_sample(_ model: OpaquePointer?, _ count: Int32, _ params: UnsafePointer<svq_prior_params>?,
                             _ fixedCodes: UnsafePointer<Int32>?, _ fixedMask: UnsafePointer<UInt8>?,
                             _ codes: UnsafeMutablePointer<Int32>?, _ codesCapacity: Int) -> svq_status {
    guarded {
        let m = try Handles.model(model)
        let out = try required(codes, "codes")
        guard count >= 1 else { throw SVQError(.invalidArgument, "count must be at least 1, got \(count)") }
        let info = m.info, c = Int(count)
        let shape = [c, info.numSlots, info.numBlocks], total = c * info.codesPerImage
        try checkCapacity(CSize(codesCapacity), total, "codes")
        let p = params?.pointee ?? svq_prior_default_params()
        guard p.top_k >= 0 else { throw SVQError(.invalidArgument, "top_k must be 0 (all codes) or positive, got \(p.top_k)") }
        // Either both or neither: the Swift API reports which one is missing (and a missing or untrained prior).
        let fixed = try fixedCodes.map { try ShapedArray(Array(UnsafeBufferPointer(start: $0, count: total)), shape: shape) }
        let mask = try fixedMask.map { try ShapedArray(UnsafeBufferPointer(start: $0, count: total).map { $0 != 0 }, shape: shape) }
        let sampled = try m.samplePrior(count: c, seed: p.seed, temperature: p.temperature,
                                        topK: p.top_k == 0 ? nil : Int(p.top_k), fixed: fixed, fixedMask: mask,
                                        progress: Callbacks.current)
        copy(sampled.scalars, to: out)
    }
}

@c @implementation
public func svq_codebook(_ model: OpaquePointer?, _ block: Int32, _ out: UnsafeMutablePointer<Float>?,
                         _ capacity: Int) -> svq_status {
    guarded {
        let m = try Handles.model(model)
        let out = try required(out, "out")
        let info = m.info
        guard block >= 0 && Int(block) < info.numBlocks else {
            throw SVQError(.invalidArgument, "block must be from 0 to \(info.numBlocks - 1), got \(block)")
        }
        try checkCapacity(CSize(capacity), info.codebookSize * info.blockSize, "out")
        copy(try m.codebook(block: Int(block)).scalars, to: out)
    }
}
