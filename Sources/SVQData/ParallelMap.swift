// A parallel map for independent, deterministic work items (decoding files, rendering scenes): the result
// for item i depends only on i, so output is identical for any thread count.

import Dispatch
import SVQEngine

/// `transform(i)` for i in 0..<count, spread over `threads` threads in contiguous chunks, in index order.
/// If any item throws, the error of the lowest failing index is rethrown (so the report is deterministic).
func parallelMap<T>(_ count: Int, threads: Int = Engine.threadCount, _ transform: (Int) throws -> T) throws -> [T] {
    let workers = max(1, min(threads, count))
    if workers == 1 { return try (0..<count).map(transform) }
    let results = UnsafeMutableBufferPointer<Result<T, Error>?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deinitialize(); results.deallocate() }
    let perWorker = (count + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        // Each index is written by exactly one worker, so no locking is needed.
        for i in (worker * perWorker)..<min(count, (worker + 1) * perWorker) {
            results[i] = Result { try transform(i) }
        }
    }
    return try results.map { try $0!.get() }
}
