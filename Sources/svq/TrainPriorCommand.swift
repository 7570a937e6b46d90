// `svq train-prior`: trains a model's semantic prior on the codes of a folder of images.

import ArgumentParser
import Foundation
import SafeTensors
import SVQData
import SVQEngine
import SVQModel
import SVQTrain

extension SlotOrder: ExpressibleByArgument {}
extension SortRanking: ExpressibleByArgument {}

struct TrainPriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-prior",
        abstract: "Train the semantic prior of a trained SVQ model.",
        discussion: """
        Encodes the train split --encodings times and the validation split once (cached in \
        RUN/codes.safetensors and RUN/validation-codes.safetensors, reused while the model, images and these \
        choices are unchanged), lists each image's slots in --slot-order, then trains the prior with teacher \
        forcing. Writes RUN/checkpoint.safetensors every --checkpoint-every steps and on \
        Ctrl-C, RUN/metrics.csv, the validation loss at every checkpoint to RUN/validation.csv, and \
        RUN/model.safetensors (the input model with the trained prior) at the end.
        """)

    @Option(help: "The trained SVQ model (weights file).") var model: String
    @Option(help: "Folder of PNG images (the same the model was trained on).") var data: String
    @Option(name: .customLong("run"), help: "Run folder.") var runPath = "runs/prior"
    @Option(help: "Training steps.") var steps = 20_000
    @Option(help: "Code sets per step.") var batchSize = 40
    @Option(help: "Seed of the encoding noise, data order and dropout.") var seed: UInt64 = 0
    @Option(help: "Encodings of each training image, each with fresh slot noise (as the official code: 1).")
    var encodings = 1
    @Option(help: "How each image's slots are listed: encoded (slot attention's own order, as the official code) or sorted (one canonical sequence per scene).")
    var slotOrder = SlotOrder.encoded
    @Option(help: "With --slot-order sorted: the blocks compared first, comma-separated (e.g. 1,2: the blocks that carry shape and colour, from svq eval's factor table), then every block in order, so that slots with equal values in those blocks sit next to each other.")
    var sortKey: String?
    @Option(help: "How --sort-key compares a block's codes: prototypes (by rank in a clustering of the block's prototypes, so the several codes of one shape sit together) or ids (by code id). Default: prototypes.")
    var sortBy: SortRanking?
    @Option(help: "Train a fresh prior of this width (d_model) instead of the model's own prior (official: 192).")
    var priorWidth: Int?
    @Option(help: "… with this many transformer layers (official: 8).") var priorLayers: Int?
    @Option(help: "… with this many attention heads (official: 4).") var priorHeads: Int?
    @Flag(help: "Train the code embedding and output layer through the codebooks: each code's rows are a free vector plus a learned projection of its prototype, so codes with close prototypes (one colour spread over several codes) learn together. Starts those two tables afresh; the saved prior is an ordinary one.")
    var codebookTie = false
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 500
    @Option(help: "Log every N steps.") var logEvery = 50
    @Option(help: "Engine threads (default: all cores).") var threads: Int?
    @Flag(help: "Use the official 30k-step warm-up instead of one scaled to --steps.") var officialSchedules = false
    @Flag(help: "Continue from RUN/checkpoint.safetensors.") var resume = false

    func run() throws {
        if let t = threads { Engine.setThreadCount(t) }
        Engine.retainFreedMemory()
        let runDir = URL(fileURLWithPath: runPath)
        let checkpoint = runDir.appendingPathComponent("checkpoint.safetensors")
        let modelURL = URL(fileURLWithPath: model)
        var svq = try SVQModel(contentsOf: modelURL)
        // Each cache is keyed by the model's bytes and the images' pixels.
        let modelFingerprint = String(fnv1a(try Data(contentsOf: modelURL)))
        // A resumed run keeps the draws and slot order it started with; checked before any encoding work.
        var key: [Int] = []
        if let sortKey {
            guard slotOrder == .sorted else { throw ValidationError("--sort-key needs --slot-order sorted") }
            let blocks = sortKey.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            let m = svq.config.numBlocks
            guard !blocks.isEmpty, blocks.allSatisfy({ $0.map { (0..<m).contains($0) } ?? false }),
                  Set(blocks).count == blocks.count else {
                throw ValidationError("--sort-key \(sortKey): give distinct blocks of 0..<\(m), comma-separated")
            }
            key = blocks.map { $0! }
        }
        if sortBy != nil && sortKey == nil { throw ValidationError("--sort-by needs --sort-key") }
        var draws = encodings, order = slotOrder, ranking = sortBy ?? .prototypes
        if resume {
            guard FileManager.default.fileExists(atPath: checkpoint.path) else {
                throw ValidationError("nothing to resume: \(checkpoint.path) does not exist")
            }
            let started = try PriorTrainer.options(inCheckpoint: checkpoint)
            let given = key
            (draws, order, key) = (started.encodingDraws, started.slotOrder, started.slotSortKey)
            ranking = started.slotSortRanking
            if (draws, order) != (encodings, slotOrder) || key != given || (!key.isEmpty && sortBy != nil && ranking != sortBy) {
                print("resuming with the run's own --encodings \(draws) --slot-order \(order.rawValue)"
                      + (key.isEmpty ? "" : " --sort-key \(key.map(String.init).joined(separator: ",")) --sort-by \(ranking.rawValue)"))
            }
            if started.codebookTie != codebookTie {
                print("resuming the run as it started: \(started.codebookTie ? "with" : "without") --codebook-tie")
            }
        }
        let resized = priorWidth != nil || priorLayers != nil || priorHeads != nil
        if resized && resume {
            throw ValidationError("--prior-width, --prior-layers and --prior-heads start a new prior; a resumed run keeps its own sizes")
        }
        guard draws >= 1 else { throw ValidationError("--encodings must be at least 1, got \(draws)") }
        if resized {
            // Before any encoding, so that sizes the config refuses fail at once. The codes cache is keyed by
            // the model file, whose encoder this copy shares.
            let base = svq.config.prior ?? PriorConfig()
            let sizes = PriorConfig(dModel: priorWidth ?? base.dModel, numHeads: priorHeads ?? base.numHeads,
                                    numLayers: priorLayers ?? base.numLayers, dropout: base.dropout)
            var rng = RandomGenerator(seed: seed)
            do { svq = try svq.withFreshPrior(sizes, rng: &rng) } catch { throw ValidationError("\(error)") }
            print("a fresh prior: width \(sizes.dModel), \(sizes.numLayers) layers, \(sizes.numHeads) heads")
        }
        // Ranks of the key blocks' codes: fixed by the model's codebooks, so the cache's model fingerprint covers them.
        let keyRanks = ranking == .prototypes ? key.map { svq.slotAttention.quantizer.prototypeRanks(block: $0) } : []
        func cachedCodes(of images: ImageSet, draws: Int, in file: String) throws -> CodeCache {
            let cacheURL = runDir.appendingPathComponent(file)
            let source = CodeCache.Source(modelFingerprint: modelFingerprint, dataFingerprint: String(images.fingerprint),
                                          draws: draws, slotOrder: order, sortKey: key,
                                          sortRanking: ranking)
            if let cached = CodeCache.read(from: cacheURL, source: source) {
                print("using cached codes \(cacheURL.path) (\(cached.count) code sets)")
                return cached
            }
            let start = Date()
            let total = images.count * draws
            let codes = CodeCache.encode(images, model: svq, seed: seed, draws: draws) { done in
                if done % 1024 < 64 { FileHandle.standardError.write(Data("encoded \(done)/\(total)\n".utf8)) }
            }.ordered(order, slots: svq.config.numSlots, sortKey: key, keyRanks: keyRanks)
            try codes.write(to: cacheURL, source: source)
            print(String(format: "encoded %d images × %d in %.1f s (slots %@) → %@", images.count, draws,
                         Date().timeIntervalSince(start), order.rawValue, cacheURL.path))
            return codes
        }
        let (images, _) = try loadImages(data, split: .train, size: svq.config.imageSize)
        // The cache is held in memory: refuse a --encodings that cannot fit rather than fail allocating it.
        let (codeSets, overflow) = images.count.multipliedReportingOverflow(by: draws)
        let memory = ProcessInfo.processInfo.physicalMemory / 2
        if overflow || UInt64(codeSets) > memory / UInt64(4 * svq.config.codesPerImage) {
            throw ValidationError("--encodings \(draws) of \(images.count) images needs more than half this machine's memory for the codes")
        }
        let codes = try cachedCodes(of: images, draws: draws, in: "codes.safetensors")
        // The validation split's loss shows when a longer run stops helping (the prior starts to memorise).
        var validationCodes: CodeCache?
        if try ImageFolder(directory: URL(fileURLWithPath: data)).split(.validation).count > 0 {
            let (held, _) = try loadImages(data, split: .validation, size: svq.config.imageSize)
            validationCodes = try cachedCodes(of: held, draws: 1, in: "validation-codes.safetensors")
        } else {
            print("no validation split in \(data): training without a held-out loss")
        }

        let trainer: PriorTrainer
        if resume {
            trainer = try PriorTrainer.resume(from: checkpoint, codes: codes, validationCodes: validationCodes, steps: steps)
            print("resuming \(checkpoint.path) at step \(trainer.step)")
        } else {
            if FileManager.default.fileExists(atPath: checkpoint.path) {
                throw ValidationError("\(checkpoint.path) exists: pass --resume to continue it, or choose another --run")
            }
            var options = officialSchedules ? PriorTrainingOptions() : PriorTrainingOptions.cpu(steps: steps, batchSize: batchSize, seed: seed)
            options.steps = steps
            options.batchSize = batchSize
            options.seed = seed
            options.encodingDraws = draws
            options.slotOrder = order
            options.slotSortKey = key
            options.slotSortRanking = ranking
            options.codebookTie = codebookTie
            trainer = try PriorTrainer(model: svq, codes: codes, validationCodes: validationCodes, options: options)
            print("training the prior (\(svq.prior?.parameterCount ?? 0) parameters) on \(codes.count) code sets (\(images.count) images × \(draws), slots \(order.rawValue)\(key.isEmpty ? "" : " by blocks \(key.map(String.init).joined(separator: ",")) compared by \(ranking == .prototypes ? "prototype rank" : "code id")")\(codebookTie ? ", tied to the codebooks" : "")), batch \(batchSize), \(steps) steps")
        }
        let loop = TrainingLoop(checkpoint: checkpoint, metrics: runDir.appendingPathComponent("metrics.csv"),
                                validationMetrics: runDir.appendingPathComponent("validation.csv"),
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
