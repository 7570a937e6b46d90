// The engine's own GEMM splitting (large products across its threads) and the cache of freed buffers.

import Dispatch
import XCTest
import SVQEngine

#if canImport(Glibc)
import Glibc
import SVQTestSupport
#endif

final class SplitGemmTests: XCTestCase {
    /// Products large enough to be split, in both directions (wide C: columns; tall C: rows), with every
    /// transpose: every element must match a double-precision reference, and be the same bits on every
    /// thread count (the pieces follow the shape alone: OpenBLAS may sum a narrower piece in another order).
    func testSplitProductsAreTheSameOnEveryThreadCount() {
        let saved = Engine.threadCount
        defer { Engine.setThreadCount(saved) }
        for (m, n, k) in [(40, 700, 64), (700, 40, 64), (130, 257, 33), (1024, 64, 64), (2048, 64, 800)] {
            XCTAssertGreaterThanOrEqual(m * n * k, 1 << 18, "large enough to be split (BLAS.swift, gemmParallelWork)")
            for ta in [false, true] { for tb in [false, true] {
                let a = testTensor(ta ? [k, m] : [m, k], seed: 21, requiresGrad: false)
                let b = testTensor(tb ? [n, k] : [k, n], seed: 22, requiresGrad: false)
                Engine.setThreadCount(1)
                let serial = matmul(a, b, transposeA: ta, transposeB: tb).scalars
                for threads in [2, 5] {
                    Engine.setThreadCount(threads)
                    XCTAssertEqual(matmul(a, b, transposeA: ta, transposeB: tb).scalars, serial,
                                   "\(m)×\(n)×\(k) ta \(ta) tb \(tb) on \(threads) threads")
                }
                Engine.setThreadCount(3)
                let split = matmul(a, b, transposeA: ta, transposeB: tb).scalars
                var worstSplit = 0.0, worstSerial = 0.0
                for i in 0..<m { for j in 0..<n {
                    var ref = 0.0
                    for p in 0..<k {
                        let av = ta ? a.data[p * m + i] : a.data[i * k + p]
                        let bv = tb ? b.data[j * k + p] : b.data[p * n + j]
                        ref += Double(av) * Double(bv)
                    }
                    worstSplit = max(worstSplit, abs(Double(split[i * n + j]) - ref))
                    worstSerial = max(worstSerial, abs(Double(serial[i * n + j]) - ref))
                } }
                XCTAssertLessThan(worstSplit, 1e-4, "\(m)×\(n)×\(k) ta \(ta) tb \(tb)")
                XCTAssertLessThan(worstSerial, 1e-4, "\(m)×\(n)×\(k) ta \(ta) tb \(tb)")
            } }
        }
    }

    /// One-row and one-column products are matrix-vector products (sgemv, every transpose): each element
    /// must match a double-precision reference, alone and as the matrices of a batched product.
    func testOneRowAndOneColumnProductsMatchADoubleReference() {
        for (batch, m, n, k) in [(1, 1, 37, 19), (1, 23, 1, 19), (1, 1, 1, 7), (3, 1, 300, 64), (3, 300, 1, 64)] {
            for ta in [false, true] { for tb in [false, true] {
                let a = testTensor([batch] + (ta ? [k, m] : [m, k]), seed: 25, requiresGrad: false)
                let b = testTensor([batch] + (tb ? [n, k] : [k, n]), seed: 26, requiresGrad: false)
                let c = matmul(a, b, transposeA: ta, transposeB: tb)
                XCTAssertEqual(c.shape, [batch, m, n])
                var worst = 0.0
                for q in 0..<batch { for i in 0..<m { for j in 0..<n {
                    var ref = 0.0
                    for p in 0..<k {
                        let av = a.data[q * m * k + (ta ? p * m + i : i * k + p)]
                        let bv = b.data[q * n * k + (tb ? j * k + p : p * n + j)]
                        ref += Double(av) * Double(bv)
                    }
                    worst = max(worst, abs(Double(c.data[(q * m + i) * n + j]) - ref))
                } } }
                XCTAssertLessThan(worst, 1e-4, "\(batch)×\(m)×\(n)×\(k) ta \(ta) tb \(tb)")
            } }
        }
    }

    /// Where OpenBLAS did not recognise the CPU it falls back to its SSE3 (Prescott) kernels, 4x slower here;
    /// the engine chooses kernels from the CPU's features instead, unless the user set OPENBLAS_CORETYPE.
    func testOpenBLASRunsKernelsForThisCPUNotItsFallback() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, !runnableBLASKernels.isEmpty else { return }
        _ = matmul(testTensor([3, 5], requiresGrad: false), testTensor([5, 4], seed: 2, requiresGrad: false))
        XCTAssertNotEqual(Engine.blasCore.lowercased(), "prescott", "a CPU with \(runnableBLASKernels) runs OpenBLAS's SSE3 kernels")
    }

    /// A product started inside a parallel loop runs on that thread (no nested split) and is still right.
    func testProductsInsideParallelLoopsAreCorrect() {
        let a = testTensor([4, 300, 64], seed: 23, requiresGrad: false)
        let b = testTensor([4, 64, 300], seed: 24, requiresGrad: false)
        let whole = matmul(a, b)
        var pieces = [[Float]](repeating: [], count: 4)
        Engine.parallelFor(4, costPerItem: 1 << 20) { i in
            let ai = Tensor(Array(a.scalars[(i * 300 * 64)..<((i + 1) * 300 * 64)]), shape: [300, 64])
            let bi = Tensor(Array(b.scalars[(i * 64 * 300)..<((i + 1) * 64 * 300)]), shape: [64, 300])
            pieces[i] = matmul(ai, bi).scalars
        }
        let flat = pieces.flatMap { $0 }
        XCTAssertEqual(flat.count, whole.count)
        let worst = zip(flat, whole.scalars).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-4)
    }
}

