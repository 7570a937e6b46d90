// The svq_model handles given to C: registry keys, not pointers to Swift objects. Each load gets a new
// number that is never reused, so a freed or mixed-up handle is recognised and reported instead of being
// dereferenced, and a call that has looked its model up keeps it alive even if another thread frees the
// handle meanwhile.
//
// The number is not the handle itself: the handle is the number put through a permutation keyed by random
// bits drawn once per process. With plain small numbers a stray pointer such as 0x10 named the first model
// loaded; now a value that was not returned by a load names a live model only by chance (under 2⁻²⁴ per
// guess, far less while few models are loaded), and handles differ from run to run.

import Foundation
import SVQ

enum Handles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var models: [UInt64: Model] = [:]
    nonisolated(unsafe) private static var lastID: UInt64 = 0

    /// A new handle for `model`.
    static func register(_ model: Model) throws -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        var handle: UInt64
        repeat {
            // 2³⁶ loads (one a millisecond for two years) before numbers would have to repeat.
            guard lastID + 1 < HandleCode.maxID else {
                throw SVQError(.internalError, "this process has used up its \(HandleCode.maxID - 1) model handles")
            }
            lastID += 1
            handle = HandleCode.handle(lastID)
        } while handle == 0   // the one number the permutation may send to NULL
        models[lastID] = model
        return OpaquePointer(bitPattern: UInt(handle))!
    }

    /// The model of a live handle; an invalid-argument error for NULL or anything else.
    static func model(_ handle: OpaquePointer?) throws -> Model {
        let h = try required(handle, "model")
        lock.lock()
        defer { lock.unlock() }
        guard let id = HandleCode.id(UInt64(UInt(bitPattern: h))), let model = models[id] else {
            throw SVQError(.invalidArgument, "model is not a loaded model (already freed, or not a handle from svq_model_load_*)")
        }
        return model
    }

    /// Forgets a handle; false if it was not live.
    @discardableResult
    static func remove(_ handle: OpaquePointer) -> Bool {
        guard let id = HandleCode.id(UInt64(UInt(bitPattern: handle))) else { return false }
        lock.lock()
        defer { lock.unlock() }
        return models.removeValue(forKey: id) != nil
    }
}

/// Load numbers ↔ handle bits: a 4-round Feistel permutation of 60 bits under a per-process random key,
/// shifted left by 4 so that handles look like aligned addresses (a value with any of the low 4 bits set
/// is no handle). Being a permutation, distinct numbers always give distinct handles.
enum HandleCode {
    /// Load numbers are 1..<2³⁶, so a random 60-bit value decodes to one with probability under 2⁻²⁴.
    static let maxID: UInt64 = 1 << 36

    private static let halfMask: UInt64 = (1 << 30) - 1
    private static let keys: [UInt64] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in generator.next() }
    }()

    /// The round function: any mixing of one 30-bit half with the round's key (SplitMix64's finaliser).
    private static func mix(_ half: UInt64, _ key: UInt64) -> UInt64 {
        var z = half &+ key
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return (z ^ (z >> 31)) & halfMask
    }

    static func handle(_ id: UInt64) -> UInt64 {
        var (left, right) = (id >> 30 & halfMask, id & halfMask)
        for key in keys { (left, right) = (right, left ^ mix(right, key)) }
        return (left << 30 | right) << 4
    }

    /// The load number of handle bits, or nil if they cannot be a handle.
    static func id(_ handle: UInt64) -> UInt64? {
        guard handle & 0xF == 0 else { return nil }
        let bits = handle >> 4
        var (left, right) = (bits >> 30 & halfMask, bits & halfMask)
        for key in keys.reversed() { (left, right) = (right ^ mix(left, key), left) }
        let id = left << 30 | right
        return id >= 1 && id < maxID ? id : nil
    }
}
