// Process-wide settings of the runtime: the thread count and the version.

#if canImport(Glibc)
import Glibc
#endif
import SVQEngine

/// Library-wide settings.
///
/// ```swift
/// try Runtime.setThreadCount(2)   // before starting work
/// ```
public enum Runtime {
    /// The library version.
    public static let version = "0.1.0"

    /// Threads used inside each call (matrix products and parallel loops); one per core by default.
    public static var threadCount: Int { Engine.threadCount }

    /// The most threads `setThreadCount` accepts (1024, `SVQ_MAX_THREADS` in svq.h): above the hardware
    /// threads of any current machine.
    public static let maxThreadCount = Engine.maxThreadCount

    /// Sets the threads used inside each call: `n` in 1...`maxThreadCount`, or 0 for one per CPU core (at
    /// most `maxThreadCount`). Process-wide: call it before starting work, not while other threads are
    /// inside the library.
    /// - Throws: `SVQError.invalidArgument` if `n` is negative or above `maxThreadCount`.
    public static func setThreadCount(_ n: Int) throws {
        guard (0...maxThreadCount).contains(n) else {
            throw SVQError(.invalidArgument, "thread count must be from 1 to \(maxThreadCount), or 0 for one per core; got \(n)")
        }
        Engine.setThreadCount(n == 0 ? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) : n)
    }
}
