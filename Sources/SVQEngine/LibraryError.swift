// The one shape of this library's errors, shared by every module: a kind that callers branch on and a
// message that names the problem. Each module names its own kinds (SVQModelError, TrainingError, SVQError).

/// An error with a kind a caller can branch on and a message that says what was wrong.
public struct LibraryError<Kind: Hashable & Sendable>: Error, CustomStringConvertible, Equatable, Sendable {
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
