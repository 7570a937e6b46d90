// `svq export-onnx`: writes a model as ONNX graphs that other runtimes run (docs/onnx.md).

import ArgumentParser
import Foundation
import SVQEngine
import SVQModels
import SVQONNX
import SVQTrain

package struct ExportONNXCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export a model as ONNX graphs (encoder, decoder memory and step, dVAE decoder and encoder, prior step).",
        usage: "svq export-onnx [MODEL] OUT_DIR [options]",
        discussion: """
        MODEL defaults to \(defaultModelPath). Writes OUT_DIR/encoder.onnx, decoder_memory.onnx, decoder_step.onnx, dvae_decoder.onnx, dvae_encoder.onnx, prior_step.onnx \
        (when the model has a prior) and manifest.json (sizes and every graph's inputs and outputs). Opset 17, \
        dynamic batch. --write-reference-outputs also writes OUT_DIR/reference.safetensors: seeded inputs and \
        this library's outputs for them, which tests/onnx compares with ONNX Runtime's.
        """)

    // Two positionals with the first optional: ArgumentParser fills positionals in order, so take both as one list.
    @Argument(help: ArgumentHelp("[MODEL] OUT_DIR: the weights file or training checkpoint (default \(defaultModelPath)) and the output folder.",
                                 valueName: "paths"))
    var paths: [String] = []

    var model: String { paths.count == 2 ? paths[0] : defaultModelPath }
    var outDir: String { paths.last ?? "" }

    @Option(help: ArgumentHelp("Export a randomly initialised model of this preset instead of MODEL (for testing runtimes).",
                               valueName: "preset"))
    var randomPreset: String?
    @Option(help: "Seed of --random-preset weights and of the reference inputs.") var seed: UInt64 = 0
    @Flag(help: "Also write reference.safetensors: inputs and our outputs for them.") var writeReferenceOutputs = false
    @Option(help: "Images in the reference outputs.") var referenceBatch = 2

    package func validate() throws {
        guard (1...2).contains(paths.count) else {
            throw ValidationError("expected [MODEL] OUT_DIR, got \(paths.count) paths")
        }
        if randomPreset != nil && paths.count == 2 {
            throw ValidationError("--random-preset replaces MODEL: give only OUT_DIR")
        }
        guard referenceBatch >= 1 else { throw ValidationError("--reference-batch must be at least 1") }
    }

    package func run() throws {
        let svq = try loadExportedModel()
        svq.freeze()
        svq.train(false)
        let out = URL(fileURLWithPath: outDir)
        let files = try ONNXExporter(model: svq).write(to: out)
        for file in files { print("wrote \(file.path)") }
        if writeReferenceOutputs {
            let url = out.appendingPathComponent(ONNXReference.fileName)
            try ONNXReference.write(model: svq, to: url, batch: referenceBatch, seed: seed)
            print("wrote \(url.path)")
        }
    }

    private func loadExportedModel() throws -> SVQModel {
        if let preset = randomPreset {
            guard let config = SVQConfig.presets[preset] else {
                throw ValidationError("unknown preset \(preset); known: \(SVQConfig.presets.keys.sorted().joined(separator: ", "))")
            }
            var rng = RandomGenerator(seed: seed)
            return try SVQModel(config: config, rng: &rng)
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw ONNXExportError("no model at \(model): pass a weights file, or --random-preset NAME for an untrained one")
        }
        do { return try SVQModel.load(weightsOrCheckpoint: URL(fileURLWithPath: model)) } catch {
            throw ONNXExportError("cannot read the model \(model): \(error)")
        }
    }
}
