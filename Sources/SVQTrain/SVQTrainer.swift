// One SVQ training step as the official train.py takes it: the dVAE learns to reconstruct through a
// Gumbel-softmax relaxation, the transformer decoder learns to predict the dVAE's hard tokens from the
// quantized slots, the slots commit to their codes, and the codebooks follow the slots by EMA.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels
import SVQNN
import SVQOptim

/// Hyperparameters of SVQ training. Defaults are the official ones (docs/reference/nlotm-forward.md §8)
/// except the batch size, which a CPU run chooses.
public struct SVQTrainingOptions: TrainingOptions, Equatable {
    public var batchSize = 32
    public var steps = 100_000
    public var seed: UInt64 = 0
    public var dvaeLearningRate: Float = 3e-4
    public var encoderLearningRate: Float = 1e-4
    public var decoderLearningRate: Float = 3e-4
    /// Linear warm-up of the encoder and decoder rates.
    public var warmupSteps = 30_000
    /// The encoder and decoder rates halve every this many steps.
    public var halfLifeSteps = 250_000
    /// Gumbel-softmax temperature: cosine from `temperatureStart` to `temperatureEnd` over `temperatureSteps`.
    public var temperatureStart: Float = 1
    public var temperatureEnd: Float = 0.1
    public var temperatureSteps = 30_000
    /// Gradients are scaled so their largest absolute entry is at most this (`clip_grad_norm_(…, 'inf')`).
    public var clipNorm: Float = 0.05
    public var commitmentWeight: Float = 50
    /// Decoder dropout; nil uses the model config's.
    public var dropout: Float?

    public init() {}

    /// Schedules shortened for a CPU run of `steps` steps: the learning rates' warm-up over the first tenth,
    /// temperature annealing over the first fifth, no decay to speak of.
    public static func cpu(steps: Int, batchSize: Int, seed: UInt64) -> SVQTrainingOptions {
        var o = scaled(steps: steps, batchSize: batchSize, seed: seed)
        o.temperatureSteps = max(1, steps / 5)
        return o
    }

    public func validate() throws {
        func require(_ ok: Bool, _ m: String) throws { if !ok { throw TrainingError(.invalidOptions, m) } }
        try require(batchSize >= 1, "batch size must be positive")
        try require(steps >= 0, "steps must not be negative")
        try require(warmupSteps >= 0 && halfLifeSteps >= 1 && temperatureSteps >= 0, "schedule lengths must be positive")
        try require(temperatureStart > 0 && temperatureEnd > 0, "temperatures must be positive")
        try require(clipNorm > 0, "clip norm must be positive")
        if let p = dropout { try require(p >= 0 && p < 1, "dropout must be in [0, 1)") }
    }
}

extension SVQTrainingOptions {
    /// A warning when codebook updates see too few block vectors per code to keep codes alive, or nil.
    /// The dead-code threshold is an absolute count (1 vector per update, smoothed), and each update gives
    /// each code B·N/P vectors on average; with the uneven use real data makes, below about 2 most codes
    /// restart at every update (64 codes at batch 16 × 5 slots: 25% live). The official 40 × 4 / 64 gives 2.5.
    public static func codeRestartWarning(config: SVQConfig, batchSize: Int) -> String? {
        let perCode = Double(batchSize * config.numSlots) / Double(config.numPrototypes)
        guard perCode < 2 else { return nil }
        let perCodeText = String(format: "%.2g", perCode)
        return "batch \(batchSize) × \(config.numSlots) slots gives each of the \(config.numPrototypes) codes per block "
            + "\(perCodeText) vectors per update on average; codes below \(BlockVectorQuantizer.deadThreshold) restart at every update, so most will "
            + "churn. Use a larger batch or fewer codes (about 2.5 per code or more)."
    }
}

/// What a training step measured.
public struct SVQStepMetrics: Sendable {
    public var loss: Float
    /// Σ (image − dVAE reconstruction)² per image.
    public var dvaeMSE: Float
    /// Decoder cross-entropy summed over the token grid, per image.
    public var crossEntropy: Float
    public var commitment: Float
    public var temperature: Float
    /// Largest absolute gradient entry before clipping.
    public var gradientMax: Float
    /// Fraction of each block's codes used by this batch's slots, averaged over blocks.
    public var batchCodeUsage: Float
    /// Fraction of codes whose EMA cluster size is alive (≥ 1), over all blocks.
    public var liveCodes: Float
}

