// `svq train` killed (SIGKILL: no handler runs) at random moments, again and again, then resumed each time:
// every checkpoint left behind loads, no temporary file outlives the run, and the final model is bit for bit
// the one an uninterrupted run writes.

import Foundation
import SVQData
import SVQEngine
import SVQModels
import SVQTrain
import XCTest

final class KillDuringTrainingTests: XCTestCase {
    /// The svq executable, built beside this test bundle (`swift build --build-tests` builds every product).
    var svq: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("svq")
    }

    func run(_ arguments: [String], killAfter seconds: Double? = nil) throws -> (status: Int32, killed: Bool) {
        let process = Process()
        process.executableURL = svq
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killed = false
        if let seconds {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(2_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); killed = true }
        }
        process.waitUntilExit()
        return (process.terminationStatus, killed)
    }

    func testRunsKilledAtRandomMomentsEndWhereAnUninterruptedRunEnds() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: svq.path), "no svq executable at \(svq.path)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("svq-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<6 {   // the train split is the first 4
            var image = RGBImage(width: 64, height: 64)
            for p in 0..<(64 * 64 * 3) { image.pixels[p] = UInt8((p * 7 + i * 31) % 256) }
            try PNG.write(image, to: data.appendingPathComponent(String(format: "%06d.png", i)))
        }
        let steps = 40
        func arguments(_ run: URL) -> [String] {
            ["train", "--slots", "2", "--blocks", "2", "--prototypes", "4", "--slot-size", "16", "--vocab", "16",
             "--d-model", "16", "--decoder-layers", "1", "--batch-size", "2", "--data", data.path, "--run", run.path,
             "--steps", "\(steps)", "--checkpoint-every", "1", "--log-every", "5", "--threads", "1"]
        }

        let straight = root.appendingPathComponent("straight")
        let start = Date()
        XCTAssertEqual(try run(arguments(straight)).status, 0)
        let duration = Date().timeIntervalSince(start)

        // Up to eight kills at moments drawn over the first fifth of an uninterrupted run's time (start-up
        // included, so some land before the first checkpoint), from a seed printed on failure; then a launch
        // that ends. A launch gets at most a fifth of the run's time, so the run needs several: at least four
        // kills land before it can end (three are asked for, for slack in timing).
        let seed = UInt64.random(in: 0..<1_000_000)
        var generator = RandomGenerator(seed: seed)
        let killed = root.appendingPathComponent("killed")
        var kills = 0, launches = 0
        let checkpoint = killed.appendingPathComponent("checkpoint.safetensors")
        while true {
            launches += 1
            XCTAssertLessThan(launches, 60, "seed \(seed): the run never finished")
            if launches >= 60 { return }
            let resume = FileManager.default.fileExists(atPath: checkpoint.path)
            let limit = kills < 8 ? Double(generator.nextUniform()) * duration / 5 : nil
            let result = try run(arguments(killed) + (resume ? ["--resume"] : []), killAfter: limit)
            if result.killed {
                kills += 1
                if FileManager.default.fileExists(atPath: checkpoint.path) {
                    XCTAssertNoThrow(try SVQModel.load(weightsOrCheckpoint: checkpoint),
                                     "seed \(seed): the checkpoint left by kill \(kills) does not load")
                }
                continue
            }
            XCTAssertEqual(result.status, 0, "seed \(seed): launch \(launches) failed")
            break
        }
        XCTAssertGreaterThanOrEqual(kills, 3, "seed \(seed): too few kills landed before the run ended")

        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "seed \(seed): temporary files outlived the run")
        let a = try SVQModel.load(weightsOrCheckpoint: straight.appendingPathComponent("model.safetensors"))
        let b = try SVQModel.load(weightsOrCheckpoint: killed.appendingPathComponent("model.safetensors"))
        let x = a.namedTensors(), y = b.namedTensors()
        XCTAssertEqual(x.map(\.name), y.map(\.name))
        for (p, q) in zip(x, y) {
            XCTAssertEqual(p.tensor.scalars, q.tensor.scalars, "seed \(seed): \(p.name) differs after \(kills) kills")
        }
    }
}
