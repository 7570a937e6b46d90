// The one error type of the model layer: a kind that callers can branch on (the runtime maps it to a
// status) and a message that names the problem.

import SVQEngine

/// Why a model could not be configured, built, loaded or imported.
///
/// ```swift
/// do {
///     let model = try SVQModel(contentsOf: url)
/// } catch let error as SVQModelError where error.kind == .tensorMismatch {
///     print("the file does not fit its own config: \(error)")
/// }
/// ```
public typealias SVQModelError = LibraryError<ModelErrorKind>

/// What went wrong in the model layer.
public enum ModelErrorKind: Sendable, Equatable, Hashable, CaseIterable {
    /// Sizes that do not fit together or exceed a limit, or a config that is missing or not valid JSON.
    case invalidConfig
    /// Not our weights format, a format version this library does not read, or an official option it
    /// does not implement.
    case unsupported
    /// Tensors that do not match the config: missing, unexpected, of another shape or type, or fewer
    /// than the config implies.
    case tensorMismatch
    /// A weight that is NaN or infinite.
    case nonFiniteWeights
    /// Finite weights that make a computation overflow float32 (scores or pixels that are NaN or infinite):
    /// a corrupt or hostile file, since trained weights stay many orders of magnitude below that.
    case numericalOverflow
}

/// Throws `.numericalOverflow` if a value of `tensor` is NaN or infinite. `what` names the values, plural.
func requireFinite(_ tensor: Tensor, _ what: String) throws {
    let p = tensor.data
    for i in 0..<tensor.count where !p[i].isFinite {
        throw SVQModelError(.numericalOverflow, "\(what) are not finite (\(p[i]) at index \(i)): the model's weights overflow float32, so the file is corrupt")
    }
}
