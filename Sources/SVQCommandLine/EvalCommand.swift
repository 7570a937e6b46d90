// `svq eval`: held-out figures of a trained model and picture grids (SVQEval's `evaluate`).

import ArgumentParser
import Foundation
import SVQData
import SVQEval
import SVQModels
import SVQPlot
import SVQTrain

extension DatasetSplit: ExpressibleByArgument {}

package struct EvalCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a held-out split: reconstruction, code usage, factor alignment, generation accuracy.",
        discussion: """
        Writes OUT/report.json with every figure, OUT/reconstructions.png (per row: input | dVAE reconstruction | \
        decoded from the codes | the slots' masks in colour | each slot's region), OUT/samples.png (scenes sampled \
        from the prior), OUT/code-usage.png and, with ground truth, OUT/factor-blocks.png (the factor × block \
        accuracy), OUT/code-legend.json (for each block and code, the factor value it most often means) and \
        OUT/code-legend.png (each code decoded into one held-out object: blocks × codes decodes, which \
        --no-legend-tiles skips). --legend-model writes a copy of the model with the legend in its metadata. \
        Factor alignment and the odd-one-out checks need the sprites ground truth (000000.json beside \
        000000.png), which `svq data sprites` writes; the parser assumes black backgrounds. Progress goes to stderr.
        """)

    @Option(help: "Model weights file or training checkpoint.") var model = defaultModelPath
    @Option(help: "Folder of PNG images.") var data: String
    @Option(help: "Split: \(DatasetSplit.allCases.map(\.rawValue).joined(separator: ", ")).") var split = DatasetSplit.test
    @Option(help: "Evaluate at most this many images of the split.") var limit = 512
    @Option(name: [.customShort("n"), .long], help: "Prior samples for generation accuracy (0 skips).") package var samples = 128
    @OptionGroup package var prior: PriorSamplingOptions
    @OptionGroup var decoding: DecodingOptions
    @Option(help: "Seed of the slot noise and the prior samples.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out = "runs/eval"
    @Option(help: "Images per batch.") var batchSize = 16
    @Flag(inversion: .prefixedNo, help: "Decode the code legend's picture (code-legend.png).") var legendTiles = true
    @Option(help: "Also write the model, with the code legend in its metadata, to this weights file.") var legendModel: String?
    @OptionGroup var threads: ThreadsOption

    /// The library's options from the flags.
    package var options: EvaluationOptions {
        get throws {
            var o = EvaluationOptions()
            o.split = split
            o.limit = limit
            o.samples = samples
            o.priorTemperature = prior.temperature
            o.priorTopK = prior.topK
            (o.decodeTemperature, o.decodeCandidates) = try decoding.resolved()
            o.seed = seed
            o.batchSize = batchSize
            o.legendTiles = legendTiles
            return o
        }
    }

    package func validate() throws {
        do { try options.validate() } catch let error as EvaluationError { throw ValidationError(error.description) }
    }

    package func run() throws {
        let options = try self.options
        let outDir = URL(fileURLWithPath: out)
        try checkWritableFolder(outDir, role: "output folder")
        threads.apply()
        let started = Date()
        let svq = try SVQModel.load(weightsOrCheckpoint: URL(fileURLWithPath: model))
        let evaluation = try evaluate(svq, modelName: model, data: URL(fileURLWithPath: data), options: options) { step in
            FileHandle.standardError.write(Data(String(format: "%@ (%.0f s)\n", step.description, Date().timeIntervalSince(started)).utf8))
        }
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        try evaluation.report.jsonData().write(to: outDir.appendingPathComponent("report.json"), options: .atomic)
        var written = ["report.json"]
        if let legend = evaluation.codeLegend {
            try legend.jsonData().write(to: outDir.appendingPathComponent("code-legend.json"), options: .atomic)
            written.append("code-legend.json")
        }
        written += try EvaluationFigures.write(evaluation, to: outDir)
        printSummary(evaluation.report)
        print(String(format: "(%.1f s) wrote %@/", Date().timeIntervalSince(started), outDir.path) + written.joined(separator: ", "))
        if let legendModel {
            guard let legend = evaluation.codeLegend else {
                throw EvaluationError("no code legend to store in \(legendModel): it needs the sprites ground truth beside the images")
            }
            try svq.save(to: URL(fileURLWithPath: legendModel), codeLegend: legend)
            print("wrote \(legendModel) (the model with its code legend)")
        }
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
}
