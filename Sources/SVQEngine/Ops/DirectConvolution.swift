// conv2d on oneDNN's direct convolution kernels.
//
// Why: lowering a 5×5 convolution with 32 channels to sgemm (see Im2colConvolution.swift) reaches ~100 GFLOP/s
// here; oneDNN's JIT kernels on channel-blocked layouts (nChw16c with AVX-512) reach ~230 including the
// conversions to and from our NCHW tensors — the gap that kept encode behind ONNX Runtime's own direct
// convolutions.
//
// How: one oneDNN primitive per (shape, direction, fused ReLU), created on first use and kept
// in a small cache. oneDNN picks the blocked layouts ("format any"); each call converts the NCHW input and
// the OIHW weights into them with reorder primitives, runs the convolution, and converts the result back.
// Temporary buffers and the primitive's scratchpad come from tensor storage (the buffer cache), so a call
// allocates nothing the cache cannot serve. Primitives are shared between threads, so each call passes its
// own scratchpad (oneDNN's "user" scratchpad mode) and its own stream.
//
// Threads: every primitive runs single-threaded on the thread that calls it; a batch is split into parts,
// one per thread of the engine's pool (see `batchParts`). Debian's oneDNN runs on OpenMP, whose team neither
// survives a fork nor yields the cores on a busy machine (see WorkerPool.swift), so it is never given more
// than the calling thread.
// Any oneDNN failure (an unsupported shape, no memory) returns false and the caller falls back to the im2col
// lowering (Im2colConvolution.swift), which handles every shape.

import CDNNL
import Dispatch

/// What a direct convolution primitive computes.
enum DirectConvKind: Hashable {
    /// y = conv(x, w) + b, then max(y, 0) when `relu`.
    case forward(relu: Bool)
    /// dx from dy and w.
    case backwardData
    /// dw from x and dy (the bias gradient is summed by the caller).
    case backwardWeights
}

