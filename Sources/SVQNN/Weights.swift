// Saving and loading a module's tensors by name in safetensors files.

import Foundation
import SafeTensors
import SVQEngine

/// Why a weights file does not fit a module. Lists every problem, not just the first.
public struct WeightsMismatchError: Error, CustomStringConvertible, Equatable {
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// (name, shape the module expects, shape in the file)
    public var shapeMismatches: [String] = []
    public var wrongTypes: [String] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && wrongTypes.isEmpty }

    public var description: String {
        var parts: [String] = []
        func list(_ xs: [String]) -> String { xs.prefix(8).joined(separator: ", ") + (xs.count > 8 ? ", … (\(xs.count) in all)" : "") }
        if !missing.isEmpty { parts.append("missing tensors: \(list(missing))") }
        if !unexpected.isEmpty { parts.append("unexpected tensors: \(list(unexpected))") }
        if !shapeMismatches.isEmpty { parts.append("shape mismatches: \(list(shapeMismatches))") }
        if !wrongTypes.isEmpty { parts.append("not floating point: \(list(wrongTypes))") }
        return "weights do not match the model — " + parts.joined(separator: "; ")
            + ". Check that the file was written for this model configuration."
    }
}

/// Copies `prefix + name` from `file` into each of `tensors`. With `strict`, tensors under `prefix` in the
/// file that are not in the list are an error too. Nothing is modified unless everything matches.
/// - Throws: `WeightsMismatchError` (naming the file's tensors), or `SafeTensorsError` if a read fails.
public func loadTensors(_ tensors: [(name: String, tensor: Tensor)], from file: SafeTensorsFile,
                        prefix: String = "", strict: Bool = true) throws {
    var problems = WeightsMismatchError()
    var matched: [(Tensor, String)] = []
    for (name, t) in tensors {
        let stored = prefix + name
        guard let info = file.info(stored) else { problems.missing.append(stored); continue }
        guard info.dtype.isConvertibleToFloat else {
            problems.wrongTypes.append("\(stored) (\(info.dtype))")
            continue
        }
        guard info.shape == t.shape else {
            problems.shapeMismatches.append("\(stored) expects \(t.shape), file has \(info.shape)")
            continue
        }
        matched.append((t, stored))
    }
    if strict {
        let known = Set(tensors.map { prefix + $0.name })
        problems.unexpected = file.names.filter { $0.hasPrefix(prefix) && !known.contains($0) }
    }
    guard problems.isEmpty else { throw problems }
    // Every name, type and shape is checked before the first value changes; the values are then read one
    // tensor at a time into the tensors' own buffers (from the file itself for SafeTensorsFile(fileAt:),
    // where a read error could then still leave them partly loaded).
    for (t, name) in matched {
        try file.readFloats(name, into: UnsafeMutableBufferPointer(start: t.data, count: t.count))
    }
}

extension Module {
    /// Copies every tensor of this module from `file`, where it is named `prefix` + its name (see
    /// `loadTensors`). With `strict`, tensors under `prefix` that the module does not have are an error too.
    public func load(from file: SafeTensorsFile, prefix: String = "", strict: Bool = true) throws {
        try loadTensors(namedTensors(), from: file, prefix: prefix, strict: strict)
    }

    /// Serialises every tensor of this module (F32, by name) with `metadata` into safetensors bytes.
    public func weightsData(metadata: [String: String] = [:]) throws -> Data {
        try weightsWriter(metadata: metadata).serialize()
    }

    /// Writes this module's tensors to a safetensors file atomically (a temporary file, then a rename).
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        try weightsWriter(metadata: metadata).write(to: url)
    }

    private func weightsWriter(metadata: [String: String]) throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, t) in namedTensors() {
            try writer.add(name, floats: t.scalars, shape: t.shape)
        }
        return writer
    }
}
