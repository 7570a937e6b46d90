// An SVQ training run as `svq train` performs it, for Swift users too: the train split of an image folder,
// and a new trainer, or the one a run folder's checkpoint continues.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels

/// Prepares an SVQ training run.
public enum SVQTrainingRun {
    /// A new or resumed trainer on the train split of `data`.
    ///
    /// - `config`: the new model's sizes (ignored on resume: the checkpoint's own are used).
    /// - `options`: the run's options (ignored on resume, where the checkpoint's own are used, but for `steps`).
    /// - `log`: one line per event worth telling a user (training what, resumed at step …).
    public static func trainer(config: SVQConfig, data: URL, run: RunFolder, options: SVQTrainingOptions, resume: Bool,
                               log: (String) -> Void = { _ in }) throws -> SVQTrainer {
        let fileManager = FileManager.default
        if resume {
            guard fileManager.fileExists(atPath: run.checkpoint.path) else {
                throw TrainingError(.runFolderConflict, "nothing to resume: \(run.checkpoint.path) does not exist")
            }
            try run.checkWritable()
            let header = try Checkpoint.header(try SafeTensorsFile(contentsOf: run.checkpoint))
            let images = try ImageSet.load(folder: data, split: .train, size: header.config.imageSize)
            let trainer = try SVQTrainer.resume(from: run.checkpoint, images: images, steps: options.steps)
            log("resuming \(run.checkpoint.path) at step \(trainer.step)")
            return trainer
        }
        if fileManager.fileExists(atPath: run.checkpoint.path) {
            throw TrainingError(.runFolderConflict, "\(run.checkpoint.path) exists: resume it, or choose another run folder")
        }
        try run.checkWritable()
        let images = try ImageSet.load(folder: data, split: .train, size: config.imageSize)
        var rng = RandomGenerator(seed: options.seed, stream: RandomStreams.initialisation)
        let model = try SVQModel(config: config, rng: &rng)
        let trainer = try SVQTrainer(model: model, images: images, options: options)
        try fileManager.createDirectory(at: run.directory, withIntermediateDirectories: true)
        log("training \(model.parameterCount) parameters on \(images.count) images, batch \(options.batchSize), \(options.steps) steps")
        return trainer
    }
}
