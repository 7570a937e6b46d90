// Starting and resuming an SVQ run from a folder of PNGs (SVQTrainingRun), the options a run's flags give,
// and loading a model from either file a run writes.

import Foundation
import SafeTensors
import SVQData
import SVQEngine
import SVQModels
import SVQTrain
import XCTest

final class TrainingRunTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("svq-training-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// squaresDataset's 12 images as PNGs; the train split is the first 8.
    func imageFolder() throws -> URL {
        let folder = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let set = squaresDataset()
        let planar = set.batch(Array(0..<set.count)).scalars
        for i in 0..<set.count {
            var image = RGBImage(width: 16, height: 16)
            for p in 0..<256 { for c in 0..<3 { image.pixels[3 * p + c] = UInt8((planar[(i * 3 + c) * 256 + p] * 255).rounded()) } }
            try PNG.write(image, to: folder.appendingPathComponent(String(format: "%06d.png", i)))
        }
        return folder
    }

    func testARunStartsOnceAndResumesWhereItsCheckpointIs() throws {
        let data = try imageFolder()
        let run = RunFolder(directory.appendingPathComponent("run"))
        let options = SVQTrainingOptions(steps: 4, batchSize: 4, seed: 1, officialSchedules: false)
        XCTAssertThrowsError(try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: options, resume: true)) {
            XCTAssertEqual(($0 as? TrainingError)?.kind, .runFolderConflict)
            XCTAssertTrue("\($0)".contains("nothing to resume"), "\($0)")
        }
        var lines: [String] = []
        let trainer = try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: options,
                                                 resume: false, log: { lines.append($0) })
        XCTAssertEqual(trainer.images.count, 8)
        XCTAssertEqual(trainer.step, 0)
        XCTAssertEqual(lines.count, 1)
        // Same initial weights as a model made from the seed's initialisation stream.
        var rng = RandomGenerator(seed: 1, stream: RandomStreams.initialisation)
        let fresh = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        XCTAssertEqual(trainer.model.namedTensors().map(\.tensor.scalars), fresh.namedTensors().map(\.tensor.scalars))

        for _ in 0..<2 { trainer.trainStep() }
        try trainer.writeCheckpoint(to: run.checkpoint)
        XCTAssertThrowsError(try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: options, resume: false)) {
            XCTAssertEqual(($0 as? TrainingError)?.kind, .runFolderConflict)
            XCTAssertTrue("\($0)".contains("exists"), "\($0)")
        }
        var longer = options
        longer.steps = 9
        let resumed = try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: longer, resume: true)
        XCTAssertEqual(resumed.step, 2)
        XCTAssertEqual(resumed.options.steps, 9)
        XCTAssertEqual(resumed.model.namedTensors().map(\.tensor.scalars), trainer.model.namedTensors().map(\.tensor.scalars))
    }

    /// A resumed run checkpoints and logs as it was started, not at the command's defaults, unless a flag
    /// says otherwise (and then the override is reported).
    func testAResumedRunKeepsItsCheckpointAndLogIntervals() throws {
        let data = try imageFolder()
        let run = RunFolder(directory.appendingPathComponent("run"))
        let defaults = LoopSettings(checkpointEvery: 250, logEvery: 10)
        let started = LoopSettings.resolve(checkpointEvery: 2, logEvery: 3, stored: nil, defaults: defaults)
        XCTAssertEqual(started.settings, LoopSettings(checkpointEvery: 2, logEvery: 3))
        XCTAssertEqual(started.overrides, [])
        let options = SVQTrainingOptions(steps: 3, batchSize: 4, seed: 1, officialSchedules: false)
        let trainer = try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: options, resume: false)
        var loop = TrainingLoop(run: run, settings: started.settings)
        loop.progress = nil
        XCTAssertTrue(try loop.run(trainer))
        XCTAssertEqual(try LoopSettings.stored(inCheckpoint: run.checkpoint), started.settings)

        // Resumed with no flags: the run's own intervals, not the defaults.
        let stored = try LoopSettings.stored(inCheckpoint: run.checkpoint)
        let resumed = LoopSettings.resolve(checkpointEvery: nil, logEvery: nil, stored: stored, defaults: defaults)
        XCTAssertEqual(resumed.settings, LoopSettings(checkpointEvery: 2, logEvery: 3))
        XCTAssertEqual(resumed.overrides, [])
        // A flag wins, and says what it replaces; one equal to the stored value is no override.
        let flagged = LoopSettings.resolve(checkpointEvery: 5, logEvery: 3, stored: stored, defaults: defaults)
        XCTAssertEqual(flagged.settings, LoopSettings(checkpointEvery: 5, logEvery: 3))
        XCTAssertEqual(flagged.overrides, ["--checkpoint-every 5 overrides the run's 2"])

        // The resumed loop writes its settings into the next checkpoint.
        var longer = options
        longer.steps = 5
        let next = try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: data, run: run, options: longer, resume: true)
        loop = TrainingLoop(run: run, settings: flagged.settings)
        loop.progress = nil
        XCTAssertTrue(try loop.run(next))
        XCTAssertEqual(try LoopSettings.stored(inCheckpoint: run.checkpoint), flagged.settings)
        let logged = try String(contentsOf: run.metrics, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",")[0] }
        XCTAssertEqual(logged, ["3", "5"], "every 3 steps and at the end")

        // A checkpoint written outside a loop (or before the settings were stored) has none: the defaults.
        try next.writeCheckpoint(to: run.checkpoint)
        XCTAssertNil(try LoopSettings.stored(inCheckpoint: run.checkpoint))
        XCTAssertEqual(LoopSettings.resolve(checkpointEvery: nil, logEvery: nil, stored: nil, defaults: defaults).settings, defaults)
    }

    /// A run folder that cannot be written fails at once with one line naming it — before any image or
    /// model is loaded (here there are none: loading first would fail on that instead).
    func testAnUnwritableRunFolderFailsBeforeAnythingIsLoaded() throws {
        let empty = directory.appendingPathComponent("no-images")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("a-file")
        try Data([1]).write(to: file)
        var unwritable = [file.appendingPathComponent("run"), file]      // a file where a folder should be
        if FileManager.default.fileExists(atPath: "/sys") {
            unwritable.append(URL(fileURLWithPath: "/sys/svq-run"))       // not writable, even for root
        }
        if geteuid() != 0 {                                               // root ignores permission bits
            let readOnly = directory.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
            unwritable += [readOnly, readOnly.appendingPathComponent("run")]
        }
        for folder in unwritable {
            let run = RunFolder(folder)
            let options = SVQTrainingOptions(steps: 2, batchSize: 2, seed: 0, officialSchedules: false)
            XCTAssertThrowsError(try SVQTrainingRun.trainer(config: tinyTrainingConfig(), data: empty, run: run,
                                                            options: options, resume: false)) {
                XCTAssertEqual(($0 as? TrainingError)?.kind, .runFolderConflict, "\(folder.path): \($0)")
                XCTAssertTrue("\($0)".hasPrefix("cannot write to the run folder \(folder.path): "), "\($0)")
                XCTAssertFalse("\($0)".contains("\n"), "one line")
            }
            XCTAssertThrowsError(try PriorTrainingRun.trainer(modelFile: directory.appendingPathComponent("none.safetensors"),
                                                              data: empty, run: run, options: PriorTrainingOptions(),
                                                              resume: false)) {
                XCTAssertTrue("\($0)".hasPrefix("cannot write to the run folder \(folder.path): "), "\($0)")
            }
        }
        // A folder that can be made passes, and the check itself makes nothing.
        let fresh = directory.appendingPathComponent("new/nested/run")
        XCTAssertNoThrow(try checkWritableFolder(fresh, role: "run folder"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("new").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["a-file", "no-images"]
                       + (geteuid() != 0 ? ["read-only"] : []))
    }

    func testOptionsForARunScaleTheSchedulesUnlessOfficial() {
        let cpu = SVQTrainingOptions(steps: 1000, batchSize: 8, seed: 3, officialSchedules: false)
        XCTAssertEqual([cpu.steps, cpu.batchSize, cpu.warmupSteps, cpu.temperatureSteps, cpu.halfLifeSteps], [1000, 8, 100, 200, 2000])
        XCTAssertEqual(cpu.seed, 3)
        let official = SVQTrainingOptions(steps: 1000, batchSize: 8, seed: 3, officialSchedules: true)
        XCTAssertEqual([official.steps, official.batchSize, official.warmupSteps, official.temperatureSteps, official.halfLifeSteps],
                       [1000, 8, 30_000, 30_000, 250_000])
        let prior = PriorTrainingOptions(steps: 500, batchSize: 40, seed: 0, officialSchedules: false)
        XCTAssertEqual([prior.warmupSteps, prior.halfLifeSteps], [50, 1000])
        XCTAssertEqual(PriorTrainingOptions(steps: 500, batchSize: 40, seed: 0, officialSchedules: true).warmupSteps, 30_000)
    }

    func testAModelLoadsFromAWeightsFileOrACheckpoint() throws {
        var rng = RandomGenerator(seed: 8)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        let trainer = try SVQTrainer(model: model, images: squaresDataset(), options: .cpu(steps: 1, batchSize: 4, seed: 0))
        trainer.trainStep()
        let weights = directory.appendingPathComponent("model.safetensors")
        let checkpoint = directory.appendingPathComponent("checkpoint.safetensors")
        try model.save(to: weights)
        try trainer.writeCheckpoint(to: checkpoint)
        for url in [weights, checkpoint] {
            let loaded = try SVQModel.load(weightsOrCheckpoint: url)
            XCTAssertEqual(loaded.config, model.config)
            XCTAssertEqual(loaded.namedTensors().map(\.name), model.namedTensors().map(\.name))
            XCTAssertEqual(loaded.namedTensors().map(\.tensor.scalars), model.namedTensors().map(\.tensor.scalars), url.lastPathComponent)
        }
        let other = directory.appendingPathComponent("other.safetensors")
        var writer = SafeTensorsWriter(metadata: ["format": "something else"])
        try writer.add("x", floats: [1], shape: [1])
        try writer.write(to: other)
        XCTAssertThrowsError(try SVQModel.load(weightsOrCheckpoint: other))
    }
}
