// A model's held-out evaluation as `svq eval` runs it, for Swift users too: reconstruction error, code usage,
// and, on sprites data with ground truth, factor alignment, object recovery and generation accuracy; with the
// picture grids.

import Foundation
import SVQData
import SVQEngine
import SVQModels

public struct EvaluationOptions: Equatable, Sendable {
    /// The split of the image folder to evaluate on.
    public var split: DatasetSplit = .test
    /// Evaluate at most this many images of the split (the first ones).
    public var limit = 512
    /// Prior samples for generation accuracy (0 skips them).
    public var samples = 128
    /// The prior's sampling temperature.
    public var priorTemperature: Float = 1
    /// Keep the prior's k most likely codes at each step (nil: all).
    public var priorTopK: Int?
    /// Draw the decoder's image tokens at this temperature (nil: the most likely, greedy); for
    /// reconstructions and samples alike.
    public var decodeTemperature: Float?
    /// Draw this many images per decode and keep the one whose re-encoding matches the codes best.
    public var decodeCandidates = 1
    /// Seed of the slot noise, the prior's samples and the token draws.
    public var seed: UInt64 = 0
    /// Images per batch.
    public var batchSize = 16
    /// Decode the code legend's traversal tiles (blocks × codes decodes) when there is ground truth.
    public var legendTiles = true

    public init() {}

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw EvaluationError(message) } }
        try require(limit >= 1, "the image limit must be at least 1, got \(limit)")
        try require(samples >= 0, "the number of samples must not be negative, got \(samples)")
        try require(priorTemperature > 0 && priorTemperature.isFinite,
                    "the prior's temperature must be positive and finite, got \(priorTemperature)")
        if let k = priorTopK { try require(k >= 1, "the prior's top-k must be at least 1, got \(k)") }
        if let t = decodeTemperature {
            try require(t > 0 && t.isFinite, "the decoder's temperature must be positive and finite, got \(t)")
        }
        try require(decodeCandidates >= 1, "decode candidates must be at least 1, got \(decodeCandidates)")
        try require(decodeCandidates == 1 || decodeTemperature != nil,
                    "\(decodeCandidates) decode candidates need a decoder temperature: greedy decoding draws the same image every time")
        try require(batchSize >= 1, "the batch size must be at least 1, got \(batchSize)")
    }
}

/// How far `evaluate` has come.
public enum EvaluationProgress: Equatable, Sendable, CustomStringConvertible {
    /// The split's images are read.
    case loaded(images: Int)
    /// Held-out images encoded, reconstructed and decoded so far, of all.
    case reconstructed(Int, of: Int)
    /// Prior samples drawn and decoded so far, of all.
    case sampled(Int, of: Int)
    /// No prior samples: the model's prior was never trained, so they would be noise.
    case untrainedPrior
    /// The code legend's traversal tiles decoded so far, of all.
    case legendTiles(Int, of: Int)

    public var description: String {
        switch self {
        case .loaded(let n): return "read \(n) images"
        case .reconstructed(let done, let total): return "reconstructed \(done)/\(total) images"
        case .sampled(let done, let total): return "sampled \(done)/\(total) scenes"
        case .untrainedPrior: return "no prior samples: the model's prior was never trained (`svq train-prior` trains it)"
        case .legendTiles(let done, let total): return "decoded \(done)/\(total) code legend tiles"
        }
    }
}

/// One held-out image with its results, for the pictures.
public struct EvaluatedImage: Sendable {
    public var image: RGBImage
    public var result: ImageResult
}

/// What `evaluate` measured and drew.
public struct Evaluation: Sendable {
    public var report: EvaluationReport
    /// The first images evaluated (`EvaluationGrid.rows` of them) with their results.
    public var examples: [EvaluatedImage]
    /// The decoded prior samples (empty when none were drawn: no prior, or no samples asked).
    public var samples: [RGBImage]
    /// What each code most often means; nil without ground truth.
    public var codeLegend: CodeLegend?
    /// `legendTiles[b][c]`: the held-out scene whose object a slot covers best, that slot's block `b` code set
    /// to `c`, decoded; nil without ground truth or when `EvaluationOptions.legendTiles` is off.
    public var legendTiles: [[RGBImage]]?

    /// `EvaluationGrid.reconstructions` of the examples.
    public var reconstructionGrid: RGBImage {
        let slots = examples.first.map { $0.result.attention.count / max($0.image.width * $0.image.height, 1) } ?? 0
        return EvaluationGrid.reconstructions(examples.map(\.image), examples.map(\.result), slots: slots)
    }
    /// `EvaluationGrid.samples` of the prior's samples; nil when none were drawn.
    public var sampleGrid: RGBImage? { samples.isEmpty ? nil : EvaluationGrid.samples(samples) }
}

