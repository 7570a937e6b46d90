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

extension Module {
    /// Copies every tensor of this module from `file`, by name. With `strict`, tensors in the file that the
    /// module does not have are an error too. Nothing is modified unless everything matches.
    public func load(from file: SafeTensorsFile, strict: Bool = true) throws {
        let mine = namedTensors()
        var problems = WeightsMismatchError()
        var matched: [(Tensor, String)] = []
        for (name, t) in mine {
            guard let info = file.info(name) else { problems.missing.append(name); continue }
            guard info.dtype.isConvertibleToFloat else {
                problems.wrongTypes.append("\(name) (\(info.dtype))")
                continue
            }
            guard info.shape == t.shape else {
                problems.shapeMismatches.append("\(name) expects \(t.shape), file has \(info.shape)")
                continue
            }
            matched.append((t, name))
        }
        if strict {
            let known = Set(mine.map(\.name))
            problems.unexpected = file.names.filter { !known.contains($0) }
        }
        guard problems.isEmpty else { throw problems }
        // Every name, type and shape is checked before the first value changes; the values are then read one
        // tensor at a time into the module's own buffers (from the file itself for SafeTensorsFile(fileAt:),
        // where a read error could then still leave the module partly loaded).
        for (t, name) in matched {
            try file.readFloats(name, into: UnsafeMutableBufferPointer(start: t.data, count: t.count))
        }
    }

    /// Serialises every tensor of this module (F32, by name) with `metadata` into safetensors bytes.
    public func weightsData(metadata: [String: String] = [:]) throws -> Data {
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, t) in namedTensors() {
            try writer.add(name, floats: t.scalars, shape: t.shape)
        }
        return try writer.serialize()
    }

    /// Writes this module's tensors to a safetensors file atomically (a temporary file, then a rename).
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, t) in namedTensors() {
            try writer.add(name, floats: t.scalars, shape: t.shape)
        }
        try writer.write(to: url)
    }
}
