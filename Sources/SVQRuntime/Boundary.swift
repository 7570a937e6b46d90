// The edge between C and Swift: every exported function runs its body through `guarded`, which turns any
// thrown error into a status and a thread-local message, so no Swift error ever reaches a C caller.
// (Traps cannot be caught; the SVQ module's checks ensure none can fire.)

import CSVQ
import SVQ

/// Runs `body`; returns SVQ_STATUS_OK and clears the message, or the error's status with its message.
func guarded(_ body: () throws -> Void) -> svq_status {
    do {
        try body()
        LastError.clear()
        return SVQ_STATUS_OK
    } catch let error as SVQError {
        LastError.set(error.message)
        return status(error.code)
    } catch {
        LastError.set("internal error: \(error)")
        return SVQ_STATUS_INTERNAL_ERROR
    }
}

/// The C status of a Swift error code. Exhaustive both ways: a code or a status added on one side only
/// fails to compile here (a missing case) or in the tests (a status with no code).
func status(_ code: SVQError.Code) -> svq_status {
    switch code {
    case .invalidArgument: return SVQ_STATUS_INVALID_ARGUMENT
    case .shapeMismatch: return SVQ_STATUS_SHAPE_MISMATCH
    case .invalidValue: return SVQ_STATUS_INVALID_VALUE
    case .bufferTooSmall: return SVQ_STATUS_BUFFER_TOO_SMALL
    case .ioError: return SVQ_STATUS_IO_ERROR
    case .invalidModel: return SVQ_STATUS_INVALID_MODEL
    case .noPrior: return SVQ_STATUS_NO_PRIOR
    case .internalError: return SVQ_STATUS_INTERNAL_ERROR
    case .cancelled: return SVQ_STATUS_CANCELLED
    }
}

/// `pointer`, or an invalid-argument error naming the parameter if it is NULL.
func required<P>(_ pointer: P?, _ name: String) throws -> P {
    guard let pointer else { throw SVQError(.invalidArgument, "\(name) is NULL") }
    return pointer
}

/// A size_t parameter of svq.h. Swift imports size_t as Int, so SIZE_MAX and every other value of 2⁶³ or more
/// would arrive negative: every size_t parameter is wrapped in this, its one conversion, before it is used.
struct CSize: CustomStringConvertible {
    let value: UInt

    init(_ imported: Int) { value = UInt(bitPattern: imported) }

    /// The value as an Int, or an invalid-argument error naming `name` if it is above `limit`.
    func count(_ name: String, atMost limit: Int) throws -> Int {
        guard value <= UInt(limit) else {
            throw SVQError(.invalidArgument, "\(name) is \(value), more than the \(limit) it can be")
        }
        return Int(value)
    }

    var description: String { String(value) }
}

/// Fails with SVQ_STATUS_BUFFER_TOO_SMALL unless `capacity` (elements) holds `needed` (≥ 0).
func checkCapacity(_ capacity: CSize, _ needed: Int, _ name: String) throws {
    guard capacity.value >= UInt(needed) else {
        throw SVQError(.bufferTooSmall, "\(name) holds \(capacity) elements but \(needed) are needed")
    }
}

/// A C string that lives as long as the process.
func immortalCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
