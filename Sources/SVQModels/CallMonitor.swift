// Progress reports and cancellation of one long call, per thread (svq.h's progress and abort callbacks).
// The runtime runs a call inside `CallMonitor.watching(monitor) { … }`; the models' long loops (the image
// decoder's tokens, the prior's positions, slot attention's iterations) call `CallMonitor.proceed(_:of:)` after each step, which reports
// the progress and says whether to go on. A loop told to stop ends early with partial results, which the
// caller of `watching` must discard (`monitor.stopped` says so). Loops on other threads are not watched.

#if canImport(Glibc)
import Glibc
#endif

/// Watches the long loops of one call on the calling thread.
public final class CallMonitor: @unchecked Sendable {
    /// Called after each step with the fraction done, in [0, 1]; returns whether to go on.
    let step: (Double) -> Bool
    /// Whether `step` stopped a loop: the call's results are partial.
    public private(set) var stopped = false
    /// The largest fraction reported: a call with several loops (best-of-k decoding re-encodes its draws)
    /// reports each later loop as done, never a fraction going back.
    private var reported = 0.0

    public init(step: @escaping (Double) -> Bool) {
        self.step = step
    }

    /// This thread's monitor, if a call is being watched (the TLS value is an unretained reference).
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    private static var current: CallMonitor? {
        pthread_getspecific(key).map { Unmanaged<CallMonitor>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` with `monitor` watching this thread's long loops (nil: none), then restores the previous one.
    public static func watching<T>(_ monitor: CallMonitor?, _ body: () throws -> T) rethrows -> T {
        guard let monitor else { return try body() }
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(monitor).toOpaque())
        defer { pthread_setspecific(key, previous) }
        return try withExtendedLifetime(monitor) { try body() }
    }

    /// After step `done` of `total` of a long loop: reports the progress and returns whether to go on
    /// (always true when no call is watched). Once stopped, it stays stopped.
    public static func proceed(_ done: Int, of total: Int) -> Bool {
        guard let monitor = current else { return true }
        guard !monitor.stopped else { return false }
        monitor.reported = max(monitor.reported, total > 0 ? min(1, Double(done) / Double(total)) : 1)
        if !monitor.step(monitor.reported) { monitor.stopped = true }
        return !monitor.stopped
    }
}
