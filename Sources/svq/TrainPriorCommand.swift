// `svq train-prior`: trains a model's semantic prior on the codes of a folder of images.

import ArgumentParser
import Foundation
import SVQEngine
import SVQModels
import SVQTrain

struct TrainPriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-prior",
        abstract: "Train the semantic prior of a trained SVQ model.",
        discussion: """
        Encodes the train and validation splits once (cached in RUN/codes.safetensors and \
        RUN/validation-codes.safetensors, reused while the model and the images are unchanged), then trains \
        the prior with teacher forcing. Writes RUN/checkpoint.safetensors every --checkpoint-every steps and on \
        Ctrl-C, RUN/metrics.csv, the validation loss at every checkpoint to RUN/validation.csv, and \
        RUN/model.safetensors (the input model with the trained prior) at the end.
        """)

    @Option(help: "The trained SVQ model (weights file).") var model: String
    @Option(help: "Folder of PNG images (the same the model was trained on).") var data: String
    @Option(name: .customLong("run"), help: "Run folder.") var runPath = "runs/prior"
    @Option(help: "Training steps.") var steps = 20_000
    @Option(help: "Code sets per step.") var batchSize = 40
    @Option(help: "Seed of the encoding noise, data order and dropout.") var seed: UInt64 = 0
    @Option(help: "Train a fresh prior of this width (d_model) instead of the model's own prior (official: 192).")
    var priorWidth: Int?
    @Option(help: "… with this many transformer layers (official: 8).") var priorLayers: Int?
    @Option(help: "… with this many attention heads (official: 4).") var priorHeads: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 500
    @Option(help: "Log every N steps.") var logEvery = 50
    @Option(help: "Engine threads (default: all cores).") var threads: Int?
    @Flag(help: "Use the official 30k-step warm-up instead of one scaled to --steps.") var officialSchedules = false
    @Flag(help: "Continue from RUN/checkpoint.safetensors.") var resume = false

    func run() throws {
        if let t = threads { Engine.setThreadCount(t) }
        Engine.retainFreedMemory()
        let run = RunFolder(URL(fileURLWithPath: runPath))
        var options = officialSchedules ? PriorTrainingOptions() : .cpu(steps: steps, batchSize: batchSize, seed: seed)
        options.steps = steps
        options.batchSize = batchSize
        options.seed = seed
        var sizes: PriorConfig?
        if priorWidth != nil || priorLayers != nil || priorHeads != nil {
            let base = try SVQModel(contentsOf: URL(fileURLWithPath: model)).config.prior ?? PriorConfig()
            sizes = PriorConfig(dModel: priorWidth ?? base.dModel, numHeads: priorHeads ?? base.numHeads,
                                numLayers: priorLayers ?? base.numLayers, dropout: base.dropout)
        }
        let trainer: PriorTrainer
        do {
            trainer = try PriorTrainingRun.trainer(modelFile: URL(fileURLWithPath: model), data: URL(fileURLWithPath: data),
                                                   run: run, options: options, priorSizes: sizes, resume: resume,
                                                   log: { print($0) })
        } catch let error as TrainingError {
            throw ValidationError(error.description)
        }
        let loop = TrainingLoop(checkpoint: run.checkpoint, metrics: run.metrics, validationMetrics: run.validationMetrics,
                                checkpointEvery: checkpointEvery, logEvery: logEvery)
        if try loop.run(trainer) {
            try trainer.model.save(to: run.model)
            print("wrote \(run.model.path)")
        } else {
            throw ExitCode(130)
        }
    }
}