enum DirectConvolution {
    /// y[B, Cout, Ho, Wo] = conv(x, w) + bias (then ReLU when asked). False when oneDNN could not run it.
    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, relu: Bool) -> Bool {
        eachBatchPart(g) { part, b0, _ in
            guard let p = primitive(part, .forward(relu: relu), hasBias: bias != nil) else { return false }
            var operands = [
                Operand(arg: DNNL_ARG_SRC, user: UnsafeMutableRawPointer(mutating: x + b0 * g.cin * g.inPlane), isOutput: false),
                Operand(arg: DNNL_ARG_WEIGHTS, user: UnsafeMutableRawPointer(mutating: w), isOutput: false),
                Operand(arg: DNNL_ARG_DST, user: UnsafeMutableRawPointer(y + b0 * g.cout * g.outPlane), isOutput: true),
            ]
            if let bias { operands.append(Operand(arg: DNNL_ARG_BIAS, user: UnsafeMutableRawPointer(mutating: bias), isOutput: false)) }
            return p.execute(operands)
        }
    }

    /// dx[B, Cin, H, W] (overwritten) from dy and w. False when oneDNN could not run it.
    static func backwardData(_ g: ConvGeometry, w: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                             dx: UnsafeMutablePointer<Float>) -> Bool {
        eachBatchPart(g) { part, b0, _ in
            guard let p = primitive(part, .backwardData, hasBias: false) else { return false }
            return p.execute([
                Operand(arg: DNNL_ARG_DIFF_DST, user: UnsafeMutableRawPointer(mutating: dy + b0 * g.cout * g.outPlane), isOutput: false),
                Operand(arg: DNNL_ARG_WEIGHTS, user: UnsafeMutableRawPointer(mutating: w), isOutput: false),
                Operand(arg: DNNL_ARG_DIFF_SRC, user: UnsafeMutableRawPointer(dx + b0 * g.cin * g.inPlane), isOutput: true),
            ])
        }
    }

    /// dw[Cout, Cin, kh, kw] (overwritten) from x and dy. False when oneDNN could not run it.
    /// Split over the batch, each part writes its own partial sum; the parts are added in a fixed order.
    static func backwardWeights(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                dw: UnsafeMutablePointer<Float>) -> Bool {
        let n = g.cout * g.cin * g.kh * g.kw
        let partials = TensorStorage(count: max(0, batchParts(g).count - 1) * n, zeroed: false)
        let ok = eachBatchPart(g) { part, b0, index in
            guard let p = primitive(part, .backwardWeights, hasBias: false) else { return false }
            let out = index == 0 ? dw : partials.pointer + (index - 1) * n
            return p.execute([
                Operand(arg: DNNL_ARG_SRC, user: UnsafeMutableRawPointer(mutating: x + b0 * g.cin * g.inPlane), isOutput: false),
                Operand(arg: DNNL_ARG_DIFF_DST, user: UnsafeMutableRawPointer(mutating: dy + b0 * g.cout * g.outPlane), isOutput: false),
                Operand(arg: DNNL_ARG_DIFF_WEIGHTS, user: UnsafeMutableRawPointer(out), isOutput: true),
            ])
        }
        guard ok else { return false }
        for k in 0..<(partials.count / max(n, 1)) { saxpy(n, 1, partials.pointer + k * n, dw) }
        return true
    }

    // MARK: Splitting the batch

    /// Up to one part per thread of the engine, whole images each (a single image runs on the calling thread).
    /// Why whole images: with oneDNN's own split across an OpenMP team, a batch-16 encode measured the same
    /// (28.3 vs 28.6 ms), and an image's result does not depend on the part it is in.
    private static func batchParts(_ g: ConvGeometry) -> [(b0: Int, count: Int)] {
        let parts = min(Engine.threadCount, g.batch)
        guard parts > 1, !ParallelRegion.isInside else { return [(0, g.batch)] }
        let per = (g.batch + parts - 1) / parts
        return stride(from: 0, to: g.batch, by: per).map { ($0, min(per, g.batch - $0)) }
    }

    /// Runs `body(geometry of the part, its first image, its index)` for each part of the batch, in parallel;
    /// true if all succeed.
    private static func eachBatchPart(_ g: ConvGeometry, _ body: (ConvGeometry, Int, Int) -> Bool) -> Bool {
        let parts = batchParts(g)
        if parts.count == 1 { return body(g, 0, 0) }
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: parts.count)
        defer { results.deallocate() }
        results.initialize(repeating: false)
        ParallelRegion.perform(parts.count) { i in
            results[i] = body(g.withBatch(parts[i].count), parts[i].b0, i)
        }
        return results.allSatisfy { $0 }
    }

    // MARK: Primitive cache

    private struct Key: Hashable {
        let geometry: ConvGeometry
        let kind: DirectConvKind
        let hasBias: Bool
    }

    private static let lock = DispatchSemaphore(value: 1)
    /// nil values remember shapes oneDNN refused, so they are not tried again.
    nonisolated(unsafe) private static var cache: [Key: DirectConvPrimitive?] = [:]
    nonisolated(unsafe) private static var order: [Key] = []
    /// Enough for every layer of a model in both directions at two batch sizes.
    private static let capacity = 96

    private static func primitive(_ g: ConvGeometry, _ kind: DirectConvKind, hasBias: Bool) -> DirectConvPrimitive? {
        guard let engine = OneDNN.engine else { return nil }
        OneDNN.useCallingThreadOnly()
        let key = Key(geometry: g, kind: kind, hasBias: hasBias)
        lock.wait()
        defer { lock.signal() }
        if let known = cache[key] { return known }
        let made = DirectConvPrimitive(g, kind, hasBias: hasBias, engine: engine)
        if order.count >= capacity {
            cache[order.removeFirst()] = nil
        }
        cache[key] = .some(made)
        order.append(key)
        return made
    }
}

/// A caller's buffer (plain layout) bound to a primitive argument.
struct Operand {
    let arg: Int32
    let user: UnsafeMutableRawPointer
    let isOutput: Bool
}

/// One oneDNN convolution primitive with the reorders between our plain layouts and the ones it chose.
final class DirectConvPrimitive {
    private struct Binding {
        var plain: dnnl_memory_desc_t
        var chosen: dnnl_memory_desc_t
        /// Plain → chosen for inputs, chosen → plain for outputs; nil when the layouts are the same.
        var reorder: dnnl_primitive_t?
    }

    private let engine: dnnl_engine_t
    private var primitive: dnnl_primitive_t?
    private var bindings: [Int32: Binding] = [:]
    private var scratchpad: dnnl_memory_desc_t?

    /// nil when oneDNN does not support the shape (or any call fails).
    init?(_ g: ConvGeometry, _ kind: DirectConvKind, hasBias: Bool, engine: dnnl_engine_t) {
        self.engine = engine
        guard build(g, kind, hasBias: hasBias) else { return nil }
    }

