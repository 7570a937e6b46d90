// The `svq` command-line tool.

import ArgumentParser
import Foundation
import SVQ
import SVQEngine

package struct SVQCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "svq",
        abstract: "Semantic vector-quantized image representations: import, inspect and run SVQ models.",
        version: Runtime.version,
        subcommands: [EncodeCommand.self, DecodeCommand.self, SampleCommand.self, EditCommand.self, TrainCommand.self, TrainPriorCommand.self, EvalCommand.self, PlotCommand.self, ImportOfficial.self, ExportONNXCommand.self, Info.self, DataCommand.self]
    )

    package static func main() {
        // Line-buffered stdout, so that messages redirected to a log file (a run in the background) appear
        // when printed and in order with the progress lines on stderr, not when the process exits.
        setvbuf(stdout, nil, _IOLBF, 0)
        main(nil)
    }
}

/// The bundled model, the default of every command that takes one.
let defaultModelPath = "models/sprites.safetensors"

/// `--threads`, the engine's thread count (train, train-prior, eval).
struct ThreadsOption: ParsableArguments {
    @Option(help: "Engine threads, from 1 to \(Engine.maxThreadCount) (default: all cores).") var threads: Int?

    func validate() throws {
        if let t = threads, !(1...Engine.maxThreadCount).contains(t) {
            throw ValidationError("--threads must be from 1 to \(Engine.maxThreadCount), got \(t)")
        }
    }

    /// Sets the engine's thread count, if the flag was given.
    func apply() {
        if let t = threads { Engine.setThreadCount(t) }
    }
}