final class ParallelLoopTests: XCTestCase {
    /// Every index runs exactly once, on at most the engine's thread count of distinct threads, for counts
    /// below, at and above the thread count, and loops may be started from several threads at once.
    func testEveryIndexRunsOnceOnTheEngineThreads() {
        let saved = Engine.threadCount
        defer { Engine.setThreadCount(saved) }
        for threads in [1, 2, 3] {
            Engine.setThreadCount(threads)
            for count in [1, 2, 3, 7, 64, 1000] {
                let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
                let owners = UnsafeMutableBufferPointer<pthread_t>.allocate(capacity: count)
                defer { hits.deallocate(); owners.deallocate() }
                hits.initialize(repeating: 0)
                Engine.parallelFor(count, costPerItem: 1 << 20) { i in
                    hits[i] += 1
                    owners[i] = pthread_self()
                }
                XCTAssertTrue(hits.allSatisfy { $0 == 1 }, "threads \(threads) count \(count)")
                let distinct = Set(owners.map { UInt($0) }).count
                XCTAssertLessThanOrEqual(distinct, threads, "threads \(threads) count \(count)")
            }
        }
        Engine.setThreadCount(2)
        // Four callers at once, each with its own loop.
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            let cells = UnsafeMutableBufferPointer<Int>.allocate(capacity: 500)
            defer { cells.deallocate() }
            cells.initialize(repeating: 0)
            Engine.parallelFor(500, costPerItem: 1 << 20) { i in cells[i] = i * (caller + 1) }
            sums[caller] = cells.reduce(0, +)
        }
        for caller in 0..<4 { XCTAssertEqual(sums[caller], 124_750 * (caller + 1)) }
    }

    /// libgomp makes a team of any size it is asked for, and ends the process at 50 000 threads: the engine
    /// never asks for more than its maximum.
    func testThreadCountIsClampedToTheMaximum() {
        let saved = Engine.threadCount
        defer { Engine.setThreadCount(saved) }
        XCTAssertEqual(Engine.maxThreadCount, 1024)
        for (asked, expected) in [(100_000, 1024), (Int.max, 1024), (1024, 1024), (1025, 1024), (0, 1), (-5, 1)] {
            Engine.setThreadCount(asked)
            XCTAssertEqual(Engine.threadCount, expected, "\(asked)")
        }
    }
}

final class BufferCacheTests: XCTestCase {
    func testFreedLargeBuffersAreReusedAndStillZeroed() {
        let saved = TensorMemory.cacheLimitBytes
        defer { TensorMemory.cacheLimitBytes = saved }
        TensorMemory.releaseCachedBuffers()
        let count = 1 << 17                     // 512 KiB: above the caching threshold
        var first: UnsafeMutablePointer<Float>? = nil
        do {
            let t = Tensor(zeros: [count])
            first = t.data
            t.data.update(repeating: 7, count: count)   // dirty it before it goes back to the cache
        }
        XCTAssertEqual(TensorMemory.cachedBufferBytes, count * 4)
        let again = Tensor(zeros: [count])
        XCTAssertEqual(again.data, first, "the freed block of the same size is handed back")
        XCTAssertEqual(TensorMemory.cachedBufferBytes, 0)
        XCTAssertTrue(again.scalars.allSatisfy { $0 == 0 }, "zeros: must be zero even when reused")

        // Small buffers are not cached; a limit of 0 turns the cache off and empties it.
        do { _ = Tensor(zeros: [1000]) }
        XCTAssertEqual(TensorMemory.cachedBufferBytes, 0)
        do { _ = Tensor(zeros: [count]) }
        XCTAssertEqual(TensorMemory.cachedBufferBytes, count * 4)
        TensorMemory.cacheLimitBytes = 0
        XCTAssertEqual(TensorMemory.cachedBufferBytes, 0)
        do { _ = Tensor(zeros: [count]) }
        XCTAssertEqual(TensorMemory.cachedBufferBytes, 0)
    }

    func testAccountingCountsLiveAndPeakBytes() {
        TensorMemory.startTracking()
        let base = TensorMemory.liveBytes
        var t: Tensor? = Tensor(zeros: [1000])
        XCTAssertEqual(TensorMemory.liveBytes - base, 4000)
        t = nil
        XCTAssertNil(t)
        XCTAssertEqual(TensorMemory.liveBytes, base)
        XCTAssertGreaterThanOrEqual(TensorMemory.peakBytes - base, 4000)
        TensorMemory.resetPeak()
        XCTAssertEqual(TensorMemory.peakBytes, TensorMemory.liveBytes)
    }
}
