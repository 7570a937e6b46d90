// `svq train-prior`: trains a model's semantic prior on the codes of a folder of images.

import ArgumentParser
import Foundation
import SVQModels
import SVQTrain

package struct TrainPriorCommand: ParsableCommand, TrainingRunKind {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "train-prior",
        abstract: "Train the semantic prior of a trained SVQ model.",
        discussion: """
        Encodes the train and validation splits once (cached in RUN/codes.safetensors and \
        RUN/validation-codes.safetensors, reused while the model and the images are unchanged), then trains \
        the prior with teacher forcing. Writes RUN/checkpoint.safetensors every --checkpoint-every steps and on \
        Ctrl-C, RUN/metrics.csv, the validation loss at every checkpoint to RUN/validation.csv, and \
        RUN/model.safetensors (the input model with the trained prior) at the end.
        """)

    package static let defaults = TrainingRunDefaults(runFolder: "runs/prior", batchItems: "Code sets", batchSize: 40,
                                              checkpointEvery: 500, logEvery: 50)

    @Option(help: "The trained SVQ model (weights file).") var model: String
    @Option(help: "Folder of PNG images (the same the model was trained on).") var data: String
    @Option(help: "Train a fresh prior of this width (d_model) instead of the model's own prior (official: 192).")
    var priorWidth: Int?
    @Option(help: "… with this many transformer layers (official: 8).") var priorLayers: Int?
    @Option(help: "… with this many attention heads (official: 4).") var priorHeads: Int?
    @OptionGroup package var runOptions: TrainingRunOptions<TrainPriorCommand>

    package func run() throws {
        runOptions.prepareEngine()
        var sizes: PriorConfig?
        if priorWidth != nil || priorLayers != nil || priorHeads != nil {
            let base = try SVQModel(contentsOf: URL(fileURLWithPath: model)).config.prior ?? PriorConfig()
            sizes = PriorConfig(dModel: priorWidth ?? base.dModel, numHeads: priorHeads ?? base.numHeads,
                                numLayers: priorLayers ?? base.numLayers, dropout: base.dropout)
        }
        let trainer: PriorTrainer
        do {
            trainer = try PriorTrainingRun.trainer(modelFile: URL(fileURLWithPath: model), data: URL(fileURLWithPath: data),
                                                   run: runOptions.run, options: runOptions.options(), priorSizes: sizes,
                                                   resume: runOptions.resume, log: { print($0) })
        } catch let error as TrainingError where error.kind == .invalidOptions {
            throw ValidationError(error.description)   // with the usage; other errors are not the flags' fault
        }
        try runOptions.train(trainer, model: trainer.model)
    }
}
