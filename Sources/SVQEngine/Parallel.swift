// How the engine uses the machine's cores: one team of threads — libgomp's, the one oneDNN's convolutions
// run on (Dispatch when libgomp is missing) — for the chunked parallel-for of elementwise, im2col and per-row
// work and for the pieces of large matrix products (OpenBLAS itself runs single-threaded). One setting
// controls all of them.

import COpenBLAS
import Dispatch

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

    /// The most threads the engine runs. Why a bound: libgomp makes a team of whatever size it is asked
    /// for, and at 50 000 it exits the process, at 100 000 it crashes, at Int32.max it tries to allocate
    /// 481 GB. 1024 is above the hardware threads of any current machine (two 128-core sockets with SMT
    /// have 512), and a team that size starts in well under a second (about 70 KB per thread).
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
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

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
        if OpenMPTeam.isAvailable {
            OpenMPTeam.run(count, threads: min(count, Engine.threadCount)) { i in marked { body(i) } }
        } else {
            DispatchQueue.concurrentPerform(iterations: count) { i in marked { body(i) } }
        }
    }

    @inline(__always) private static func marked(_ body: () -> Void) {
        let outer = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        body()
        pthread_setspecific(key, outer)
    }
}

/// The engine's parallel loops on libgomp's thread team — the team oneDNN's convolutions run on.
/// Why: with two pools (Dispatch for our loops, OpenMP inside oneDNN) each pool's idle workers spin or sleep
/// while the other works. On two cores the OpenMP worker left spinning after a batch-1 convolution took the
/// core our next loop needed, and a Dispatch worker woken from sleep for each small loop cost ~10–20 µs.
/// One team keeps one warm worker per core. libgomp comes with libdnnl (not as our link dependency), so its
/// entry points are looked up at run time; without them the loops run on Dispatch.
enum OpenMPTeam {
    // GCC's ABI for `#pragma omp parallel`: runs fn(data) on a team of `threads` (0: the default), the
    // calling thread being member 0.
    private typealias Parallel = @convention(c) (
        @convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    private typealias ThreadNumber = @convention(c) () -> Int32

    private static let entry: (parallel: Parallel, threadNumber: ThreadNumber)? = {
        let any = UnsafeMutableRawPointer(bitPattern: 0)   // RTLD_DEFAULT
        guard let p = dlsym(any, "GOMP_parallel"), let n = dlsym(any, "omp_get_thread_num") else { return nil }
        return (unsafeBitCast(p, to: Parallel.self), unsafeBitCast(n, to: ThreadNumber.self))
    }()

    static var isAvailable: Bool { entry != nil }

    private struct Job {
        let body: (Int) -> Void
        let count: Int
        let threads: Int
        let threadNumber: ThreadNumber
    }

    /// `body(i)` for i in 0..<count, member t of the team taking i = t, t + threads, …
    static func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        guard let entry else { preconditionFailure("OpenMPTeam.run without libgomp") }
        withoutActuallyEscaping(body) { body in
            var job = Job(body: body, count: count, threads: max(1, threads), threadNumber: entry.threadNumber)
            withUnsafeMutablePointer(to: &job) { pointer in
                entry.parallel({ raw in
                    let job = raw!.assumingMemoryBound(to: Job.self).pointee
                    var i = Int(job.threadNumber())
                    while i < job.count {
                        job.body(i)
                        i += job.threads
                    }
                }, UnsafeMutableRawPointer(pointer), UInt32(max(1, threads)), 0)
            }
        }
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
