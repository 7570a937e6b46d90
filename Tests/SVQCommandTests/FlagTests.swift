// The command line's flags: each name means one thing in every command, the old spellings still work (and
// are not shown in help), and the training commands share their run options with their own defaults.

import ArgumentParser
import SVQData
import SVQEval
import SVQTrain
import SVQCommandLine
import XCTest

final class FlagTests: XCTestCase {
    func testSamplesIsNamedTheSameInSampleAndEval() throws {
        XCTAssertEqual(try SampleCommand.parse(["-n", "7"]).samples, 7)
        XCTAssertEqual(try SampleCommand.parse(["--samples", "7"]).samples, 7)
        XCTAssertEqual(try SampleCommand.parse([]).samples, 16)
        XCTAssertEqual(try EvalCommand.parse(["--data", "d", "-n", "5"]).samples, 5)
        XCTAssertEqual(try EvalCommand.parse(["--data", "d", "--samples", "5"]).samples, 5)
        XCTAssertEqual(try EvalCommand.parse(["--data", "d"]).samples, 128)
    }

    func testPriorOptionsAndTheirOldSpellings() throws {
        for command in [["sample"], ["eval", "--data", "d"]] {
            func prior(_ flags: [String]) throws -> PriorSamplingOptions {
                let parsed = try SVQCommand.parseAsRoot(command + flags)
                return try XCTUnwrap((parsed as? SampleCommand)?.prior ?? (parsed as? EvalCommand)?.prior)
            }
            let defaults = try prior([])
            XCTAssertEqual(defaults.temperature, 1)
            XCTAssertNil(defaults.topK)
            XCTAssertEqual(defaults.renamed.filter(\.oldGiven), [])
            let new = try prior(["--prior-temperature", "0.5", "--prior-top-k", "3"])
            XCTAssertEqual(new.temperature, 0.5)
            XCTAssertEqual(new.topK, 3)
            let old = try prior(["--temperature", "0.5", "--top-k", "3"])
            XCTAssertEqual(old.temperature, 0.5)
            XCTAssertEqual(old.topK, 3)
            XCTAssertEqual(old.renamed.filter(\.oldGiven).map(\.note),
                           ["note: --temperature is deprecated; use --prior-temperature", "note: --top-k is deprecated; use --prior-top-k"])
            XCTAssertThrowsError(try prior(["--temperature", "0.5", "--prior-temperature", "0.7"]))
            XCTAssertThrowsError(try prior(["--prior-temperature", "0"]))
            XCTAssertThrowsError(try prior(["--prior-top-k", "0"]))
        }
    }

    func testDecodeOptionsAndTheirOldSpellings() throws {
        func decoder(_ flags: [String]) throws -> (temperature: Float?, candidates: Int) {
            try DecodeCommand.parse(["codes.json", "-o", "out.png"] + flags).decoder
        }
        XCTAssertEqual(try decoder([]).temperature, 0.75, "the library's default decoding")
        XCTAssertNil(try decoder(["--greedy-decode"]).temperature)
        XCTAssertEqual(try decoder([]).candidates, 1)
        XCTAssertEqual(try decoder(["--decode-temperature", "0.5", "--decode-candidates", "3"]).temperature, 0.5)
        XCTAssertEqual(try decoder(["--decode-temperature", "0.5", "--decode-candidates", "3"]).candidates, 3)
        // Before the rename, decode's --temperature was the decoder's, and --candidates its best-of-k.
        XCTAssertEqual(try decoder(["--temperature", "0.5", "--candidates", "3"]).temperature, 0.5)
        XCTAssertEqual(try decoder(["--temperature", "0.5", "--candidates", "3"]).candidates, 3)
        XCTAssertThrowsError(try decoder(["--temperature", "0.5", "--decode-temperature", "0.5"]))
        XCTAssertThrowsError(try decoder(["--candidates", "2", "--decode-candidates", "2"]))
        XCTAssertThrowsError(try decoder(["--greedy-decode", "--decode-candidates", "2"]), "greedy decoding has one image to offer")
        XCTAssertThrowsError(try decoder(["--greedy-decode", "--decode-temperature", "0.5"]))
        XCTAssertThrowsError(try decoder(["--decode-temperature", "-1"]))
    }

    func testSampleDrawsTokensAt075UnlessGreedy() throws {
        XCTAssertEqual(try SampleCommand.parse([]).decoder.temperature, 0.75)
        XCTAssertEqual(try SampleCommand.parse(["--decode-temperature", "0.5"]).decoder.temperature, 0.5)
        XCTAssertNil(try SampleCommand.parse(["--greedy-decode"]).decoder.temperature)
        XCTAssertEqual(try SampleCommand.parse(["--decode-candidates", "4"]).decoder.candidates, 4)
        XCTAssertThrowsError(try SampleCommand.parse(["--greedy-decode", "--decode-candidates", "2"]))
    }