/// Evaluates `model` on a split of the PNG folder `data`. `modelName` is how the report names the model
/// (`svq eval`: its file). Factor alignment, object recovery and the odd-one-out checks need the sprites
/// ground truth beside each image (000000.json beside 000000.png, as `svq data sprites` writes it); the
/// scene parser assumes black backgrounds.
public func evaluate(_ model: SVQModel, modelName: String, data: URL, options: EvaluationOptions = EvaluationOptions(),
                     progress: (EvaluationProgress) -> Void = { _ in }) throws -> Evaluation {
    try options.validate()
    let c = model.config
    let folder = try ImageFolder(directory: data).split(options.split).prefix(options.limit)
    guard folder.count > 0 else { throw EvaluationError("no images in the \(options.split) split of \(data.relativePath)") }
    let images = try folder.loadAll(size: c.imageSize)
    progress(.loaded(images: images.count))
    // Only a folder with ground truth for every image gets the figures that need it.
    let scenes: [SpriteScene]? = try? folder.files.map {
        try SpriteDataset.scene(contentsOf: $0.deletingPathExtension().appendingPathExtension("json"))
    }

    let evaluator = Evaluator(model: model, batchSize: options.batchSize,
                              decoding: options.decodeTemperature.map { .sample(temperature: $0, topK: nil) } ?? .greedy,
                              candidates: options.decodeCandidates)
    let results = try evaluator.run(images, seed: options.seed) { progress(.reconstructed($0, of: images.count)) }
    let codes = IntTensor(results.flatMap { $0.codes.map(Int32.init) }, shape: [results.count, c.numSlots, c.numBlocks])
    let usage = CodeStatistics.usage(codes, prototypes: c.numPrototypes)
    var report = EvaluationReport(
        model: modelName, data: data.relativePath, split: options.split.rawValue, seed: options.seed,
        decodeTemperature: options.decodeTemperature, decodeCandidates: options.decodeCandidates,
        priorTemperature: options.priorTemperature, priorTopK: options.priorTopK,
        reconstruction: ReconstructionReport(images: images.count,
                                             dvaeMSE: Evaluator.mse(images, results.map(\.dvaeReconstruction)),
                                             decodeMSE: Evaluator.mse(images, results.map(\.decoded))),
        codeUsage: usage, minimumCodeUsage: usage.map(\.usedFraction).min() ?? 0)

    var sampled: [RGBImage]?
    if options.samples > 0, model.prior != nil, !model.priorTrained { progress(.untrainedPrior) }
    if options.samples > 0, model.prior != nil, model.priorTrained {
        sampled = try evaluator.sample(count: options.samples, seed: options.seed, temperature: options.priorTemperature,
                                       topK: options.priorTopK) { progress(.sampled($0, of: options.samples)) }.1
    }

    var codeLegend: CodeLegend?, legendTiles: [[RGBImage]]?
    if let scenes {
        var matches: [MatchedSlot] = []
        var objects = 0
        var clearest: (image: Int, slot: Int, iou: Double)?
        for (i, (r, scene)) in zip(results, scenes).enumerated() {
            let labels = try scene.mask.labels()
            objects += scene.objects.count
            let pairs = FactorAlignment.match(attention: r.attention, slots: c.numSlots, labels: labels, objects: scene.objects.count)
            for (k, pair) in pairs.enumerated() {
                let slotCodes = Array(r.codes[(pair.slot * c.numBlocks)..<((pair.slot + 1) * c.numBlocks)])
                matches.append(MatchedSlot(codes: slotCodes, factors: FactorAlignment.factors(of: scene.objects[k]), iou: pair.iou))
                if pair.iou > clearest?.iou ?? -1 { clearest = (i, pair.slot, pair.iou) }
            }
        }
        let alignment = FactorAlignment.report(matches, objects: objects, blocks: c.numBlocks)
        report.factorAlignment = alignment
        codeLegend = CodeMeanings.legend(matches, alignment: alignment, prototypes: c.numPrototypes)
        if options.legendTiles, let clearest {
            let total = c.numBlocks * c.numPrototypes
            legendTiles = try evaluator.traversal(codes: results[clearest.image].codes, slot: clearest.slot, seed: options.seed) {
                progress(.legendTiles($0, of: total))
            }
        }
        let parser = SceneParser()
        let counts = scenes.map(\.objects.count)
        let range = (counts.min() ?? 1)...(counts.max() ?? 1)
        report.ruleOnData = GenerationCheck.report(images.map { parser.parse($0) }, objects: range)
        let parsedReconstructions = results.map { parser.parse($0.decoded) }
        report.ruleOnReconstructions = GenerationCheck.report(parsedReconstructions, objects: range)
        report.objectRecovery = ObjectRecovery.report(truth: scenes.map(\.objects), parsed: parsedReconstructions)
        if let sampled { report.generation = GenerationCheck.report(sampled.map { parser.parse($0) }, objects: range) }
    }
    let examples = zip(images, results).prefix(EvaluationGrid.rows).map { EvaluatedImage(image: $0, result: $1) }
    return Evaluation(report: report, examples: examples, samples: sampled ?? [], codeLegend: codeLegend, legendTiles: legendTiles)
}
