// The `svq` command-line tool.

import ArgumentParser

@main
struct SVQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svq",
        abstract: "Semantic vector-quantized image representations: import, inspect and run SVQ models.",
        subcommands: [EncodeCommand.self, DecodeCommand.self, SampleCommand.self, EditCommand.self, TrainCommand.self, TrainPriorCommand.self, EvalCommand.self, ImportOfficial.self, ExportONNXCommand.self, Info.self, DataCommand.self]
    )
}