/// Trains an `SVQModel`'s dVAE, encoder (CNN + slot attention) and decoder; the prior is left alone.
public final class SVQTrainer {
    public let model: SVQModel
    public let options: SVQTrainingOptions
    public let optimizer: Adam
    public let images: ImageSet
    public let schedule: BatchSchedule
    private let trained: [Tensor]

    public init(model: SVQModel, images: ImageSet, options: SVQTrainingOptions) throws {
        try options.validate()
        let c = model.config
        guard images.channels == c.imageChannels, images.height == c.imageSize, images.width == c.imageSize else {
            throw TrainingError(.inputMismatch, "images are \(images.channels)×\(images.height)×\(images.width) but the model takes \(c.imageChannels)×\(c.imageSize)×\(c.imageSize)")
        }
        schedule = try options.batchSchedule(count: images.count, of: "training images")
        self.model = model
        self.options = options
        self.images = images
        optimizer = Adam(groups: Self.parameterGroups(model, options))
        trained = optimizer.groups.flatMap { $0.parameters.map(\.tensor) }
        model.train(true)
    }

    /// The official three groups, by name: the dVAE at a constant rate, the encoder (CNN and slot attention)
    /// and the decoder with warm-up and half-life decay. The prior is not trained here.
    static func parameterGroups(_ model: SVQModel, _ o: SVQTrainingOptions) -> [ParameterGroup] {
        let scheduled = LearningRateSchedule(warmupSteps: o.warmupSteps, decay: .halfLife(steps: o.halfLifeSteps))
        func named(_ prefixes: [String]) -> [(name: String, tensor: Tensor)] {
            model.namedParameters().filter { p in prefixes.contains { p.name.hasPrefix($0) } }
        }
        return [
            ParameterGroup(name: "dvae", parameters: named(["dvae."]), learningRate: o.dvaeLearningRate),
            ParameterGroup(name: "encoder", parameters: named(["image_encoder.", "slot_attention."]),
                           learningRate: o.encoderLearningRate, schedule: scheduled),
            ParameterGroup(name: "decoder", parameters: named(["image_decoder."]),
                           learningRate: o.decoderLearningRate, schedule: scheduled),
        ]
    }

    /// Set when a step met a non-finite loss or gradient; that step was not applied.
    public private(set) var nonFinite: String?

    /// The next step's index (the number of steps taken).
    public var step: Int { optimizer.stepCount }

    public func temperature(at step: Int) -> Float {
        cosineAnneal(step: step, start: options.temperatureStart, end: options.temperatureEnd, steps: options.temperatureSteps)
    }

    /// One optimisation step on the scheduled batch.
    @discardableResult
    public func trainStep() -> SVQStepMetrics {
        let s = step
        let batch = images.batch(schedule.indices(step: s))
        var rng = RandomGenerator(seed: options.seed, stream: RandomStreams.stepBase + UInt64(s))
        let (loss, metrics) = losses(batch, temperature: temperature(at: s), rng: &rng)
        loss.backward()
        var m = metrics
        switch applyGradients(optimizer, clipping: trained, to: options.clipNorm, zeroing: model) {
        case .applied(let gradientMax):
            m.gradientMax = gradientMax
        case .skipped(let bad):
            nonFinite = "step \(s): the gradient of \(bad) is not finite (loss \(metrics.loss))"
        }
        return m
    }

