// `svq eval`: held-out figures of a trained model and picture grids.

import ArgumentParser
import Foundation
import SVQData
import SVQEngine
import SVQEval
import SVQModels
import SVQTrain
import SafeTensors

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a held-out split: reconstruction, code usage, factor alignment, generation accuracy.",
        discussion: """
        Writes OUT/report.json with every figure, OUT/reconstructions.png (per row: input | dVAE reconstruction | \
        decoded from the codes | each slot's region) and OUT/samples.png (scenes sampled from the prior). \
        Factor alignment and the odd-one-out checks need the sprites ground truth (000000.json beside \
        000000.png), which `svq data sprites` writes; the parser assumes black backgrounds.
        """)

    @Option(help: "Model weights file or training checkpoint.") var model = defaultModelPath
    @Option(help: "Folder of PNG images.") var data: String
    @Option(help: "Split: train, validation or test.") var split = "test"
    @Option(help: "Evaluate at most this many images of the split.") var limit = 512
    @Option(help: "Prior samples for generation accuracy (0 skips).") var samples = 128
    @Option(help: "Sampling temperature of the prior.") var temperature: Float = 1
    @Option(help: "Keep the prior's k most likely codes at each step (default: all).") var topK: Int?
    @Option(help: "Draw the decoder's image tokens at this temperature instead of taking the most likely (greedy); for reconstructions and samples.")
    var decodeTemperature: Float?
    @Option(help: "Draw this many images per decode and keep the one whose re-encoding matches the codes best (needs --decode-temperature).")
    var decodeCandidates = 1
    @Option(help: "Seed of the slot noise and the prior samples.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out = "runs/eval"
    @Option(help: "Images per batch.") var batchSize = 16
    @Option(help: "Engine threads (default: all cores).") var threads: Int?

    func run() throws {
        if let t = decodeTemperature, !(t > 0 && t.isFinite) {
            throw ValidationError("--decode-temperature must be positive and finite, got \(t)")
        }
        guard temperature > 0 && temperature.isFinite else {
            throw ValidationError("--temperature must be positive and finite, got \(temperature)")
        }
        if let k = topK, k < 1 { throw ValidationError("--top-k must be at least 1, got \(k)") }
        guard decodeCandidates >= 1 else { throw ValidationError("--decode-candidates must be at least 1, got \(decodeCandidates)") }
        if decodeCandidates > 1 && decodeTemperature == nil {
            throw ValidationError("--decode-candidates \(decodeCandidates) needs --decode-temperature: greedy decoding draws the same image every time")
        }
        if let t = threads { Engine.setThreadCount(t) }
        guard let which = DatasetSplit(rawValue: split) else {
            throw ValidationError("unknown split \(split): use \(DatasetSplit.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let svq = try loadModelOrCheckpoint(model)
        let c = svq.config
        let folder = try ImageFolder(directory: URL(fileURLWithPath: data)).split(which).prefix(limit)
        let files = folder.files
        guard !files.isEmpty else { throw ValidationError("no images in the \(split) split of \(data)") }
        let images = try folder.loadAll(size: c.imageSize)
        let scenes: [SpriteScene]? = try? files.map {
            try SpriteDataset.scene(contentsOf: $0.deletingPathExtension().appendingPathExtension("json"))
        }

        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let evaluator = Evaluator(model: svq, batchSize: batchSize,
                                  decoding: decodeTemperature.map { .sample(temperature: $0, topK: nil) } ?? .greedy,
                                  candidates: decodeCandidates)
        let started = Date()
        let results = evaluator.run(images, seed: seed)
        let codes = IntTensor(results.flatMap { $0.codes.map(Int32.init) }, shape: [results.count, c.numSlots, c.numBlocks])
        let usage = CodeStatistics.usage(codes, prototypes: c.numPrototypes)
        var report = EvaluationReport(
            model: model, data: data, split: split, seed: seed,
            reconstruction: ReconstructionReport(images: images.count,
                                                 dvaeMSE: Evaluator.mse(images, results.map(\.dvaeReconstruction)),
                                                 decodeMSE: Evaluator.mse(images, results.map(\.decoded))),
            codeUsage: usage, minimumCodeUsage: usage.map(\.usedFraction).min() ?? 0)
        report.decodeTemperature = decodeTemperature
        report.decodeCandidates = decodeCandidates
        report.priorTemperature = temperature
        report.priorTopK = topK

        let parser = SceneParser()
        if let scenes {
            var matches: [MatchedSlot] = []
            var objects = 0
            for (r, scene) in zip(results, scenes) {
                let labels = try scene.mask.labels()
                objects += scene.objects.count
                let pairs = FactorAlignment.match(attention: r.attention, slots: c.numSlots, labels: labels, objects: scene.objects.count)
                for (k, pair) in pairs.enumerated() {
                    let slotCodes = Array(r.codes[(pair.slot * c.numBlocks)..<((pair.slot + 1) * c.numBlocks)])
                    matches.append(MatchedSlot(codes: slotCodes, factors: FactorAlignment.factors(of: scene.objects[k]), iou: pair.iou))
                }
            }
            report.factorAlignment = FactorAlignment.report(matches, objects: objects, blocks: c.numBlocks)
            let counts = scenes.map(\.objects.count)
            let range = (counts.min() ?? 1)...(counts.max() ?? 1)
            report.ruleOnData = GenerationCheck.report(images.map { parser.parse($0) }, objects: range)
            let parsedReconstructions = results.map { parser.parse($0.decoded) }
            report.ruleOnReconstructions = GenerationCheck.report(parsedReconstructions, objects: range)
            report.objectRecovery = ObjectRecovery.report(truth: scenes.map(\.objects), parsed: parsedReconstructions)
            if samples > 0, svq.prior != nil {
                let (_, sampled) = try evaluator.sample(count: samples, seed: seed, temperature: temperature, topK: topK)
                report.generation = GenerationCheck.report(sampled.map { parser.parse($0) }, objects: range)
                try writeSampleGrid(sampled, to: outDir.appendingPathComponent("samples.png"))
            }
        } else if samples > 0, svq.prior != nil {
            let (_, sampled) = try evaluator.sample(count: samples, seed: seed, temperature: temperature, topK: topK)
            try writeSampleGrid(sampled, to: outDir.appendingPathComponent("samples.png"))
        }
        try writeReconstructionGrid(images, results, slots: c.numSlots, size: c.imageSize,
                                    to: outDir.appendingPathComponent("reconstructions.png"))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(report).write(to: outDir.appendingPathComponent("report.json"), options: .atomic)
        printSummary(report)
        print(String(format: "(%.1f s) wrote %@/report.json, reconstructions.png%@", Date().timeIntervalSince(started),
                     outDir.path, report.generation != nil || (samples > 0 && svq.prior != nil) ? ", samples.png" : ""))
    }

    func printSummary(_ r: EvaluationReport) {
        print(String(format: "reconstruction MSE per pixel: dVAE %.5f, decoded from codes %.5f (%d images)",
                     r.reconstruction.dvaeMSE, r.reconstruction.decodeMSE, r.reconstruction.images))
        print("code usage per block: " + r.codeUsage.map { String(format: "%.0f%% (ppl %.1f)", $0.usedFraction * 100, $0.perplexity) }.joined(separator: ", "))
        if let f = r.factorAlignment {
            print(String(format: "slots matched to objects: mean IoU %.2f, %.0f%% of objects with IoU ≥ 0.5", f.meanIoU, f.objectsWithIoUAbove50 * 100))
            print("factor × block accuracy (best block marked *):")
            for row in f.factors {
                let cells = row.blockAccuracy.enumerated().map { String(format: "%@%.2f", $0.offset == row.bestBlock ? "*" : " ", $0.element) }
                print("  " + row.factor.padding(toLength: 7, withPad: " ", startingAt: 0) + cells.joined(separator: " ")
                      + String(format: "   (chance %.2f)", row.chance)
                      + (row.bestPair.map { String(format: "  best pair %d+%d: %.2f", $0[0], $0[1], row.bestPairAccuracy ?? 0) } ?? ""))
            }
        }
        if let d = r.ruleOnData { print(String(format: "odd-one-out rule on the data as parsed: %.1f%%", d.accuracy * 100)) }
        if let d = r.ruleOnReconstructions { print(String(format: "odd-one-out rule on decoded reconstructions: %.1f%%", d.accuracy * 100)) }
        if let o = r.objectRecovery {
            print(String(format: "objects read back from reconstructions: %.1f%% found (%.1f%% extra), shape right %.1f%%, colour right %.1f%%; scenes exact %.1f%%",
                         o.found * 100, o.extra * 100, o.shapeAccuracy * 100, o.colourAccuracy * 100, o.exactScenes * 100))
            if !o.shapeConfusions.isEmpty {
                print("  most frequent shape misreadings: " + o.shapeConfusions.prefix(5).map { "\($0.truth)→\($0.parsed) \($0.count)" }.joined(separator: ", "))
            }
        }
        if let g = r.generation {
            print(String(format: "generation accuracy (prior samples obeying the rule): %.1f%% of %d (object count right in %.1f%%)",
                         g.accuracy * 100, g.samples, g.countOK * 100))
        }
    }

    func writeReconstructionGrid(_ images: [RGBImage], _ results: [ImageResult], slots n: Int, size: Int, to url: URL) throws {
        var rows: [[RGBImage]] = []
        for (img, r) in zip(images, results).prefix(8) {
            var row = [img, r.dvaeReconstruction, r.decoded]
            let plane = size * size
            for s in 0..<n {
                let mask = Array(r.attention[(s * plane)..<((s + 1) * plane)])
                row.append(slotRegion(img, mask: mask))
            }
            rows.append(row)
        }
        try PNG.write(ImageGrid.compose(rows: rows), to: url)
    }

    /// The image where the slot attends, grey where it does not (the data's backgrounds are black).
    func slotRegion(_ image: RGBImage, mask: [Float]) -> RGBImage {
        var out = image
        for p in mask.indices {
            let m = min(max(mask[p], 0), 1)
            for ch in 0..<3 {
                let v = m * Float(image.pixels[3 * p + ch]) + (1 - m) * 96
                out.pixels[3 * p + ch] = UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return out
    }

    func writeSampleGrid(_ images: [RGBImage], to url: URL) throws {
        let shown = Array(images.prefix(64))
        let perRow = 8
        let rows = stride(from: 0, to: shown.count, by: perRow).map { Array(shown[$0..<min(shown.count, $0 + perRow)]) }
        try PNG.write(ImageGrid.compose(rows: rows), to: url)
    }
}

/// The bundled model, the default of every command that takes one.
let defaultModelPath = "models/sprites.safetensors"

/// A model from a weights file or from a training checkpoint (so a run in progress can be evaluated).
func loadModelOrCheckpoint(_ path: String) throws -> SVQModel {
    let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: path))
    if file.metadata["format"] == Checkpoint.format { return try Checkpoint.loadModel(file) }
    return try SVQModel(file: file)
}
