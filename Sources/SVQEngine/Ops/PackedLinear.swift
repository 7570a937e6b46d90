// A linear layer for inference whose weight is converted once into oneDNN's blocked layout.
//
// Why: a key/value-cached decoding step multiplies a handful of rows (one per sequence of the batch) by each
// weight matrix. sgemm packs its operands on every call, and with 16 rows packing the weight cost more than
// the product itself (35% of sampling the paper-sized prior). Packed once, the same products run ~1.7×
// faster (oneDNN's matmul, measured at 16 × 192 × 576 … 16 × 768 × 192).
//
// Large layers are cut into one slice of output columns per thread; each slice is its own single-threaded
// primitive writing its columns of the row-major output (a strided destination). The slices share the
// engine's threads only when the product is big enough to pay for waking them (`parallelWork`): the small
// products of decoding run on the calling thread. Any oneDNN failure falls back to `linear`.

import CDNNL
import Dispatch

/// `linear(x, weight:, bias:)` for inference, with the weight packed once at init.
///
/// The packed copy is taken at the first product of at least `minimumRows` rows: later changes to the weight
/// tensor are not seen, so make one per decoding run (the prior's `DecodingState` does). No gradients are recorded. Without oneDNN it computes
/// `linear` on the weight tensor it was given.
public final class PackedLinear {
    public let inFeatures: Int
    public let outFeatures: Int
    private let weight: Tensor
    private let bias: Tensor?
    /// Packed on the first product of at least `minimumRows` rows (fewer rows never need it).
    private var packedSlices: [PackedLinearSlice]?
    private let lock = DispatchSemaphore(value: 1)
    public static let minimumRows = 4
    /// Multiply-adds below which the slices run on the calling thread. Waking another thread costs ~10–20 µs
    /// here; the prior's products (16 × 192 × 768: ~40 µs) ran 1.7× slower in total when shared.
    static let parallelWork = 1 << 22

    /// `weight` `[out, in]`, `bias` `[out]`, as `linear` takes them.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "PackedLinear: weight must be [out, in], got \(weight.shape)")
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        if let bias { precondition(bias.shape == [outFeatures], "PackedLinear: bias \(bias.shape) is not [\(outFeatures)]") }
        self.weight = weight.detached()
        self.bias = bias.map { Tensor($0.scalars, shape: $0.shape) }   // a copy: the bias is read at every call
    }

    /// The packed column slices (empty if oneDNN cannot run them).
    private var slices: [PackedLinearSlice] {
        lock.wait()
        defer { lock.signal() }
        if let packedSlices { return packedSlices }
        // One slice per thread when each gets at least two 16-column blocks; the columns stay 16-aligned.
        let threads = Engine.threadCount
        var cuts: [(Int, Int)] = [(0, outFeatures)]
        if threads > 1 && outFeatures >= 32 * threads && inFeatures * outFeatures >= 1 << 18 {
            let per = (outFeatures / threads + 15) / 16 * 16
            cuts = stride(from: 0, to: outFeatures, by: per).map { [outFeatures] in ($0, min(per, outFeatures - $0)) }
        }
        var made: [PackedLinearSlice] = []
        if let engine = OneDNN.engine {
            for (n0, n) in cuts {
                guard let s = PackedLinearSlice(weight: weight.data + n0 * inFeatures, bias: bias.map { $0.data + n0 },
                                                 columns: n0, count: n, inFeatures: inFeatures, outFeatures: outFeatures,
                                                 engine: engine) else { made = []; break }
                made.append(s)
            }
        }
        packedSlices = made
        return made
    }

    /// `x` `[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "PackedLinear: input \(x.shape) does not match [\(outFeatures), \(inFeatures)]")
        let rows = inFeatures == 0 ? 0 : x.count / inFeatures
        // Below a few rows the packed product gains little; one row is a matrix-vector product (sgemv), which
        // reads the weight in place and beat oneDNN's one-row matmul (Haswell and SkylakeX kernels alike).
        guard rows >= PackedLinear.minimumRows, case let slices = self.slices, !slices.isEmpty else {
            return withoutGradients { linear(x, weight: weight, bias: bias) }
        }
        let y = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures], zeroed: false)
        let ok: Bool
        if slices.count == 1 || ParallelRegion.isInside || rows * inFeatures * outFeatures < PackedLinear.parallelWork {
            ok = slices.allSatisfy { $0.run(rows: rows, x: x.data, y: y.data) }
        } else {
            let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: slices.count)
            defer { results.deallocate() }
            results.initialize(repeating: false)
            ParallelRegion.perform(slices.count) { i in results[i] = slices[i].run(rows: rows, x: x.data, y: y.data) }
            ok = results.allSatisfy { $0 }
        }
        return ok ? y : withoutGradients { linear(x, weight: weight, bias: bias) }
    }
}

