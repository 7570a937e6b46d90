import Foundation
import XCTest
import SafeTensors
import SVQTestSupport

final class AtomicWriteTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func testWriteNewFileAndReadBack() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        var writer = SafeTensorsWriter(metadata: ["k": "v"])
        try writer.add("w", floats: [1, 2, 3], shape: [3])
        try writer.write(to: url)

        XCTAssertEqual(try contents(), ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: url), try writer.serialize())
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.floats("w"), [1, 2, 3])
        XCTAssertEqual(file.metadata, ["k": "v"])
    }

    func testOverwriteReplacesExistingFileAndKeepsPermissions() throws {
        let url = directory.appendingPathComponent("ckpt.safetensors")
        // Existing, larger file with restrictive permissions.
        var old = SafeTensorsWriter()
        try old.add("old", int64s: Array(0..<1000), shape: [1000])
        try old.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)

        var new = SafeTensorsWriter()
        try new.add("new", int32s: [5], shape: [1])
        try new.write(to: url)

        XCTAssertEqual(try contents(), ["ckpt.safetensors"], "no temporary files left behind")
        XCTAssertEqual(try Data(contentsOf: url), try new.serialize())
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["new"])
        XCTAssertEqual(try file.int32s("new"), [5])
        let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(permissions?.intValue, 0o640)
    }

    func testFailedWriteLeavesNothingBehind() throws {
        // Destination is a non-empty directory: rename fails after the temp file was written.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data([1]).write(to: target.appendingPathComponent("keep"))

        var writer = SafeTensorsWriter()
        try writer.add("w", floats: [1], shape: [1])
        assertThrowsKind(.ioError, try writer.write(to: target))
        XCTAssertEqual(try contents(), ["occupied"], "temporary file removed after failure")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["keep"])

        // Directory that does not exist.
        let missing = directory.appendingPathComponent("no/such/dir/x.safetensors")
        assertThrowsKind(.ioError, try writer.write(to: missing))
        XCTAssertEqual(try contents(), ["occupied"])

        // Non-file URL.
        assertThrowsKind(.ioError, try writer.write(to: URL(string: "https://example.com/x.safetensors")!))
    }

    func testRepeatedOverwritesLeaveSingleFile() throws {
        let url = directory.appendingPathComponent("loop.safetensors")
        for step in 0..<20 {
            var writer = SafeTensorsWriter(metadata: ["step": "\(step)"])
            try writer.add("x", int64s: [Int64(step)], shape: [])
            try writer.write(to: url)
        }
        XCTAssertEqual(try contents(), ["loop.safetensors"])
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata["step"], "19")
        XCTAssertEqual(try file.int64s("x"), [19])
    }
}