    deinit {
        if let primitive { dnnl_primitive_destroy(primitive) }
        for b in bindings.values { if let r = b.reorder { dnnl_primitive_destroy(r) } }
    }

    private func build(_ g: ConvGeometry, _ kind: DirectConvKind, hasBias: Bool) -> Bool {
        var src = dnnl_memory_desc_t(), wts = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t()
        var bias = dnnl_memory_desc_t()
        var srcAny = dnnl_memory_desc_t(), wtsAny = dnnl_memory_desc_t(), dstAny = dnnl_memory_desc_t()
        let srcDims: [Int64] = [g.batch, g.cin, g.h, g.w].map(Int64.init)
        let wtsDims: [Int64] = [g.cout, g.cin, g.kh, g.kw].map(Int64.init)
        let dstDims: [Int64] = [g.batch, g.cout, g.ho, g.wo].map(Int64.init)
        let biasDims: [Int64] = [Int64(g.cout)]
        guard dnnl_memory_desc_init_by_tag(&src, 4, srcDims, dnnl_f32, dnnl_nchw) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&wts, 4, wtsDims, dnnl_f32, dnnl_oihw) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&dst, 4, dstDims, dnnl_f32, dnnl_nchw) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&bias, 1, biasDims, dnnl_f32, dnnl_x) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&srcAny, 4, srcDims, dnnl_f32, dnnl_format_tag_any) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&wtsAny, 4, wtsDims, dnnl_f32, dnnl_format_tag_any) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&dstAny, 4, dstDims, dnnl_f32, dnnl_format_tag_any) == dnnl_success
        else { return false }
        let strides: [Int64] = [Int64(g.sh), Int64(g.sw)]
        let padding: [Int64] = [Int64(g.ph), Int64(g.pw)]

        guard let attr = OneDNN.userScratchpadAttributes() else { return false }
        defer { dnnl_primitive_attr_destroy(attr) }

        // The forward descriptor: the primitive itself, or the hint a backward primitive is built against.
        func forwardDescriptor(_ prop: dnnl_prop_kind_t) -> dnnl_convolution_desc_t? {
            var d = dnnl_convolution_desc_t()
            let status = hasBias
                ? dnnl_convolution_forward_desc_init(&d, prop, dnnl_convolution_direct, &srcAny, &wtsAny, &bias,
                                                     &dstAny, strides, padding, padding)
                : dnnl_convolution_forward_desc_init(&d, prop, dnnl_convolution_direct, &srcAny, &wtsAny, nil,
                                                     &dstAny, strides, padding, padding)
            return status == dnnl_success ? d : nil
        }

        var pd: dnnl_primitive_desc_t?
        switch kind {
        case .forward(let relu):
            guard var d = forwardDescriptor(dnnl_forward_inference) else { return false }
            if relu {
                var ops: dnnl_post_ops_t?
                guard dnnl_post_ops_create(&ops) == dnnl_success, let ops else { return false }
                defer { dnnl_post_ops_destroy(ops) }
                guard dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0) == dnnl_success,
                      dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success
                else { return false }
            }
            guard dnnl_primitive_desc_create(&pd, &d, attr, engine, nil) == dnnl_success, let pd else { return false }
            defer { dnnl_primitive_desc_destroy(pd) }
            guard bind(DNNL_ARG_SRC, plain: src, pd, dnnl_query_src_md, output: false),
                  bind(DNNL_ARG_WEIGHTS, plain: wts, pd, dnnl_query_weights_md, output: false),
                  bind(DNNL_ARG_DST, plain: dst, pd, dnnl_query_dst_md, output: true),
                  !hasBias || bind(DNNL_ARG_BIAS, plain: bias, pd, dnnl_query_weights_md, index: 1, output: false),
                  finish(pd) else { return false }
        case .backwardData, .backwardWeights:
            guard var fd = forwardDescriptor(dnnl_forward_training) else { return false }
            var hint: dnnl_primitive_desc_t?
            guard dnnl_primitive_desc_create(&hint, &fd, nil, engine, nil) == dnnl_success, let hint else { return false }
            defer { dnnl_primitive_desc_destroy(hint) }
            var d = dnnl_convolution_desc_t()
            // Each direction's descriptor, and its operands: (argument, plain layout, query, is output).
            let described: dnnl_status_t
            let operands: [(Int32, dnnl_memory_desc_t, dnnl_query_t, Bool)]
            if kind == .backwardData {
                described = dnnl_convolution_backward_data_desc_init(
                    &d, dnnl_convolution_direct, &srcAny, &wtsAny, &dstAny, strides, padding, padding)
                operands = [(DNNL_ARG_DIFF_DST, dst, dnnl_query_diff_dst_md, false),
                            (DNNL_ARG_WEIGHTS, wts, dnnl_query_weights_md, false),
                            (DNNL_ARG_DIFF_SRC, src, dnnl_query_diff_src_md, true)]
            } else {
                described = dnnl_convolution_backward_weights_desc_init(
                    &d, dnnl_convolution_direct, &srcAny, &wtsAny, nil, &dstAny, strides, padding, padding)
                operands = [(DNNL_ARG_SRC, src, dnnl_query_src_md, false),
                            (DNNL_ARG_DIFF_DST, dst, dnnl_query_diff_dst_md, false),
                            (DNNL_ARG_DIFF_WEIGHTS, wts, dnnl_query_diff_weights_md, true)]
            }
            guard described == dnnl_success,
                  dnnl_primitive_desc_create(&pd, &d, attr, engine, hint) == dnnl_success, let pd
            else { return false }
            defer { dnnl_primitive_desc_destroy(pd) }
            guard operands.allSatisfy({ bind($0.0, plain: $0.1, pd, $0.2, output: $0.3) }), finish(pd)
            else { return false }
        }
        return true
    }

    /// Records the layout the primitive chose for `arg` and, when it is not `plain`, the reorder to or from it.
    private func bind(_ arg: Int32, plain: dnnl_memory_desc_t, _ pd: dnnl_primitive_desc_t, _ query: dnnl_query_t,
                      index: Int32 = 0, output: Bool) -> Bool {
        guard let chosenPointer = dnnl_primitive_desc_query_md(pd, query, index) else { return false }
        var plain = plain
        var chosen = chosenPointer.pointee
        var binding = Binding(plain: plain, chosen: chosen, reorder: nil)
        if dnnl_memory_desc_equal(&plain, &chosen) == 0 {
            var rpd: dnnl_primitive_desc_t?
            let made = output
                ? dnnl_reorder_primitive_desc_create(&rpd, &chosen, engine, &plain, engine, nil)
                : dnnl_reorder_primitive_desc_create(&rpd, &plain, engine, &chosen, engine, nil)
            guard made == dnnl_success, let rpd else { return false }
            defer { dnnl_primitive_desc_destroy(rpd) }
            var reorder: dnnl_primitive_t?
            guard dnnl_primitive_create(&reorder, rpd) == dnnl_success else { return false }
            binding.reorder = reorder
        }
        bindings[arg] = binding
        return true
    }

    private func finish(_ pd: dnnl_primitive_desc_t) -> Bool {
        if let s = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee, OneDNN.size(s) > 0 {
            scratchpad = s
        }
        return dnnl_primitive_create(&primitive, pd) == dnnl_success
    }

    /// Runs the primitive on the given user buffers (plain layouts). False if oneDNN reports an error.
    func execute(_ operands: [Operand]) -> Bool {
        guard let primitive, let call = OneDNNCall(engine: engine) else { return false }
        var args: [dnnl_exec_arg_t] = []
        var pending: [(dnnl_primitive_t, dnnl_memory_t, dnnl_memory_t)] = []   // output reorders, after the primitive
        for op in operands {
            guard let b = bindings[op.arg], let user = call.memory(b.plain, op.user) else { return false }
            guard let reorder = b.reorder else {
                args.append(dnnl_exec_arg_t(arg: op.arg, memory: user))
                continue
            }
            guard let inner = call.temporary(b.chosen) else { return false }
            args.append(dnnl_exec_arg_t(arg: op.arg, memory: inner))
            if op.isOutput {
                pending.append((reorder, inner, user))
            } else if !call.reorder(reorder, from: user, to: inner) {
                return false
            }
        }
        if let scratchpad {
            guard let m = call.temporary(scratchpad) else { return false }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: m))
        }
        guard call.run(primitive, args) else { return false }
        for (reorder, from, to) in pending {
            guard call.reorder(reorder, from: from, to: to) else { return false }
        }
        return call.wait()
    }
}
