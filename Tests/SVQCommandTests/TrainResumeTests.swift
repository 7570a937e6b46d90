// `svq train --resume` end to end: a resumed run keeps the checkpoint and log intervals it was started
// with, instead of falling back to the command's defaults.

import Foundation
import SVQData
import SVQCommandLine
import XCTest

final class TrainResumeTests: XCTestCase {
    func testResumeKeepsTheRunsLogInterval() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("svq-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("images"), run = root.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<6 {   // the train split is the first 4
            var image = RGBImage(width: 64, height: 64)
            for p in 0..<(64 * 64 * 3) { image.pixels[p] = UInt8((p * 7 + i * 31) % 256) }
            try PNG.write(image, to: data.appendingPathComponent(String(format: "%06d.png", i)))
        }
        let small = ["--slots", "2", "--blocks", "2", "--prototypes", "4", "--slot-size", "16", "--vocab", "16",
                     "--d-model", "16", "--decoder-layers", "1", "--batch-size", "2", "--data", data.path, "--run", run.path]
        try TrainCommand.parse(small + ["--steps", "3", "--log-every", "3", "--checkpoint-every", "2"]).run()
        try TrainCommand.parse(small + ["--steps", "7", "--resume"]).run()
        let rows = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
        // Every 3 steps as the run was started (the default, 10, logged only the end: 3, 7).
        XCTAssertEqual(rows, ["3", "6", "7"])
    }
}