/// Output columns `columns ..< columns + count` of a packed linear layer: the packed weight slice, its bias,
/// and one matmul primitive per number of rows seen.
final class PackedLinearSlice {
    private let engine: dnnl_engine_t
    private let k, n, ldy, column: Int
    private let bias: UnsafePointer<Float>?
    private var packed: TensorStorage
    private var packedDesc = dnnl_memory_desc_t()

    // Primitives depend on shapes only (buffers are bound at each call), so they are shared by every layer of
    // the same shape and kept for the process: making one compiles a kernel, too slow to repeat for every
    // decoding run.
    private struct Shape: Hashable { let rows, k, n, ldy: Int; let hasBias: Bool }
    private struct Compiled { let primitive: dnnl_primitive_t; let scratchpad: dnnl_memory_desc_t? }
    private static let lock = DispatchSemaphore(value: 1)
    nonisolated(unsafe) private static var compiled: [Shape: Compiled] = [:]
    nonisolated(unsafe) private static var layouts: [Shape: dnnl_memory_desc_t] = [:]

    /// nil when oneDNN cannot make the primitive or pack the weight.
    init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, columns n0: Int, count n: Int,
          inFeatures k: Int, outFeatures: Int, engine: dnnl_engine_t) {
        self.engine = engine
        (self.k, self.n, self.ldy, self.column, self.bias) = (k, n, outFeatures, n0, bias)
        packed = TensorStorage(count: 0)
        OneDNN.useCallingThreadOnly()
        // Let oneDNN choose the weight layout for a 16-row product, then pack the [n, k] row-major slice
        // (a [k, n] matrix with strides (1, k)) into it once.
        let layoutKey = Shape(rows: 16, k: k, n: n, ldy: outFeatures, hasBias: bias != nil)
        PackedLinearSlice.lock.wait()
        var layout = PackedLinearSlice.layouts[layoutKey]
        if layout == nil, let (p, _, chosen) = makePrimitive(rows: 16, weights: nil) {
            dnnl_primitive_destroy(p)
            layout = chosen
            PackedLinearSlice.layouts[layoutKey] = chosen
        }
        PackedLinearSlice.lock.signal()
        guard let layout else { return nil }
        packedDesc = layout
        var plain = dnnl_memory_desc_t()
        let dims: [Int64] = [Int64(k), Int64(n)], strides: [Int64] = [1, Int64(k)]
        guard dnnl_memory_desc_init_by_strides(&plain, 2, dims, dnnl_f32, strides) == dnnl_success else { return nil }
        packed = TensorStorage(count: (OneDNN.size(packedDesc) + 3) / 4, zeroed: false)
        var rpd: dnnl_primitive_desc_t?
        var reorder: dnnl_primitive_t?
        guard dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, &packedDesc, engine, nil) == dnnl_success,
              let rpd else { return nil }
        defer { dnnl_primitive_desc_destroy(rpd) }
        guard dnnl_primitive_create(&reorder, rpd) == dnnl_success, let reorder else { return nil }
        defer { dnnl_primitive_destroy(reorder) }
        guard let call = OneDNNCall(engine: engine),
              let from = call.memory(plain, UnsafeMutableRawPointer(mutating: weight)),
              let to = call.memory(packedDesc, UnsafeMutableRawPointer(packed.pointer)),
              call.reorder(reorder, from: from, to: to), call.wait() else { return nil }
    }

    private func descriptors(rows m: Int) -> (src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, bias: dnnl_memory_desc_t)? {
        var src = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t(), b = dnnl_memory_desc_t()
        let srcDims: [Int64] = [Int64(m), Int64(k)], dstDims: [Int64] = [Int64(m), Int64(n)]
        let dstStrides: [Int64] = [Int64(ldy), 1], biasDims: [Int64] = [1, Int64(n)]
        guard dnnl_memory_desc_init_by_tag(&src, 2, srcDims, dnnl_f32, dnnl_ab) == dnnl_success,
              dnnl_memory_desc_init_by_strides(&dst, 2, dstDims, dnnl_f32, dstStrides) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&b, 2, biasDims, dnnl_f32, dnnl_ab) == dnnl_success
        else { return nil }
        return (src, dst, b)
    }

    /// A matmul primitive for `rows` rows; `weights` nil lets oneDNN choose the layout (returned as `chosen`).
    private func makePrimitive(rows m: Int, weights: dnnl_memory_desc_t?)
        -> (dnnl_primitive_t, scratchpad: dnnl_memory_desc_t?, chosen: dnnl_memory_desc_t)? {
        guard var (src, dst, b) = descriptors(rows: m) else { return nil }
        var w = dnnl_memory_desc_t()
        if let weights {
            w = weights
        } else {
            let dims: [Int64] = [Int64(k), Int64(n)]
            guard dnnl_memory_desc_init_by_tag(&w, 2, dims, dnnl_f32, dnnl_format_tag_any) == dnnl_success else { return nil }
        }
        var desc = dnnl_matmul_desc_t()
        let status = bias != nil ? dnnl_matmul_desc_init(&desc, &src, &w, &b, &dst)
                                 : dnnl_matmul_desc_init(&desc, &src, &w, nil, &dst)
        guard status == dnnl_success else { return nil }
        guard let attr = OneDNN.userScratchpadAttributes() else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)?.pointee else { return nil }
        let scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { return nil }
        return (primitive, scratch.flatMap { OneDNN.size($0) > 0 ? $0 : nil }, chosen)
    }

    /// y[:, column ..< column + n] = x · Wᵀ + b for `rows` rows of `x` `[rows, k]`; false if oneDNN failed.
    func run(rows m: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) -> Bool {
        OneDNN.useCallingThreadOnly()
        let key = Shape(rows: m, k: k, n: n, ldy: ldy, hasBias: bias != nil)
        PackedLinearSlice.lock.wait()
        var entry = PackedLinearSlice.compiled[key]
        if entry == nil, let made = makePrimitive(rows: m, weights: packedDesc) {
            entry = Compiled(primitive: made.0, scratchpad: made.scratchpad)
            PackedLinearSlice.compiled[key] = entry
        }
        PackedLinearSlice.lock.signal()
        guard let entry, let (src, dst, b) = descriptors(rows: m), let call = OneDNNCall(engine: engine),
              let ms = call.memory(src, UnsafeMutableRawPointer(mutating: x)),
              let mw = call.memory(packedDesc, UnsafeMutableRawPointer(packed.pointer)),
              let md = call.memory(dst, UnsafeMutableRawPointer(y + column))
        else { return false }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: ms), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: mw),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: md)]
        if let bias {
            guard let mb = call.memory(b, UnsafeMutableRawPointer(mutating: bias)) else { return false }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: mb))
        }
        if let scratchpad = entry.scratchpad {
            guard let m = call.temporary(scratchpad) else { return false }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: m))
        }
        return call.run(entry.primitive, args) && call.wait()
    }
}
