// `svq train`: trains an SVQ model (dVAE, encoder, decoder) on a folder of PNG images.

import ArgumentParser
import Foundation
import SVQData
import SVQEngine
import SVQModels
import SVQTrain
import SafeTensors

/// Model sizes: a preset, optionally with some sizes replaced.
struct ModelSizeOptions: ParsableArguments {
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

/// Loads a split of a PNG folder at the model's image size.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an SVQ model on a folder of PNG images.",
        discussion: """
        Trains the dVAE, the encoder and the decoder together, as the official code does, on the train split \
        (the first 70% of the sorted file names). Writes RUN/checkpoint.safetensors every --checkpoint-every \
        steps and on Ctrl-C, RUN/metrics.csv, and RUN/model.safetensors at the end. --resume continues \
        from the checkpoint with the same batches and random streams.
        """)

    @Option(help: "Folder of PNG images.") var data: String
    @Option(name: .customLong("run"), help: "Run folder for the checkpoint, metrics and final model.") var runPath = "runs/svq"
    @OptionGroup var sizes: ModelSizeOptions
    @Option(help: "Training steps.") var steps = 20_000
    @Option(help: "Images per step.") var batchSize = 32
    @Option(help: "Seed of the initialisation, data order and noise.") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 250
    @Option(help: "Log every N steps.") var logEvery = 10
    @Option(help: "Engine threads (default: all cores).") var threads: Int?
    @Flag(help: "Use the official schedules (30k-step warm-up and temperature annealing) instead of ones scaled to --steps.")
    var officialSchedules = false
    @Flag(help: "Continue from RUN/checkpoint.safetensors.") var resume = false

    func run() throws {
        if let t = threads { Engine.setThreadCount(t) }
        Engine.retainFreedMemory()
        let runDir = URL(fileURLWithPath: runPath)
        let checkpoint = runDir.appendingPathComponent("checkpoint.safetensors")
        let trainer: SVQTrainer
        if resume {
            guard FileManager.default.fileExists(atPath: checkpoint.path) else {
                throw ValidationError("nothing to resume: \(checkpoint.path) does not exist")
            }
            let header = try Checkpoint.header(try SafeTensorsFile(contentsOf: checkpoint))
            let images = try ImageSet.load(folder: URL(fileURLWithPath: data), split: .train, size: header.config.imageSize)
            trainer = try SVQTrainer.resume(from: checkpoint, images: images, steps: steps)
            print("resuming \(checkpoint.path) at step \(trainer.step)")
        } else {
            if FileManager.default.fileExists(atPath: checkpoint.path) {
                throw ValidationError("\(checkpoint.path) exists: pass --resume to continue it, or choose another --run")
            }
            let config = try sizes.config()
            if let warning = SVQTrainingOptions.codeRestartWarning(config: config, batchSize: batchSize) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            let images = try ImageSet.load(folder: URL(fileURLWithPath: data), split: .train, size: config.imageSize)
            var options = officialSchedules ? SVQTrainingOptions() : SVQTrainingOptions.cpu(steps: steps, batchSize: batchSize, seed: seed)
            options.steps = steps
            options.batchSize = batchSize
            options.seed = seed
            var rng = RandomGenerator(seed: seed, stream: RandomStreams.initialisation)
            let model = try SVQModel(config: config, rng: &rng)
            trainer = try SVQTrainer(model: model, images: images, options: options)
            try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
            print("training \(model.parameterCount) parameters on \(images.count) images, batch \(batchSize), \(steps) steps")
        }
        let loop = TrainingLoop(checkpoint: checkpoint, metrics: runDir.appendingPathComponent("metrics.csv"),
                                checkpointEvery: checkpointEvery, logEvery: logEvery)
        if try loop.run(trainer) {
            let out = runDir.appendingPathComponent("model.safetensors")
            try trainer.model.save(to: out)
            print("wrote \(out.path)")
        } else {
            throw ExitCode(130)
        }
    }
}