    /// The training loss of `images` `[B, C, H, W]` and its parts (recorded, codebooks updated).
    func losses(_ images: Tensor, temperature tau: Float, rng: inout RandomGenerator) -> (Tensor, SVQStepMetrics) {
        let c = model.config
        let b = images.shape[0]
        let perImage = 1 / Float(b)
        // dVAE: reconstruct through a soft Gumbel sample; a second, hard draw gives the decoder's tokens.
        let (soft, hardTokens) = model.dvae.gumbelSample(images, temperature: tau, rng: &rng)
        let recon = model.dvae.decode(distribution: soft)
        let mse = (images - recon).square().sum() * perImage

        let noise = model.slotNoise(batch: b, rng: &rng)
        let encoded = model.slotAttention(model.imageEncoder(images), noise: noise, updatingCodebooks: &rng)
        let memory = model.imageDecoder.memory(encoded.slots)
        let dropout = Dropout(p: options.dropout ?? c.dropout, rng: rng)
        let logits = model.imageDecoder.logits(tokens: hardTokens, memory: memory, dropout: dropout)
        rng = dropout.rng
        let ce = crossEntropy(logits, targets: hardTokens, reduction: .sum) * perImage
        let loss = mse + ce + encoded.commitment * options.commitmentWeight

        let q = model.slotAttention.quantizer
        var used = 0
        for block in 0..<c.numBlocks {
            var seen = Set<Int32>()
            for i in stride(from: block, to: encoded.codes.count, by: c.numBlocks) { seen.insert(encoded.codes.values[i]) }
            used += seen.count
        }
        let live = q.liveFraction
        let metrics = SVQStepMetrics(
            loss: loss.item(), dvaeMSE: mse.item(), crossEntropy: ce.item(), commitment: encoded.commitment.item(),
            temperature: tau, gradientMax: 0,
            batchCodeUsage: Float(used) / Float(c.numBlocks * c.numPrototypes),
            liveCodes: live.reduce(0, +) / Float(live.count))
        return (loss, metrics)
    }
}

/// Why a training run could not start, continue or go on: a kind callers can branch on and a message that
/// names the problem.
public typealias TrainingError = LibraryError<TrainingErrorKind>

/// What stopped a training run.
public enum TrainingErrorKind: Sendable, Equatable, Hashable, CaseIterable {
    /// Options out of range, or options a resumed run cannot change.
    case invalidOptions
    /// A model, images or codes that do not fit the run: a model without a prior to train, images of
    /// another size, codes of another layout, fewer examples than one batch, an empty split, or other
    /// images than the checkpoint's.
    case inputMismatch
    /// Not a usable checkpoint of this kind of run: another format or version, a missing or malformed
    /// header entry, or optimizer state that does not match.
    case invalidCheckpoint
    /// A run folder in a state the request does not fit: nothing to resume, a run already there, a log
    /// with other columns, or a folder (run or output) that cannot be written.
    case runFolderConflict
    /// A gradient became NaN or infinite, so training stopped.
    case nonFiniteGradients
}

extension SVQTrainer: TrainingTask {
    public var totalSteps: Int { options.steps }
    public var metricNames: [String] {
        ["loss", "dvae_mse", "cross_entropy", "commitment", "temperature", "grad_max", "batch_code_usage", "live_codes"]
    }

    public func runStep() throws -> [Float] {
        let m = trainStep()
        if let problem = nonFinite { throw TrainingError(.nonFiniteGradients, "training stopped: \(problem)") }
        return [m.loss, m.dvaeMSE, m.crossEntropy, m.commitment, m.temperature, m.gradientMax, m.batchCodeUsage, m.liveCodes]
    }

    public func writeCheckpoint(to url: URL, metadata: [String: String]) throws {
        try Checkpoint.write(to: url, kind: .svq, model: model, optimizer: optimizer, optionsJSON: jsonText(options),
                             extra: ["data_fingerprint": String(images.fingerprint), "data_count": String(images.count)].merging(metadata) { mine, _ in mine })
    }

    /// Continues a run from its checkpoint: the model's tensors, the optimizer and the options come from the
    /// file; the images must be the same (checked by count and pixel checksum).
    public static func resume(from url: URL, images: ImageSet, steps: Int? = nil) throws -> SVQTrainer {
        let file = try SafeTensorsFile(contentsOf: url)
        let header = try Checkpoint.header(file)
        guard header.kind == .svq else { throw TrainingError(.invalidCheckpoint, "\(url.path) is a \(header.kind.rawValue) checkpoint, not an SVQ one") }
        var options = try JSONDecoder().decode(SVQTrainingOptions.self, from: Data(header.optionsJSON.utf8))
        if let steps { options.steps = steps }
        if let fp = header.metadata["data_fingerprint"], fp != String(images.fingerprint) {
            throw TrainingError(.inputMismatch, "the training images differ from the ones this checkpoint was trained on (pixel checksum); resume on the same folder and split")
        }
        let model = try Checkpoint.loadModel(file)
        let trainer = try SVQTrainer(model: model, images: images, options: options)
        try Checkpoint.restore(trainer.optimizer, from: file)
        return trainer
    }
}
