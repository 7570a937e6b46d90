// Reading a state_dict of the official PyTorch code (github yfw/nlotm), dumped as safetensors.
// Each component's converter (the other files in this folder) pulls its tensors from here by their
// official names; the reader remembers what was used so leftovers can be reported.

import Foundation
import SafeTensors
import SVQEngine

extension SVQModelError {
    /// An official checkpoint whose tensors do not fit the config (or our model).
    static func officialMismatch(_ message: String) -> SVQModelError {
        SVQModelError(.tensorMismatch, "official checkpoint: " + message)
    }
}

/// An official `state_dict` (names and PyTorch layouts), read from a safetensors dump.
public final class OfficialStateDict {
    public let file: SafeTensorsFile
    private(set) var used = Set<String>()
    /// "module." when every name carries it (checkpoints saved from a DataParallel-wrapped model).
    let namePrefix: String

    public init(_ file: SafeTensorsFile) {
        self.file = file
        namePrefix = !file.names.isEmpty && file.names.allSatisfy { $0.hasPrefix("module.") } ? "module." : ""
    }

    public convenience init(contentsOf url: URL) throws {
        self.init(try SafeTensorsFile(contentsOf: url))
    }

    /// The tensor `name`, which must have exactly `shape` (PyTorch layout), as floats.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let info = file.info(namePrefix + name) else {
            throw SVQModelError.officialMismatch("missing tensor \"\(name)\" (expected shape \(shape)); is this checkpoint from a different model or configuration?")
        }
        guard info.shape == shape else {
            throw SVQModelError.officialMismatch("tensor \"\(name)\" has shape \(info.shape) but the configuration implies \(shape)")
        }
        used.insert(namePrefix + name)
        return try file.floats(namePrefix + name)
    }

    /// The tensor `name` as an engine tensor of `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        Tensor(try floats(name, shape: shape), shape: shape)
    }

    /// Copies `name` into `target` (same shape, PyTorch layout already ours).
    public func copy(_ name: String, into target: Tensor) throws {
        target.assign(try floats(name, shape: target.shape))
    }

    public func contains(_ name: String) -> Bool { file.contains(namePrefix + name) }

    /// Official tensors under `prefix` that no converter read.
    public func unused(prefix: String = "") -> [String] {
        file.names.filter { $0.hasPrefix(namePrefix + prefix) && !used.contains($0) }
    }
}
