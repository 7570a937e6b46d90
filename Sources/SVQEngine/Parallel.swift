// How the engine uses the machine's cores: one pool of threads of its own (WorkerPool.swift) for the chunked
// parallel-for of elementwise, im2col and per-row work, for the pieces of large matrix products and for the
// parts of a batch of convolutions (OpenBLAS and oneDNN themselves run single-threaded). One setting
// controls all of them.

import COpenBLAS

#if canImport(Glibc)
import Glibc
#endif

public enum Engine {
    nonisolated(unsafe) private static var threads: Int = {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, n)
    }()

    /// Number of threads used by the engine (parallel loops and split matrix products). Defaults to the core count.
    public static var threadCount: Int { threads }

    /// The most threads the engine runs. Why a bound: each is a thread of the process with its own stack,
    /// made on first use, so a count like Int32.max would exhaust the process long before it helped. 1024 is
    /// above the hardware threads of any current machine (two 128-core sockets with SMT have 512).
    public static let maxThreadCount = 1024

    /// Sets the thread count of the engine's parallel loops and matrix products, clamped to
    /// 1...`maxThreadCount` (the runtime API and the command line refuse counts outside it instead).
    /// Meant to be set once, before work starts.
    public static func setThreadCount(_ n: Int) {
        threads = min(max(1, n), maxThreadCount)
        _ = singleThreadedBLAS
    }

    /// OpenBLAS runs on the calling thread only: the engine splits large products across its own threads
    /// (see `sgemm`). Two pools on two cores fought each other — OpenBLAS's idle workers spin in
    /// sched_yield while ours do elementwise work — which cost ~20% of an encode and most of the second
    /// core in training.
    /// Also replaces OpenBLAS's fallback kernels where it did not recognise the CPU (`BLASKernels`).
    static let singleThreadedBLAS: Void = {
        BLASKernels.replaceFallback()
        openblas_set_num_threads(1)
    }()

    /// Keeps freed memory in the process heap instead of returning it to the kernel (glibc `mallopt`).
    /// Training frees and reallocates the same multi-megabyte activations every step; with glibc's defaults
    /// each is a fresh mmap whose pages the kernel faults in and clears again (~15% of a training step here).
    /// A process-wide setting, so only the training tools call it — never the runtime library.
    public static func retainFreedMemory() {
        #if os(Linux)
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        #endif
    }

    /// OpenBLAS's build configuration string (for benchmark reports).
    public static var blasConfig: String { String(cString: openblas_get_config()) }

    /// The kernels OpenBLAS chose for this CPU at run time (Haswell, Zen, SkylakeX, …; for benchmark reports:
    /// the same build runs different kernels on different machines).
    public static var blasCore: String { String(cString: openblas_get_corename()) }
}

/// Below this many elements a loop runs on the calling thread: dispatch costs more than it saves.
@usableFromInline let parallelGrain = 1 << 15

/// Marks the threads that are running a piece of a parallel loop, so that work started inside one (a
/// product inside a per-head loop, say) runs serially instead of splitting again: two cores have no
/// spare threads for nested parallelism.
@usableFromInline enum ParallelRegion {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    @usableFromInline static var isInside: Bool { pthread_getspecific(key) != nil }

    /// Runs `body(i)` for `i` in `0..<count` on the engine's threads, each call marked as inside a region.
    @usableFromInline static func perform(_ count: Int, _ body: (Int) -> Void) {
        WorkerPool.shared.run(count, threads: Engine.threadCount) { i in marked { body(i) } }
    }

    @inline(__always) private static func marked(_ body: () -> Void) {
        let outer = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        body()
        pthread_setspecific(key, outer)
    }
}

/// Splits `0..<count` into contiguous chunks and runs `body(lo, hi)` on them across the engine's threads.
@inlinable
func parallelChunks(_ count: Int, grain: Int = parallelGrain, _ body: (Int, Int) -> Void) {
    let workers = Engine.threadCount
    if workers <= 1 || count < 2 * grain || ParallelRegion.isInside {
        if count > 0 { body(0, count) }
        return
    }
    let chunks = min(workers, (count + grain - 1) / grain)
    let per = (count + chunks - 1) / chunks
    ParallelRegion.perform(chunks) { c in
        let lo = c * per
        let hi = min(count, lo + per)
        if lo < hi { body(lo, hi) }
    }
}

/// Runs `body(i)` for each of `count` independent items (rows, images, heads) across the engine's threads.
/// `costPerItem` (in elements touched) decides whether spreading the work is worth it.
@inlinable
func parallelItems(_ count: Int, costPerItem: Int, _ body: (Int) -> Void) {
    let workers = Engine.threadCount
    if workers <= 1 || count <= 1 || count * costPerItem < 2 * parallelGrain || ParallelRegion.isInside {
        for i in 0..<count { body(i) }
        return
    }
    let chunks = min(workers, count)
    let per = (count + chunks - 1) / chunks
    ParallelRegion.perform(chunks) { c in
        let lo = c * per
        let hi = min(count, lo + per)
        for i in lo..<max(lo, hi) { body(i) }
    }
}

extension Engine {
    /// Runs `body(i)` for `count` independent items across the engine's threads (serially when the total
    /// work, `count · costPerItem` elements, is too small to be worth dispatching).
    public static func parallelFor(_ count: Int, costPerItem: Int, _ body: (Int) -> Void) {
        parallelItems(count, costPerItem: costPerItem, body)
    }
}

#if os(Linux)
// <malloc.h> is not part of Swift's Glibc module; mallopt's C signature is stable.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
