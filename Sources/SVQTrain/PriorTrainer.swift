// Training the semantic prior (official train_prior.py): the dataset is encoded once with the trained SVQ
// model and cached (see CodeCache: one or more slot-noise draws per image, slots as encoded or sorted); the
// prior then learns the codes' autoregressive distribution with teacher forcing.

import Foundation
import SafeTensors
import SVQEngine
import SVQModel
import SVQNN
import SVQOptim

public struct PriorTrainingOptions: Codable, Equatable, Sendable {
    public var batchSize = 40
    public var steps = 20_000
    public var seed: UInt64 = 0
    public var learningRate: Float = 3e-4
    public var warmupSteps = 30_000
    public var halfLifeSteps = 250_000
    public var clipNorm: Float = 0.05
    /// Encodings (slot-noise draws) of each training image; the official code caches one.
    public var encodingDraws = 1
    /// How each code set's slots are listed for the prior; the official code keeps slot attention's order.
    public var slotOrder = SlotOrder.encoded
    /// With sorted order, the blocks compared first (empty: block by block).
    public var slotSortKey: [Int] = []
    /// How sorted order compares the key blocks' codes.
    public var slotSortRanking = SortRanking.prototypes
    /// Train the code embedding and output layer through the codebooks (`PriorCodebookTie`); the official
    /// code's are free tables.
    public var codebookTie = false

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case batchSize, steps, seed, learningRate, warmupSteps, halfLifeSteps, clipNorm, encodingDraws, slotOrder
        case codebookTie, slotSortKey, slotSortRanking
    }

    /// Checkpoints written before `encodingDraws`, `slotOrder`, `codebookTie`, `slotSortKey` and
    /// `slotSortRanking` existed used one draw in encoded order, free tables and code ids.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        steps = try c.decode(Int.self, forKey: .steps)
        seed = try c.decode(UInt64.self, forKey: .seed)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        halfLifeSteps = try c.decode(Int.self, forKey: .halfLifeSteps)
        clipNorm = try c.decode(Float.self, forKey: .clipNorm)
        encodingDraws = try c.decodeIfPresent(Int.self, forKey: .encodingDraws) ?? 1
        slotOrder = try c.decodeIfPresent(SlotOrder.self, forKey: .slotOrder) ?? .encoded
        codebookTie = try c.decodeIfPresent(Bool.self, forKey: .codebookTie) ?? false
        slotSortKey = try c.decodeIfPresent([Int].self, forKey: .slotSortKey) ?? []
        slotSortRanking = try c.decodeIfPresent(SortRanking.self, forKey: .slotSortRanking) ?? .ids
    }

    /// Warm-up over the first tenth of a CPU run instead of the official 30k steps.
    public static func cpu(steps: Int, batchSize: Int, seed: UInt64) -> PriorTrainingOptions {
        var o = PriorTrainingOptions()
        o.steps = steps
        o.batchSize = batchSize
        o.seed = seed
        o.warmupSteps = max(1, steps / 10)
        o.halfLifeSteps = max(1, steps * 2)
        return o
    }

    public func validate() throws {
        guard batchSize >= 1, steps >= 0, warmupSteps >= 0, halfLifeSteps >= 1, learningRate > 0, clipNorm > 0,
              encodingDraws >= 1 else {
            throw TrainingError("prior training options out of range: \(self)")
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
    /// With `options.codebookTie`: the parameters behind the prior's code embedding and output layer.
    public let tie: PriorCodebookTie?
    private let trained: [Tensor]

    public init(model: SVQModel, codes: CodeCache, validationCodes: CodeCache? = nil, options: PriorTrainingOptions) throws {
        try options.validate()
        guard let prior = model.prior else { throw TrainingError("the model has no prior (its config has no \"prior\")") }
        guard codes.codes.shape.count == 2, codes.codes.shape[1] == model.config.codesPerImage else {
            throw TrainingError("cached codes \(codes.codes.shape) do not fit the model's N·M = \(model.config.codesPerImage)")
        }
        if let held = validationCodes {
            guard held.codes.shape.count == 2, held.codes.shape[1] == model.config.codesPerImage, held.count > 0 else {
                throw TrainingError("held-out codes \(held.codes.shape) do not fit the model's N·M = \(model.config.codesPerImage)")
            }
        }
        guard codes.count >= options.batchSize else {
            throw TrainingError("\(codes.count) code sets is fewer than one batch of \(options.batchSize)")
        }
        self.model = model
        self.prior = prior
        self.options = options
        self.codes = codes
        self.validationCodes = validationCodes
        schedule = BatchSchedule(count: codes.count, batchSize: options.batchSize, seed: options.seed)
        var parameters = prior.namedTensors(prefix: "prior.").filter { $0.tensor.requiresGrad }
        if options.codebookTie {
            var rng = RandomGenerator(seed: options.seed, stream: RandomStreams.codebookTie)
            let tie = PriorCodebookTie(prior: prior, codebooks: model.slotAttention.quantizer.codebooks, rng: &rng)
            tie.fold(into: prior)
            // The folded tables still receive gradients from backward(); the optimizer updates the tie instead.
            let folded = [prior.codeEmbedding.weight, prior.head.weight]
            parameters.removeAll { p in folded.contains { $0 === p.tensor } }
            parameters += tie.namedTensors().map { ("prior_tie." + $0.name, $0.tensor) }
            self.tie = tie
        } else {
            tie = nil
        }
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
        tie?.takeGradients(from: prior)
        if let bad = nonFiniteGradients(optimizer) {
            prior.zeroGrad()
            nonFinite = "step \(s): the gradient of \(bad) is not finite"
            return (loss.item(), .nan)
        }
        let gmax = clipGradients(trained, maxNorm: options.clipNorm, norm: .infinity)
        optimizer.step()
        tie?.fold(into: prior)
        prior.zeroGrad()
        return (loss.item(), gmax)
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
        if let problem = nonFinite { throw TrainingError("training stopped: \(problem)") }
        return [r.loss, r.gradientMax]
    }

    public func writeCheckpoint(to url: URL) throws {
        try Checkpoint.write(to: url, kind: .prior, model: model, optimizer: optimizer, optionsJSON: jsonText(options),
                             extra: ["codes_count": String(codes.count)],
                             trainerTensors: tie?.namedTensors().map { ("prior_tie." + $0.name, $0.tensor) } ?? [])
    }

    /// The options a prior checkpoint was started with.
    public static func options(inCheckpoint url: URL) throws -> PriorTrainingOptions {
        try options(in: try SafeTensorsFile(contentsOf: url), at: url)
    }

    private static func options(in file: SafeTensorsFile, at url: URL) throws -> PriorTrainingOptions {
        let header = try Checkpoint.header(file)
        guard header.kind == .prior else { throw TrainingError("\(url.path) is a \(header.kind.rawValue) checkpoint, not a prior one") }
        return try JSONDecoder().decode(PriorTrainingOptions.self, from: Data(header.optionsJSON.utf8))
    }

    public static func resume(from url: URL, codes: CodeCache, validationCodes: CodeCache? = nil, steps: Int? = nil) throws -> PriorTrainer {
        let file = try SafeTensorsFile(contentsOf: url)
        var options = try options(in: file, at: url)
        if let steps { options.steps = steps }
        let model = try Checkpoint.loadModel(file)
        let trainer = try PriorTrainer(model: model, codes: codes, validationCodes: validationCodes, options: options)
        try Checkpoint.restore(trainer.optimizer, from: file)
        if let tie = trainer.tie {
            try Checkpoint.restoreTrainerTensors(tie.namedTensors().map { ("prior_tie." + $0.name, $0.tensor) }, from: file)
            tie.fold(into: trainer.prior)
        }
        return trainer
    }
}
