// Where tensor storage comes from: a cache of freed large buffers, and (for benchmarks) accounting of the
// bytes held by tensors — how much is live now and the most that was live at once.
//
// Why a cache: glibc serves large blocks with fresh mmaps, so each new multi-megabyte activation is faulted in
// and cleared by the kernel page by page, every call (~9% of a batch-16 encode of the bundled model).
// Freed blocks of 256 KiB and up are kept, by exact size, and handed back to the next request of that size,
// as ONNX Runtime's arena does. The cache is bounded; when a block does not fit, the cache is emptied first
// (the sizes in it belong to an earlier kind of call).

import Dispatch

public enum TensorMemory {
    private static let lock = DispatchSemaphore(value: 1)

    // MARK: Buffer cache

    /// Blocks below this size come straight from malloc, which serves them from its own free lists.
    static let cachedMinimumBytes = 1 << 18
    nonisolated(unsafe) private static var cacheLimit = 256 << 20
    nonisolated(unsafe) private static var cached: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var cachedBytes = 0

    /// The most bytes of freed buffers kept for reuse (default 256 MiB; 0 turns the cache off).
    public static var cacheLimitBytes: Int {
        get { lock.wait(); defer { lock.signal() }; return cacheLimit }
        set {
            lock.wait()
            cacheLimit = max(0, newValue)
            if cachedBytes > cacheLimit { emptyCacheLocked() }
            lock.signal()
        }
    }

    /// Bytes of freed buffers held for reuse now.
    public static var cachedBufferBytes: Int { lock.wait(); defer { lock.signal() }; return cachedBytes }

    /// Returns every cached buffer to the system.
    public static func releaseCachedBuffers() {
        lock.wait()
        emptyCacheLocked()
        lock.signal()
    }

    /// Storage for `byteCount` bytes (64-byte aligned): a cached block of that size, or a new one.
    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= cachedMinimumBytes {
            lock.wait()
            let reused = cached[byteCount]?.popLast()
            if reused != nil { cachedBytes -= byteCount }
            lock.signal()
            if let reused { return reused }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Gives back a block from `allocate(byteCount:)`.
    static func deallocate(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= cachedMinimumBytes {
            lock.wait()
            if byteCount <= cacheLimit {
                if cachedBytes + byteCount > cacheLimit { emptyCacheLocked() }
                cached[byteCount, default: []].append(pointer)
                cachedBytes += byteCount
                lock.signal()
                return
            }
            lock.signal()
        }
        pointer.deallocate()
    }

    private static func emptyCacheLocked() {
        for blocks in cached.values { for p in blocks { p.deallocate() } }
        cached = [:]
        cachedBytes = 0
    }

    // MARK: Accounting

    nonisolated(unsafe) static var enabled = false
    nonisolated(unsafe) private static var live = 0
    nonisolated(unsafe) private static var high = 0

    /// Starts counting. Storage allocated before this call is not counted, now or when it is freed.
    /// Meant to be called once, before the work to be measured, from one thread.
    public static func startTracking() {
        lock.wait()
        enabled = true
        live = 0
        high = 0
        lock.signal()
    }

    /// Bytes of counted tensor storage alive now.
    public static var liveBytes: Int { lock.wait(); defer { lock.signal() }; return live }

    /// The most counted bytes that were alive at once since `startTracking()` or `resetPeak()`.
    public static var peakBytes: Int { lock.wait(); defer { lock.signal() }; return high }

    /// Starts a new peak from what is alive now.
    public static func resetPeak() {
        lock.wait()
        high = live
        lock.signal()
    }

    static func allocated(_ bytes: Int) {
        lock.wait()
        live += bytes
        if live > high { high = live }
        lock.signal()
    }

    static func freed(_ bytes: Int) {
        lock.wait()
        live -= bytes
        lock.signal()
    }
}
