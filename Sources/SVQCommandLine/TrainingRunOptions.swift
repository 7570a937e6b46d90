// The options of a training run, shared by `svq train` and `svq train-prior`: the run folder, its length,
// batch and seed, checkpoints and logging, threads, schedules and resumption; and the loop that runs it.

import ArgumentParser
import Foundation
import SVQEngine
import SVQModels
import SVQTrain

/// Where `svq train` and `svq train-prior` differ in their run options' defaults and wording.
package struct TrainingRunDefaults {
    var runFolder: String
    /// What one batch holds ("Images", "Code sets").
    var batchItems: String
    var batchSize: Int
    var checkpointEvery: Int
    var logEvery: Int
}

/// A training command, by its run options' defaults.
package protocol TrainingRunKind {
    static var defaults: TrainingRunDefaults { get }
}

package struct TrainingRunOptions<Kind: TrainingRunKind>: ParsableArguments {
    package init() {}

    @Option(name: .customLong("run"), help: "Run folder for the checkpoint, metrics and final model.")
    package var runPath = Kind.defaults.runFolder
    @Option(help: "Training steps.") package var steps = 20_000
    @Option(help: "\(Kind.defaults.batchItems) per step.") package var batchSize = Kind.defaults.batchSize
    @Option(help: "Seed of the initialisation or encoding, the data order, dropout and noise.") package var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps (default: \(Kind.defaults.checkpointEvery); with --resume, the run's own).")
    package var checkpointEvery: Int?
    @Option(help: "Log every N steps (default: \(Kind.defaults.logEvery); with --resume, the run's own).")
    package var logEvery: Int?
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Use the official schedules (30k-step warm-up; in train also temperature annealing) instead of ones scaled to --steps.")
    var officialSchedules = false
    @Flag(help: "Continue from RUN/checkpoint.safetensors.") package var resume = false

    package var run: RunFolder { RunFolder(URL(fileURLWithPath: runPath)) }

    /// The trainer's options for these flags.
    package func options<Options: TrainingOptions>(_: Options.Type = Options.self) -> Options {
        Options(steps: steps, batchSize: batchSize, seed: seed, officialSchedules: officialSchedules)
    }

    /// Sets the engine up for a long run.
    func prepareEngine() {
        threads.apply()
        Engine.retainFreedMemory()
    }

    /// How often the run checkpoints and logs: the flags, else on --resume the checkpoint's own settings,
    /// else the command's defaults. Prints a line for each flag that overrides a stored setting.
    package func loopSettings() throws -> LoopSettings {
        let defaults = LoopSettings(checkpointEvery: Kind.defaults.checkpointEvery, logEvery: Kind.defaults.logEvery)
        let stored = resume ? try LoopSettings.stored(inCheckpoint: run.checkpoint) : nil
        let resolved = LoopSettings.resolve(checkpointEvery: checkpointEvery, logEvery: logEvery, stored: stored, defaults: defaults)
        for line in resolved.overrides { print(line) }
        return resolved.settings
    }

    /// Trains to the last step, then writes `model` (which the task trains) to RUN/model.safetensors; exits
    /// with 130 when interrupted (the checkpoint is written).
    func train(_ task: TrainingTask, model: SVQModel) throws {
        let loop = TrainingLoop(run: run, settings: try loopSettings())
        let finished = try loop.run(task)
        writeCurves(of: run.directory)
        guard finished else { throw ExitCode(130) }
        try model.save(to: run.model)
        print("wrote \(run.model.path)")
    }
}
