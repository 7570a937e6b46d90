// The svq_model handles given to C: registry keys, not pointers to Swift objects. Each load gets a new
// number that is never reused, so a freed, forged or mixed-up handle is recognised and reported instead
// of being dereferenced, and a call that has looked its model up keeps it alive even if another thread
// frees the handle meanwhile.

import Foundation
import SVQ

enum Handles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var models: [UInt: Model] = [:]
    nonisolated(unsafe) private static var lastID: UInt = 0

    /// A new handle for `model`.
    static func register(_ model: Model) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        lastID += 1
        models[lastID] = model
        // Shifted so handles look like aligned addresses; 64 bits of IDs never run out.
        return OpaquePointer(bitPattern: lastID << 4)!
    }

    /// The model of a live handle; an invalid-argument error for NULL or anything else.
    static func model(_ handle: OpaquePointer?) throws -> Model {
        let h = try required(handle, "model")
        lock.lock()
        defer { lock.unlock() }
        guard let model = models[UInt(bitPattern: h) >> 4], UInt(bitPattern: h) & 0xF == 0 else {
            throw SVQError(.invalidArgument, "model is not a loaded model (already freed, or not a handle from svq_model_load_*)")
        }
        return model
    }

    /// Forgets a handle; false if it was not live.
    @discardableResult
    static func remove(_ handle: OpaquePointer) -> Bool {
        let bits = UInt(bitPattern: handle)
        guard bits & 0xF == 0 else { return false }
        lock.lock()
        defer { lock.unlock() }
        return models.removeValue(forKey: bits >> 4) != nil
    }
}
