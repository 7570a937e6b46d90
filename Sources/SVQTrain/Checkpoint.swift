// Checkpoints: everything a run needs to continue exactly where it stopped — every model tensor (parameters
// and EMA buffers), the optimizer's moments and step, and the options — in one safetensors file written
// atomically (a temporary file, then a rename), so a crash mid-write never loses the previous checkpoint.

import Foundation
import SafeTensors
import SVQEngine
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

    public static func header(_ file: SafeTensorsFile) throws -> Header {
        guard file.metadata["format"] == format else {
            throw TrainingError("not a training checkpoint (metadata format is \(file.metadata["format"] ?? "missing"), expected \(format))")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw TrainingError("checkpoint format version \(file.metadata["format_version"] ?? "missing") is not supported (expected \(formatVersion))")
        }
        guard let kindText = file.metadata["kind"], let kind = CheckpointKind(rawValue: kindText) else {
            throw TrainingError("checkpoint has no valid \"kind\"")
        }
        guard let stepText = file.metadata["step"], let step = Int(stepText), step >= 0 else {
            throw TrainingError("checkpoint has no valid \"step\"")
        }
        guard let configJSON = file.metadata["config"], let options = file.metadata["options"] else {
            throw TrainingError("checkpoint lacks its config or options")
        }
        let config: SVQConfig
        do { config = try JSONDecoder().decode(SVQConfig.self, from: Data(configJSON.utf8)) } catch {
            throw TrainingError("checkpoint config is not valid: \(error)")
        }
        return Header(kind: kind, step: step, config: config, optionsJSON: options, metadata: file.metadata)
    }

    /// A model built from the checkpoint's config with its `model.*` tensors.
    public static func loadModel(_ file: SafeTensorsFile) throws -> SVQModel {
        let h = try header(file)
        var rng = RandomGenerator(seed: 0)
        let model = try SVQModel(config: h.config, rng: &rng)
        try assign(model.namedTensors(), prefix: "model.", from: file)
        return model
    }

    /// Restores `optimizer`'s moments and step from the checkpoint.
    public static func restore(_ optimizer: Adam, from file: SafeTensorsFile) throws {
        let h = try header(file)
        try assign(optimizer.stateTensors(), prefix: "optimizer.", from: file)
        optimizer.restore(stepCount: h.step)
    }

    /// Copies `prefix + name` for every tensor, checking all names and shapes before changing anything.
    static func assign(_ tensors: [(name: String, tensor: Tensor)], prefix: String, from file: SafeTensorsFile) throws {
        var values: [(Tensor, [Float])] = []
        for (name, t) in tensors {
            guard let info = file.info(prefix + name) else {
                throw TrainingError("checkpoint lacks tensor \(prefix + name)")
            }
            guard info.shape == t.shape else {
                throw TrainingError("checkpoint tensor \(prefix + name) has shape \(info.shape), expected \(t.shape)")
            }
            values.append((t, try file.floats(prefix + name)))
        }
        for (t, v) in values { t.assign(v) }
    }
}

/// JSON text of a Codable value with sorted keys (stable across runs, readable in checkpoints).
public func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}
