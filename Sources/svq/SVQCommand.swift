// The `svq` command-line tool.

import ArgumentParser

@main
struct SVQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svq",
        abstract: "Semantic vector-quantized image representations: import, inspect and run SVQ models.",
        subcommands: [TrainCommand.self, TrainPriorCommand.self, EvalCommand.self, ImportOfficial.self, Info.self, DataCommand.self]
    )
}
