// What the options of the two trainers (SVQTrainingOptions, PriorTrainingOptions) share: the run's length,
// batch and seed, and a learning-rate schedule that a CPU run scales to its length.

/// Options of a training run. `init()` gives the official hyperparameters.
public protocol TrainingOptions: Codable, Sendable {
    init()
    var steps: Int { get set }
    var batchSize: Int { get set }
    var seed: UInt64 { get set }
    /// Linear warm-up of the scheduled learning rates.
    var warmupSteps: Int { get set }
    /// The scheduled learning rates halve every this many steps.
    var halfLifeSteps: Int { get set }
    /// Options whose schedules fit a CPU run of `steps` steps.
    static func cpu(steps: Int, batchSize: Int, seed: UInt64) -> Self
    func validate() throws
}

extension TrainingOptions {
    /// The official options for this run's length, batch and seed, with the learning-rate warm-up over the
    /// first tenth of the run and no decay to speak of: the official 30k-step warm-up would take most of a
    /// CPU run.
    static func scaled(steps: Int, batchSize: Int, seed: UInt64) -> Self {
        var o = Self()
        o.steps = steps
        o.batchSize = batchSize
        o.seed = seed
        o.warmupSteps = max(1, steps / 10)
        o.halfLifeSteps = max(1, steps * 2)
        return o
    }

    /// The batches of a run over `count` examples, which must fill at least one batch (`examples` names them
    /// in the error).
    func batchSchedule(count: Int, of examples: String) throws -> BatchSchedule {
        guard count >= batchSize else { throw TrainingError(.inputMismatch, "\(count) \(examples) is fewer than one batch of \(batchSize)") }
        return BatchSchedule(count: count, batchSize: batchSize, seed: seed)
    }

    /// A run of `steps` steps at `batchSize` from `seed`: with the official schedules (`officialSchedules`),
    /// or with ones scaled to `steps` (`cpu`).
    public init(steps: Int, batchSize: Int, seed: UInt64, officialSchedules: Bool) {
        self = officialSchedules ? Self() : Self.cpu(steps: steps, batchSize: batchSize, seed: seed)
        self.steps = steps
        self.batchSize = batchSize
        self.seed = seed
    }
}
