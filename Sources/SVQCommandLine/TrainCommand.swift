// `svq train`: trains an SVQ model (dVAE, encoder, decoder) on a folder of PNG images.

import ArgumentParser
import Foundation
import SVQModels
import SVQTrain

/// Model sizes: a preset, optionally with some sizes replaced.
package struct ModelSizeOptions: ParsableArguments {
    package init() {}

    @Option(help: "Model preset: \(SVQConfig.presets.keys.sorted().joined(separator: ", ")).")
    var preset = "cpu-sprites-wide"
    @Option(help: "Slots N.") var slots: Int?
    @Option(help: "Blocks M per slot.") var blocks: Int?
    @Option(help: "Codes P per block.") var prototypes: Int?
    @Option(help: "Slot size S (a multiple of M).") var slotSize: Int?
    @Option(help: "dVAE vocabulary V.") var vocab: Int?
    @Option(help: "Decoder width D.") var dModel: Int?
    @Option(help: "Decoder layers.") var decoderLayers: Int?
    @Option(help: "Decoder dropout.") var dropout: Float?

    func config() throws -> SVQConfig {
        guard var c = SVQConfig.presets[preset] else {
            throw ValidationError("unknown preset \(preset); known: \(SVQConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        if let v = slots { c.numSlots = v }
        if let v = blocks { c.numBlocks = v }
        if let v = prototypes { c.numPrototypes = v }
        if let v = slotSize { c.slotSize = v }
        if let v = vocab { c.vocabSize = v }
        if let v = dModel { c.dModel = v }
        if let v = decoderLayers { c.numDecoderLayers = v }
        if let v = dropout { c.dropout = v }
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}

package struct TrainCommand: ParsableCommand, TrainingRunKind {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an SVQ model on a folder of PNG images.",
        discussion: """
        Trains the dVAE, the encoder and the decoder together, as the official code does, on the train split \
        (the first 70% of the sorted file names). Writes RUN/checkpoint.safetensors every --checkpoint-every \
        steps and on Ctrl-C, RUN/metrics.csv, and RUN/model.safetensors at the end. --resume continues \
        from the checkpoint with the same batches, random streams and checkpoint and log intervals.
        """)

    package static let defaults = TrainingRunDefaults(runFolder: "runs/svq", batchItems: "Images", batchSize: 32,
                                              checkpointEvery: 250, logEvery: 10)

    @Option(help: "Folder of PNG images.") var data: String
    @OptionGroup var sizes: ModelSizeOptions
    @OptionGroup package var runOptions: TrainingRunOptions<TrainCommand>

    package func run() throws {
        runOptions.prepareEngine()
        let options: SVQTrainingOptions = runOptions.options()
        let config = try sizes.config()
        if !runOptions.resume, let warning = SVQTrainingOptions.codeRestartWarning(config: config, batchSize: options.batchSize) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let trainer: SVQTrainer
        do {
            trainer = try SVQTrainingRun.trainer(config: config, data: URL(fileURLWithPath: data), run: runOptions.run,
                                                 options: options, resume: runOptions.resume, log: { print($0) })
        } catch let error as TrainingError where error.kind == .invalidOptions {
            throw ValidationError(error.description)   // with the usage; other errors are not the flags' fault
        }
        try runOptions.train(trainer, model: trainer.model)
    }
}
