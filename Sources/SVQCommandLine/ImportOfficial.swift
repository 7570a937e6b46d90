// `svq import-official`: converts checkpoints of the official PyTorch code (github yfw/nlotm) to our format.

import ArgumentParser
import Foundation
import SVQModels

package struct ImportOfficial: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "import-official",
        abstract: "Convert an official SVQ checkpoint (and optionally its prior) to an SVQ weights file.",
        discussion: """
        The checkpoints are the state_dicts as safetensors; scripts/convert_official_checkpoint.py writes them \
        from PyTorch .pt/.pth files (it needs torch and safetensors). The configuration is the official training \
        arguments as JSON (args.py names, e.g. {"image_size": 64, "num_slots": 4, "num_blocks": 8, ...}); \
        missing arguments take the official defaults.
        """)

    @Option(name: .customLong("svq"), help: "The SVQ model's state_dict (.safetensors).")
    var svqPath: String

    @Option(name: .customLong("prior"), help: "The semantic prior's state_dict (.safetensors; optional).")
    var priorPath: String?

    @Option(name: .customLong("config"), help: "JSON of the official training arguments.")
    var configPath: String

    @Option(name: [.short, .customLong("output")], help: "Where to write our weights file.")
    var output: String

    package func run() throws {
        let model = try SVQModel(officialArguments: URL(fileURLWithPath: configPath), svq: URL(fileURLWithPath: svqPath),
                                 prior: priorPath.map { URL(fileURLWithPath: $0) })
        try model.save(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(model.namedTensors().count) tensors, \(model.parameterCount) trainable values, prior: \(priorPath == nil ? "no" : "yes")")
    }
}
