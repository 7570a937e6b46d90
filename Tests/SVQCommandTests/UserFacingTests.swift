// What a user of the command line sees: --version, images of the wrong size refused with the size wanted
// (or scaled on --resize), a model from `svq train` refusing to sample its untrained prior, and errors in the
// user's terms (no Swift ranges, no DecodingError dumps, keys spelled as the file spells them).

import ArgumentParser
import Foundation
import SVQData
import SVQCommandLine
import XCTest

final class UserFacingTests: XCTestCase {
    let bundledModel = URL(fileURLWithPath: #filePath)   // <root>/Tests/SVQCommandTests/UserFacingTests.swift
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/sprites.safetensors").path
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("svq-user-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The message the command line prints for what `body` throws (nil if it does not throw).
    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return SVQCommand.message(for: error) }
        return nil
    }

    func testVersion() throws {
        XCTAssertThrowsError(try SVQCommand.parseAsRoot(["--version"])) { error in
            let text = SVQCommand.message(for: error)
            XCTAssertNotNil(text.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression), text)
        }
    }

    func testLongCallsReportEachTenthOnce() {
        var lines: [String] = []
        let report = progressLines("decoding 4 scenes") { lines.append($0) }
        for step in 1...256 { XCTAssertTrue(report(Double(step) / 256)) }
        XCTAssertEqual(lines, (1...10).map { "decoding 4 scenes: \($0 * 10)%" })
    }

    func testAnImageOfAnotherSizeIsRefusedUnlessResized() throws {
        let path = scratch.appendingPathComponent("wide.png").path
        try PNG.write(RGBImage(width: 48, height: 32), to: URL(fileURLWithPath: path))
        let refused = try XCTUnwrap(message { try EncodeCommand.parse([path, "--model", bundledModel]).run() })
        XCTAssertTrue(refused.contains("48×32") && refused.contains("64×64") && refused.contains("--resize"), refused)
        XCTAssertNil(message { try EncodeCommand.parse([path, "--model", bundledModel, "--resize"]).run() })
        let edit = try XCTUnwrap(message {
            try EditCommand.parse([path, "--model", bundledModel, "--slot", "0", "--block", "0", "-o", "\(path).out.png"]).run()
        })
        XCTAssertTrue(edit.contains("--resize"), edit)
    }

    func testOutOfRangeFlagsSayTheRangeInWords() throws {
        let path = scratch.appendingPathComponent("image.png").path
        try PNG.write(RGBImage(width: 64, height: 64), to: URL(fileURLWithPath: path))
        let text = try XCTUnwrap(message {
            try EditCommand.parse([path, "--model", bundledModel, "--slot", "9", "--block", "0", "-o", "\(path).out.png"]).run()
        })
        XCTAssertTrue(text.contains("--slot must be from 0 to 4, got 9"), text)   // the bundled model has 5 slots
        XCTAssertFalse(text.contains("..<"), text)
    }

    func testACodesFileWithAMissingOrWrongKeyNamesItAsWritten() throws {
        let path = scratch.appendingPathComponent("codes.json")
        let out = scratch.appendingPathComponent("out.png").path
        try Data(#"{"num_slots": 5, "num_blocks": 8, "codebook_size": 32}"#.utf8).write(to: path)
        let missing = try XCTUnwrap(message { try DecodeCommand.parse([path.path, "--model", bundledModel, "-o", out]).run() })
        XCTAssertTrue(missing.contains(#"the key "codes" is missing"#), missing)
        try Data(#"{"num_slots": "five", "num_blocks": 8, "codebook_size": 32, "codes": []}"#.utf8).write(to: path)
        let wrong = try XCTUnwrap(message { try DecodeCommand.parse([path.path, "--model", bundledModel, "-o", out]).run() })
        XCTAssertTrue(wrong.contains(#""num_slots" is not an integer"#), wrong)
        for text in [missing, wrong] {
            XCTAssertFalse(text.contains("DecodingError") || text.contains("CodingKeys") || text.contains("numSlots"), text)
        }
    }

    func testAModelFromTrainRefusesToSampleItsPriorAndSaysWhy() throws {
        let data = scratch.appendingPathComponent("images"), run = scratch.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<4 {
            var image = RGBImage(width: 64, height: 64)
            for p in 0..<(64 * 64 * 3) { image.pixels[p] = UInt8((p * 7 + i * 31) % 256) }
            try PNG.write(image, to: data.appendingPathComponent(String(format: "%06d.png", i)))
        }
        try TrainCommand.parse(["--slots", "2", "--blocks", "2", "--prototypes", "4", "--slot-size", "16", "--vocab", "16",
                                "--d-model", "16", "--decoder-layers", "1", "--batch-size", "2", "--steps", "1",
                                "--data", data.path, "--run", run.path]).run()
        let model = run.appendingPathComponent("model.safetensors").path
        let text = try XCTUnwrap(message {
            try SampleCommand.parse(["--model", model, "-n", "1", "-o", scratch.appendingPathComponent("s.png").path]).run()
        })
        XCTAssertTrue(text.contains("never trained") && text.contains("svq train-prior"), text)
    }
}
