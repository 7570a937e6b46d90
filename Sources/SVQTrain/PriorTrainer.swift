// Training the semantic prior (official train_prior.py): the dataset is encoded once with the trained SVQ
// model and cached (CodeCache); the prior then learns the codes' autoregressive distribution with teacher
// forcing.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels
import SVQNN
import SVQOptim

public struct PriorTrainingOptions: TrainingOptions, Equatable {
    public var batchSize = 40
    public var steps = 20_000
    public var seed: UInt64 = 0
    public var learningRate: Float = 3e-4
    public var warmupSteps = 30_000
    public var halfLifeSteps = 250_000
    public var clipNorm: Float = 0.05

    public init() {}

    /// Warm-up over the first tenth of a CPU run instead of the official 30k steps.
    public static func cpu(steps: Int, batchSize: Int, seed: UInt64) -> PriorTrainingOptions {
        scaled(steps: steps, batchSize: batchSize, seed: seed)
    }

    public func validate() throws {
        guard batchSize >= 1, steps >= 0, warmupSteps >= 0, halfLifeSteps >= 1, learningRate > 0, clipNorm > 0 else {
            throw TrainingError(.invalidOptions, "prior training options out of range: \(self)")
        }
    }
}

/// Trains `model.prior` on cached codes; every other tensor of the model is left as it is.
public final class PriorTrainer {
    public let model: SVQModel
    public let prior: SemanticPrior
    public let options: PriorTrainingOptions
    public let optimizer: Adam
    public let codes: CodeCache
    /// Codes of held-out images, whose loss the training loop logs at every checkpoint.
    public let validationCodes: CodeCache?
    public let schedule: BatchSchedule
    private let trained: [Tensor]

    public init(model: SVQModel, codes: CodeCache, validationCodes: CodeCache? = nil, options: PriorTrainingOptions) throws {
        try options.validate()
        guard let prior = model.prior else { throw TrainingError(.inputMismatch, "the model has no prior (its config has no \"prior\")") }
        guard codes.codes.shape.count == 2, codes.codes.shape[1] == model.config.codesPerImage else {
            throw TrainingError(.inputMismatch, "cached codes \(codes.codes.shape) do not fit the model's N·M = \(model.config.codesPerImage)")
        }
        if let held = validationCodes {
            guard held.codes.shape.count == 2, held.codes.shape[1] == model.config.codesPerImage, held.count > 0 else {
                throw TrainingError(.inputMismatch, "held-out codes \(held.codes.shape) do not fit the model's N·M = \(model.config.codesPerImage)")
            }
        }
        schedule = try options.batchSchedule(count: codes.count, of: "code sets")
        self.model = model
        self.prior = prior
        self.options = options
        self.codes = codes
        self.validationCodes = validationCodes
        let parameters = prior.namedTensors(prefix: "prior.").filter { $0.tensor.requiresGrad }
        let group = ParameterGroup(name: "prior", parameters: parameters, learningRate: options.learningRate,
                                   schedule: LearningRateSchedule(warmupSteps: options.warmupSteps, decay: .halfLife(steps: options.halfLifeSteps)))
        optimizer = Adam(groups: [group])
        trained = group.parameters.map(\.tensor)
        prior.train(true)
    }

    public var step: Int { optimizer.stepCount }

    /// Set when a step met a non-finite gradient; that step was not applied.
    public private(set) var nonFinite: String?

    /// One step; returns the loss (cross-entropy summed over the N·M positions, per scene).
    @discardableResult
    public func trainStep() -> (loss: Float, gradientMax: Float) {
        let s = step
        var rng = RandomGenerator(seed: options.seed, stream: RandomStreams.stepBase + UInt64(s))
        let loss = prior.loss(codes.batch(schedule.indices(step: s)), rng: &rng)
        loss.backward()
        switch applyGradients(optimizer, clipping: trained, to: options.clipNorm, zeroing: prior) {
        case .applied(let gradientMax):
            model.priorTrained = true
            return (loss.item(), gradientMax)
        case .skipped(let bad):
            nonFinite = "step \(s): the gradient of \(bad) is not finite"
            return (loss.item(), .nan)
        }
    }

    /// Mean loss per scene over `codes` without dropout (validation).
    public func evaluate(_ held: CodeCache, batchSize: Int = 256) -> Float {
        var total: Double = 0
        withoutGradients {
            var start = 0
            while start < held.count {
                let end = min(held.count, start + batchSize)
                total += Double(prior.loss(held.batch(Array(start..<end))).item()) * Double(end - start)
                start = end
            }
        }
        return Float(total / Double(max(held.count, 1)))
    }
}

extension PriorTrainer: TrainingTask {
    public var totalSteps: Int { options.steps }
    public var metricNames: [String] { ["loss", "grad_max"] }
    public var validationMetricNames: [String] { validationCodes == nil ? [] : ["loss"] }

    public func validationMetrics() throws -> [Float] {
        guard let held = validationCodes else { return [] }
        return [evaluate(held)]
    }

    public func runStep() throws -> [Float] {
        let r = trainStep()
        if let problem = nonFinite { throw TrainingError(.nonFiniteGradients, "training stopped: \(problem)") }
        return [r.loss, r.gradientMax]
    }

    public func writeCheckpoint(to url: URL, metadata: [String: String]) throws {
        try Checkpoint.write(to: url, kind: .prior, model: model, optimizer: optimizer, optionsJSON: jsonText(options),
                             extra: ["codes_count": String(codes.count)].merging(metadata) { mine, _ in mine })
    }

    /// The options a prior checkpoint was started with.
    public static func options(inCheckpoint url: URL) throws -> PriorTrainingOptions {
        try options(in: try SafeTensorsFile(contentsOf: url), at: url)
    }

    private static func options(in file: SafeTensorsFile, at url: URL) throws -> PriorTrainingOptions {
        let header = try Checkpoint.header(file)
        guard header.kind == .prior else { throw TrainingError(.invalidCheckpoint, "\(url.path) is a \(header.kind.rawValue) checkpoint, not a prior one") }
        return try JSONDecoder().decode(PriorTrainingOptions.self, from: Data(header.optionsJSON.utf8))
    }

    public static func resume(from url: URL, codes: CodeCache, validationCodes: CodeCache? = nil, steps: Int? = nil) throws -> PriorTrainer {
        let file = try SafeTensorsFile(contentsOf: url)
        var options = try options(in: file, at: url)
        if let steps { options.steps = steps }
        let model = try Checkpoint.loadModel(file)
        let trainer = try PriorTrainer(model: model, codes: codes, validationCodes: validationCodes, options: options)
        try Checkpoint.restore(trainer.optimizer, from: file)
        return trainer
    }
}
