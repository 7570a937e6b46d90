// Builds every ONNX graph of an SVQ model and writes them, with a manifest of sizes and signatures, to a
// folder: what `svq export-onnx` runs.

import Foundation
import SVQEngine
import SVQModels
import SVQNN

public struct ONNXExportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Exports an SVQ model as ONNX graphs (docs/onnx.md):
/// `encoder`, `decoder_memory`, `decoder_step`, `dvae_decoder`, `dvae_encoder` and, when the model has a prior,
/// `prior_step`.
///
/// ```swift
/// let model = try SVQModel(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// let files = try ONNXExporter(model: model).write(to: URL(fileURLWithPath: "onnx"))
/// ```
public struct ONNXExporter {
    public let model: SVQModel

    /// The manifest's file name in the output folder.
    public static let manifestName = "manifest.json"

    public init(model: SVQModel) { self.model = model }

    /// Every graph, built in memory.
    public func graphs() -> [ExportedGraph] {
        // Initializers take our weights-file names, matched by tensor identity.
        var names: [ObjectIdentifier: String] = [:]
        for (name, tensor) in model.namedTensors() { names[ObjectIdentifier(tensor)] = name }
        var out = [
            EncoderGraph.build(model, weightNames: names),
            DecoderMemoryGraph.build(model, weightNames: names),
            DecoderStepGraph.build(model, weightNames: names),
            DVAEDecoderGraph.build(model, weightNames: names),
            DVAEEncoderGraph.build(model, weightNames: names),
        ]
        if let prior = model.prior { out.append(PriorStepGraph.build(model, prior: prior, weightNames: names)) }
        return out
    }

    /// Writes `<graph>.onnx` for every graph and `manifest.json` into `directory` (created if needed; files
    /// of the same names are replaced atomically). Returns the files written.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ONNXExportError("\(directory.path) exists and is not a folder") }
        } else {
            do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw ONNXExportError("cannot create the folder \(directory.path): \(error.localizedDescription)")
            }
        }
        var written: [URL] = []
        let built = graphs()
        for graph in built {
            let url = directory.appendingPathComponent(graph.fileName)
            try save(try graph.serialized(), to: url)
            written.append(url)
        }
        let manifest = directory.appendingPathComponent(Self.manifestName)
        try save(try ONNXManifest(config: model.config, graphs: built).json(), to: manifest)
        written.append(manifest)
        return written
    }

    private func save(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw ONNXExportError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
