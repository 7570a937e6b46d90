// What the engine's oneDNN users share: the process-wide CPU engine, OpenMP's thread count (one), primitive
// attributes, and one call's stream and memory objects (`OneDNNCall`).

import CDNNL

#if canImport(Glibc)
import Glibc
#endif

enum OneDNN {
    /// The CPU engine; nil if oneDNN cannot create one (the callers then use their fallbacks).
    static let engine: dnnl_engine_t? = {
        var e: dnnl_engine_t?
        guard dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success else { return nil }
        return e
    }()

    // libgomp comes with libdnnl, not as a link dependency of ours, so its control is looked up at run time.
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private static let ompSetNumThreads: SetThreads? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0) /* RTLD_DEFAULT */, "omp_set_num_threads")
        else { return nil }
        return unsafeBitCast(sym, to: SetThreads.self)
    }()

    /// Makes oneDNN's next calls from this thread run on it alone (OpenMP's thread count is per thread), so
    /// that OpenMP never starts a team: the engine's parallelism is its own pool's (see DirectConvolution).
    static func useCallingThreadOnly() { ompSetNumThreads?(1) }

    /// Primitive attributes with a caller-provided scratchpad: primitives are shared between threads, so each
    /// call passes its own. The caller destroys the result.
    static func userScratchpadAttributes() -> dnnl_primitive_attr_t? {
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success, let attr else { return nil }
        guard dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success else {
            dnnl_primitive_attr_destroy(attr)
            return nil
        }
        return attr
    }

    /// Bytes of memory a descriptor describes.
    static func size(_ desc: dnnl_memory_desc_t) -> Int {
        var d = desc
        return Int(dnnl_memory_desc_get_size(&d))
    }
}

/// One call into oneDNN: its stream, the memory objects wrapping the caller's buffers, and the temporary
/// buffers (from tensor storage) it needs; all released when the call ends.
final class OneDNNCall {
    private let engine: dnnl_engine_t
    private let stream: dnnl_stream_t
    private var memories: [dnnl_memory_t] = []
    private var temporaries: [TensorStorage] = []

    init?(engine: dnnl_engine_t) {
        var s: dnnl_stream_t?
        guard dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let s else { return nil }
        self.engine = engine
        stream = s
    }

    deinit {
        for m in memories { dnnl_memory_destroy(m) }
        dnnl_stream_destroy(stream)
    }

    /// A memory object over `handle` laid out as `desc`.
    func memory(_ desc: dnnl_memory_desc_t, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t? {
        var d = desc
        var m: dnnl_memory_t?
        guard dnnl_memory_create(&m, &d, engine, handle) == dnnl_success, let m else { return nil }
        memories.append(m)
        return m
    }

    /// A memory object over a new temporary buffer laid out as `desc` (kept until the call ends).
    func temporary(_ desc: dnnl_memory_desc_t) -> dnnl_memory_t? {
        let buffer = TensorStorage(count: (OneDNN.size(desc) + 3) / 4, zeroed: false)
        temporaries.append(buffer)
        return memory(desc, UnsafeMutableRawPointer(buffer.pointer))
    }

    /// Queues `primitive` with `args`; false if oneDNN refuses.
    func run(_ primitive: dnnl_primitive_t, _ args: [dnnl_exec_arg_t]) -> Bool {
        args.withUnsafeBufferPointer {
            dnnl_primitive_execute(primitive, stream, Int32($0.count), $0.baseAddress)
        } == dnnl_success
    }

    /// Queues a reorder primitive from one memory to another.
    func reorder(_ primitive: dnnl_primitive_t, from: dnnl_memory_t, to: dnnl_memory_t) -> Bool {
        run(primitive, [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)])
    }

    /// Waits for everything queued; false if oneDNN reports an error.
    func wait() -> Bool { dnnl_stream_wait(stream) == dnnl_success }
}
