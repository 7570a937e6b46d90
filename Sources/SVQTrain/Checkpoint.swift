// Checkpoints: everything a run needs to continue exactly where it stopped — every model tensor (parameters
// and EMA buffers), the optimizer's moments and step, and the options — in one safetensors file written
// atomically (a temporary file, then a rename), so a crash mid-write never loses the previous checkpoint.

import Foundation
import SafeTensors
import SVQModels
import SVQNN
import SVQOptim

/// What kind of run a checkpoint belongs to.
public enum CheckpointKind: String, Codable, Sendable {
    case svq
    case prior
}

public enum Checkpoint {
    public static let format = "svq-checkpoint"
    public static let formatVersion = "1"

    /// Writes `model`'s tensors (`model.*`), `optimizer`'s state (`optimizer.*`) and the run state.
    /// `options` is the run's options as JSON.
    public static func write(to url: URL, kind: CheckpointKind, model: SVQModel, optimizer: Adam,
                             optionsJSON: String, extra: [String: String] = [:]) throws {
        var metadata = model.metadata
        metadata["format"] = format
        metadata["format_version"] = formatVersion
        metadata["kind"] = kind.rawValue
        metadata["step"] = String(optimizer.stepCount)
        metadata["options"] = optionsJSON
        for (k, v) in extra { metadata[k] = v }
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, t) in model.namedTensors() {
            try writer.add("model." + name, floats: t.scalars, shape: t.shape)
        }
        for (name, t) in optimizer.stateTensors() {
            try writer.add("optimizer." + name, floats: t.scalars, shape: t.shape)
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try writer.write(to: url)
    }

    /// A checkpoint's header: its kind, step, config and options, without loading tensors into a model.
    public struct Header: Sendable {
        public let kind: CheckpointKind
        public let step: Int
        public let config: SVQConfig
        public let optionsJSON: String
        public let metadata: [String: String]
    }

    /// Reads and checks the header. Throws `TrainingError(.invalidCheckpoint)`, or `SVQModelError` for an
    /// invalid config.
    public static func header(_ file: SafeTensorsFile) throws -> Header {
        guard file.metadata["format"] == format else {
            throw TrainingError(.invalidCheckpoint, "not a training checkpoint (metadata format is \(file.metadata["format"] ?? "missing"), expected \(format))")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw TrainingError(.invalidCheckpoint, "checkpoint format version \(file.metadata["format_version"] ?? "missing") is not supported (expected \(formatVersion))")
        }
        guard let kindText = file.metadata["kind"], let kind = CheckpointKind(rawValue: kindText) else {
            throw TrainingError(.invalidCheckpoint, "checkpoint has no valid \"kind\"")
        }
        guard let stepText = file.metadata["step"], let step = Int(stepText), step >= 0 else {
            throw TrainingError(.invalidCheckpoint, "checkpoint has no valid \"step\"")
        }
        guard let options = file.metadata["options"] else {
            throw TrainingError(.invalidCheckpoint, "checkpoint lacks its options")
        }
        return Header(kind: kind, step: step, config: try SVQConfig(metadata: file.metadata), optionsJSON: options,
                      metadata: file.metadata)
    }

    /// The checkpoint's model: its config with its `model.*` tensors, loaded as every untrusted model file is
    /// (`SVQModel(config:file:prefix:)`, which throws `SVQModelError`).
    public static func loadModel(_ file: SafeTensorsFile) throws -> SVQModel {
        try SVQModel(config: try header(file).config, file: file, prefix: "model.")
    }

    /// Restores `optimizer`'s moments (its `optimizer.*` tensors, all checked before any is changed) and step.
    public static func restore(_ optimizer: Adam, from file: SafeTensorsFile) throws {
        let h = try header(file)
        do { try loadTensors(optimizer.stateTensors(), from: file, prefix: "optimizer.") } catch let mismatch as WeightsMismatchError {
            throw TrainingError(.invalidCheckpoint, "checkpoint optimizer state: \(mismatch)")
        }
        optimizer.restore(stepCount: h.step)
    }
}

/// JSON text of a Codable value with sorted keys (stable across runs, readable in checkpoints).
public func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}
