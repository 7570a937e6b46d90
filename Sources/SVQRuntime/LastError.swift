// svq_last_error(): the message of the calling thread's most recent call, in a per-thread malloc'd
// C string (freed when replaced and when the thread exits).

#if canImport(Glibc)
import Glibc
#endif

enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Replaces the calling thread's message.
    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(old)
    }

    /// Empties the calling thread's message.
    static func clear() {
        guard let old = pthread_getspecific(key) else { return }
        pthread_setspecific(key, nil)
        free(old)
    }

    /// The calling thread's message ("" if none); valid until it is replaced.
    static var message: UnsafePointer<CChar> {
        guard let p = pthread_getspecific(key) else { return immortalCString("") }
        return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
    }
}
