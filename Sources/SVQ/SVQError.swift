// The one error type of the runtime API: a status code (the same values as the C API's svq_status) and
// a message that says what was wrong and, where it helps, what was expected.

import SVQEngine

/// Why a runtime call failed.
///
/// ```swift
/// do {
///     let model = try Model(contentsOf: url)
/// } catch let error as SVQError where error.code == .ioError {
///     print("cannot read the file: \(error.message)")
/// }
/// ```
public typealias SVQError = LibraryError<SVQErrorCode>

/// The kind of a runtime failure. Raw values equal the C API's `svq_status` values.
public enum SVQErrorCode: Int32, Sendable, CaseIterable {
    /// A bad argument: an empty batch, a bad parameter, a mask without codes, …
    case invalidArgument = 1
    /// Array sizes that do not match each other or the model (image size, channels, code layout).
    case shapeMismatch = 2
    /// A value that is not allowed: a NaN, infinite or out-of-range pixel, a code out of range.
    case invalidValue = 3
    /// An output buffer too small for the result (C API only).
    case bufferTooSmall = 4
    /// A model file that cannot be opened or read.
    case ioError = 5
    /// Data that is not a valid SVQ weights file.
    case invalidModel = 6
    /// A prior operation on a model without a semantic prior.
    case noPrior = 7
    /// A bug in the library.
    case internalError = 8
    /// The call's progress handler (C: its abort callback) asked it to stop; it has no results.
    case cancelled = 9
}

extension LibraryError where Kind == SVQErrorCode {
    /// The runtime's name for its kinds, as the C API's statuses.
    public typealias Code = SVQErrorCode

    /// The kind of failure, as a C API status.
    public var code: SVQErrorCode { kind }
}
