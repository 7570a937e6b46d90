// `svq info`: what a weights file holds.

import ArgumentParser
import Foundation
import SafeTensors
import SVQModels

package struct Info: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(abstract: "Print a weights file's configuration and sizes.")

    @Argument(help: "An SVQ weights file.")
    var model: String

    package func run() throws {
        let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: model))
        let m = try SVQModel(file: file)
        let c = m.config
        print("""
        image:      \(c.imageSize)×\(c.imageSize)×\(c.imageChannels)
        slots N:    \(c.numSlots), blocks M: \(c.numBlocks), codes per block P: \(c.numPrototypes), slot size: \(c.slotSize)
        dVAE:       vocabulary \(c.vocabSize), \(c.tokensPerImage) tokens per image
        decoder:    \(c.numDecoderLayers) layers, d_model \(c.dModel), \(c.numDecoderHeads) heads
        prior:      \(c.prior.map { "\($0.numLayers) layers, d_model \($0.dModel), \($0.numHeads) heads" + (m.priorTrained ? "" : ", never trained (svq train-prior trains it)") } ?? "none")
        parameters: \(m.parameterCount)
        """)
        if let legend = try CodeLegend(metadata: file.metadata) {
            print("code legend (the value each code most often means):")
            for b in legend.blocks {
                print(String(format: "  block %d, %@ (accuracy %.2f, chance %.2f): ", b.block, b.factor, b.accuracy, b.chance)
                      + b.codes.map { "\($0.code) \($0.value ?? "-")" }.joined(separator: ", "))
            }
        }
    }
}
