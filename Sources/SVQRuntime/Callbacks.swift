// svq_set_callbacks: the calling thread's progress and abort callbacks (svq_callbacks), kept per thread in a
// malloc'd copy (freed when replaced and when the thread exits) and handed to each long call as its
// ProgressHandler.

import CSVQ
#if canImport(Glibc)
import Glibc
#endif
import SVQ

@c @implementation
public func svq_set_callbacks(_ callbacks: UnsafePointer<svq_callbacks>?) -> svq_status {
    guarded { Callbacks.set(callbacks?.pointee) }
}

enum Callbacks {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Replaces the calling thread's callbacks (nil, or a struct of NULLs: none).
    static func set(_ callbacks: svq_callbacks?) {
        let old = pthread_getspecific(key)
        var copy: UnsafeMutableRawPointer? = nil
        if let callbacks, callbacks.progress_callback != nil || callbacks.abort_callback != nil {
            let p = UnsafeMutablePointer<svq_callbacks>(OpaquePointer(malloc(MemoryLayout<svq_callbacks>.size)!))
            p.initialize(to: callbacks)
            copy = UnsafeMutableRawPointer(p)
        }
        pthread_setspecific(key, copy)
        free(old)
    }

    /// The calling thread's callbacks as a ProgressHandler (nil: none set): report, then ask whether to stop.
    static var current: ProgressHandler? {
        guard let p = pthread_getspecific(key) else { return nil }
        let c = p.assumingMemoryBound(to: svq_callbacks.self).pointee
        return { fraction in
            c.progress_callback?(Float(fraction), c.progress_callback_user_data)
            return !(c.abort_callback?(c.abort_callback_user_data) ?? false)
        }
    }
}