    func testEvalFlagsBecomeTheLibrarysOptions() throws {
        let options = try EvalCommand.parse([
            "--data", "d", "--split", "validation", "--limit", "9", "-n", "0", "--prior-temperature", "0.8",
            "--prior-top-k", "5", "--decode-temperature", "0.75", "--decode-candidates", "4", "--seed", "3",
            "--batch-size", "2",
        ]).options
        XCTAssertEqual(options.split, .validation)
        XCTAssertEqual(options.limit, 9)
        XCTAssertEqual(options.samples, 0)
        XCTAssertEqual(options.priorTemperature, 0.8)
        XCTAssertEqual(options.priorTopK, 5)
        XCTAssertEqual(options.decodeTemperature, 0.75)
        XCTAssertEqual(options.decodeCandidates, 4)
        XCTAssertEqual(options.seed, 3)
        XCTAssertEqual(options.batchSize, 2)
        XCTAssertEqual(try EvalCommand.parse(["--data", "d"]).options.decodeTemperature, 0.75, "the library's default decoding")
        XCTAssertNil(try EvalCommand.parse(["--data", "d", "--greedy-decode"]).options.decodeTemperature)
        XCTAssertThrowsError(try EvalCommand.parse(["--data", "d", "--split", "training"]))
        XCTAssertThrowsError(try EvalCommand.parse(["--data", "d", "--batch-size", "0"]))
    }

    func testOldSpellingsAreNotInHelp() {
        for command in [DecodeCommand.self, SampleCommand.self, EvalCommand.self] as [ParsableCommand.Type] {
            let help = command.helpMessage(columns: 1000)
            for old in ["--temperature", "--top-k", "--candidates"] {
                XCTAssertFalse(help.contains(old), "\(command._commandName) help shows \(old)")
            }
            XCTAssertTrue(help.contains("--decode-temperature"), "\(command._commandName)")
        }
        XCTAssertTrue(SampleCommand.helpMessage(columns: 1000).contains("--prior-temperature"))
        XCTAssertTrue(SampleCommand.helpMessage(columns: 1000).contains("-n, --samples"))
    }

    func testTrainingCommandsShareRunOptionsWithTheirOwnDefaults() throws {
        let svq = try TrainCommand.parse(["--data", "d"]).runOptions
        XCTAssertEqual([svq.steps, svq.batchSize], [20_000, 32])
        XCTAssertEqual(try svq.loopSettings(), LoopSettings(checkpointEvery: 250, logEvery: 10))
        XCTAssertEqual(svq.runPath, "runs/svq")
        let prior = try TrainPriorCommand.parse(["--model", "m", "--data", "d"]).runOptions
        XCTAssertEqual([prior.steps, prior.batchSize], [20_000, 40])
        XCTAssertEqual(try prior.loopSettings(), LoopSettings(checkpointEvery: 500, logEvery: 50))
        XCTAssertEqual(try TrainPriorCommand.parse(["--model", "m", "--data", "d", "--checkpoint-every", "7"]).runOptions.loopSettings(),
                       LoopSettings(checkpointEvery: 7, logEvery: 50))
        XCTAssertEqual(prior.runPath, "runs/prior")
        let given = try TrainPriorCommand.parse(["--model", "m", "--data", "d", "--run", "r", "--steps", "7", "--batch-size", "5",
                                                 "--seed", "2", "--official-schedules", "--resume"]).runOptions
        XCTAssertEqual(given.run.directory.lastPathComponent, "r")
        XCTAssertTrue(given.resume)
        let options: PriorTrainingOptions = given.options()
        XCTAssertEqual([options.steps, options.batchSize, options.warmupSteps], [7, 5, 30_000])
        XCTAssertEqual(options.seed, 2)
        XCTAssertTrue(TrainCommand.helpMessage(columns: 1000).contains("Images per step"))
        XCTAssertTrue(TrainPriorCommand.helpMessage(columns: 1000).contains("Code sets per step"))
    }

    func testEvalChecksItsOutputFolderBeforeLoadingTheModel() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("svq-eval-out-\(UUID().uuidString)")
        try Data([1]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let out = file.appendingPathComponent("eval")   // under a file: cannot be made
        let eval = try EvalCommand.parse(["--data", "/nonexistent-images", "--model", "/nonexistent.safetensors", "--out", out.path])
        XCTAssertThrowsError(try eval.run()) {
            XCTAssertEqual("\($0)", "cannot write to the output folder \(out.path): Not a directory")
        }
    }

    func testAnUnwritableRunFolderIsOneLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("svq-run-\(UUID().uuidString)")
        try Data([1]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = file.appendingPathComponent("run")
        for command in [["train", "--data", "/nonexistent"], ["train-prior", "--model", "/nonexistent", "--data", "/nonexistent"]] {
            var parsed = try SVQCommand.parseAsRoot(command + ["--run", run.path])
            XCTAssertThrowsError(try parsed.run()) {
                XCTAssertEqual(SVQCommand.fullMessage(for: $0), "Error: cannot write to the run folder \(run.path): Not a directory")
            }
        }
    }

    func testThreadsMustBeWithinTheEnginesMaximum() throws {
        let commands: [[String]] = [["train", "--data", "d"], ["train-prior", "--model", "m", "--data", "d"], ["eval", "--data", "d"]]
        for command in commands {
            XCTAssertNoThrow(try SVQCommand.parseAsRoot(command + ["--threads", "1024"]), "\(command[0])")
            for bad in ["1025", "100000", "0", "-1"] {
                XCTAssertThrowsError(try SVQCommand.parseAsRoot(command + ["--threads=" + bad]), "\(command[0]) --threads \(bad)") {
                    XCTAssertTrue(SVQCommand.message(for: $0).contains("from 1 to 1024"), SVQCommand.message(for: $0))
                }
            }
        }
    }
}
