// A prior-training run as `svq train-prior` performs it, for Swift users too: load the trained model,
// encode the image folder's train and validation splits once (cached in the run folder, reused while the
// model file and the images are unchanged), then build or resume the PriorTrainer.

import Foundation
import SafeTensors
import SVQData
import SVQEngine
import SVQModels
#if canImport(Glibc)
import Glibc
#endif

/// The files of a run folder.
public struct RunFolder: Sendable {
    public let directory: URL

    public init(_ directory: URL) { self.directory = directory }

    /// Fails unless the folder can be written (`checkWritableFolder`).
    public func checkWritable() throws { try checkWritableFolder(directory, role: "run folder") }

    public var checkpoint: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    public var metrics: URL { directory.appendingPathComponent("metrics.csv") }
    public var validationMetrics: URL { directory.appendingPathComponent("validation.csv") }
    /// The trained model, written when the run reaches its last step.
    public var model: URL { directory.appendingPathComponent("model.safetensors") }
}

/// Fails at once, in one line, if files cannot be made in `folder` — or, where it does not exist yet, in the
/// deepest folder of its path that does (where creating it would start) — so that a run or an evaluation
/// finds out before it loads its data, not when it first writes. It creates and removes a file to find out:
/// permission bits do not tell (root ignores them; a read-only mount does not show in them). Creates nothing.
/// - Throws: `TrainingError(.runFolderConflict)` naming the `role` ("run folder"), the path and the reason.
public func checkWritableFolder(_ folder: URL, role: String) throws {
    let wanted = folder.standardizedFileURL.path
    func failure(_ code: Int32) -> TrainingError {
        TrainingError(.runFolderConflict, "cannot write to the \(role) \(wanted): \(String(cString: strerror(code)))")
    }
    var path = wanted, info = stat()
    while stat(path, &info) != 0 {
        guard errno == ENOENT else { throw failure(errno) }   // a file where a folder should be, say
        let parent = (path as NSString).deletingLastPathComponent
        guard parent != path && !parent.isEmpty else { throw failure(ENOENT) }
        path = parent
    }
    guard info.st_mode & S_IFMT == S_IFDIR else { throw failure(ENOTDIR) }
    let probe = path + "/.svq-write-check-" + UUID().uuidString
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw failure(errno) }
    close(fd)
    unlink(probe)
}

extension ImageSet {
    /// The images of one split of a folder of PNGs, at `size`×`size`.
    public static func load(folder: URL, split: DatasetSplit, size: Int) throws -> ImageSet {
        let part = try ImageFolder(directory: folder).split(split)
        guard part.count > 0 else { throw TrainingError(.inputMismatch, "no PNG images in the \(split) split of \(folder.path)") }
        let images = try part.loadAll(size: size)
        return ImageSet(interleavedRGB: images.map { $0.pixels }, height: size, width: size)
    }
}

/// Prepares a prior-training run.
public enum PriorTrainingRun {
    /// A new or resumed trainer for the prior of the model in `modelFile`, on the images of `data`.
    ///
    /// - `options`: the run's options (ignored on resume, where the checkpoint's own are used, but for `steps`).
    /// - `priorSizes`: train a fresh prior of these sizes instead of the model's own (not on resume).
    /// - `log`: one line per event worth telling a user (cache used, images encoded, resumed at step …).
    public static func trainer(modelFile: URL, data: URL, run: RunFolder, options: PriorTrainingOptions,
                               priorSizes: PriorConfig? = nil, resume: Bool,
                               log: (String) -> Void = { _ in }) throws -> PriorTrainer {
        let fileManager = FileManager.default
        if resume {
            guard fileManager.fileExists(atPath: run.checkpoint.path) else {
                throw TrainingError(.runFolderConflict, "nothing to resume: \(run.checkpoint.path) does not exist")
            }
            guard priorSizes == nil else {
                throw TrainingError(.invalidOptions, "a resumed run keeps its own prior sizes; new sizes start a new run")
            }
            // Fails before any encoding when the checkpoint is not a prior run's.
            _ = try PriorTrainer.options(inCheckpoint: run.checkpoint)
        } else if fileManager.fileExists(atPath: run.checkpoint.path) {
            throw TrainingError(.runFolderConflict, "\(run.checkpoint.path) exists: resume it, or choose another run folder")
        }
        try options.validate()
        try run.checkWritable()

        var model = try SVQModel(contentsOf: modelFile)
        if let sizes = priorSizes {
            // Before any encoding, so that sizes the config refuses fail at once. The codes cache is keyed by the
            // model file, whose encoder this copy shares.
            var rng = RandomGenerator(seed: options.seed)
            model = try model.withFreshPrior(sizes, rng: &rng)
            log("a fresh prior: width \(sizes.dModel), \(sizes.numLayers) layers, \(sizes.numHeads) heads")
        }
        let modelFingerprint = String(fnv1a(try Data(contentsOf: modelFile)))

        func cachedCodes(of images: ImageSet, in file: String) throws -> CodeCache {
            let url = run.directory.appendingPathComponent(file)
            let source = CodeCache.Source(modelFingerprint: modelFingerprint, dataFingerprint: String(images.fingerprint))
            if let cached = CodeCache.read(from: url, source: source) {
                log("using cached codes \(url.path) (\(cached.count) code sets)")
                return cached
            }
            let start = Date()
            let codes = CodeCache.encode(images, model: model, seed: options.seed) { done in
                if done % 1024 < 64 { FileHandle.standardError.write(Data("encoded \(done)/\(images.count)\n".utf8)) }
            }
            try codes.write(to: url, source: source)
            log(String(format: "encoded %d images in %.1f s → %@", images.count, Date().timeIntervalSince(start), url.path))
            return codes
        }
        let size = model.config.imageSize
        let codes = try cachedCodes(of: try ImageSet.load(folder: data, split: .train, size: size), in: "codes.safetensors")
        // The validation split's loss shows when a longer run stops helping (the prior starts to memorise).
        var validationCodes: CodeCache?
        if try ImageFolder(directory: data).split(.validation).count > 0 {
            let held = try ImageSet.load(folder: data, split: .validation, size: size)
            validationCodes = try cachedCodes(of: held, in: "validation-codes.safetensors")
        } else {
            log("no validation split in \(data.path): training without a held-out loss")
        }

        if resume {
            let trainer = try PriorTrainer.resume(from: run.checkpoint, codes: codes, validationCodes: validationCodes,
                                                  steps: options.steps)
            log("resuming \(run.checkpoint.path) at step \(trainer.step)")
            return trainer
        }
        let trainer = try PriorTrainer(model: model, codes: codes, validationCodes: validationCodes, options: options)
        log("training the prior (\(trainer.prior.parameterCount) parameters) on \(codes.count) code sets, batch \(options.batchSize), \(options.steps) steps")
        return trainer
    }
}
