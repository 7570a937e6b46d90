import Foundation
import XCTest
import SafeTensors
import SVQTestSupport

/// SafeTensorsFile(fileAt:) — the header read from the file, tensors read on demand — behaves exactly as
/// SafeTensorsFile(data:) on the same bytes, valid or not.
final class FileBackedTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("svq-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func open(_ url: URL) throws -> SafeTensorsFile {
        try url.withUnsafeFileSystemRepresentation { try SafeTensorsFile(fileAt: $0!) }
    }

    private func write(_ data: Data, _ name: String = "t.safetensors") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private func validFile() throws -> Data {
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        try writer.add("w", floats: [1, -2, 3.5, 4, 5, 6], shape: [2, 3])
        try writer.add("ids", int64s: [7, -8], shape: [2])
        try writer.add("e", floats: [], shape: [0, 4])
        try writer.add("h", rawBytes: Data(uint16Bytes([0x3C00, 0xC000])), dtype: .f16, shape: [2])
        return try writer.serialize()
    }

    /// Accepted by both or rejected by both with the same kind; accepted files read the same values.
    private func assertSameOutcome(_ data: Data, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(data)
        let fromData = Result { try SafeTensorsFile(data: data) }
        let fromFile = Result { try open(url) }
        switch (fromData, fromFile) {
        case (.success(let a), .success(let b)):
            XCTAssertEqual(a.tensors, b.tensors, what, file: file, line: line)
            XCTAssertEqual(a.metadata, b.metadata, what, file: file, line: line)
            for info in a.tensors {
                XCTAssertEqual(try a.rawBytes(info.name), try b.rawBytes(info.name), what, file: file, line: line)
                if info.dtype.isConvertibleToFloat {
                    XCTAssertEqual(try a.floats(info.name), try b.floats(info.name), what, file: file, line: line)
                }
            }
        case (.failure(let a as SafeTensorsError), .failure(let b as SafeTensorsError)):
            XCTAssertEqual(a.kind, b.kind, "\(what): \(a) vs \(b)", file: file, line: line)
        default:
            XCTFail("\(what): data gave \(fromData), file gave \(fromFile)", file: file, line: line)
        }
    }

    func testSameOutcomeAsInMemoryForValidTruncatedAndCorruptFiles() throws {
        let valid = try validFile()
        try assertSameOutcome(valid, "valid")
        for length in stride(from: 0, to: valid.count, by: 3) {
            try assertSameOutcome(valid.prefix(length), "truncated to \(length)")
        }
        try assertSameOutcome(valid + Data([0x20]), "one trailing byte")
        for position in stride(from: 0, to: valid.count, by: 5) {
            var copy = valid
            copy[position] ^= 0x5A
            try assertSameOutcome(copy, "byte \(position) flipped")
        }
        try assertSameOutcome(makeFile("", headerLength: 1 << 40), "header length over the limit")
    }

    func testReadFloatsIntoBuffer() throws {
        let file = try open(try write(try validFile()))
        var w = [Float](repeating: .nan, count: 6)
        try w.withUnsafeMutableBufferPointer { try file.readFloats("w", into: $0) }
        XCTAssertEqual(w, [1, -2, 3.5, 4, 5, 6])
        var h = [Float](repeating: .nan, count: 2)
        try h.withUnsafeMutableBufferPointer { try file.readFloats("h", into: $0) }   // F16, converted
        XCTAssertEqual(h, [1, -2])
        var short = [Float](repeating: 0, count: 5)
        assertThrowsKind(.shapeMismatch, try short.withUnsafeMutableBufferPointer { try file.readFloats("w", into: $0) })
        assertThrowsKind(.wrongDType, try file.floats("ids"))
    }

    func testUnreadableFilesAreIOErrors() throws {
        assertThrowsKind(.ioError, try open(directory.appendingPathComponent("missing.safetensors")))
        assertThrowsKind(.ioError, try open(directory))                        // a directory
        // A file that shrinks after it was opened: the tensor reads fail cleanly.
        let url = try write(try validFile())
        let file = try open(url)
        try Data(try validFile().prefix(20)).write(to: url)
        assertThrowsKind(.ioError, try file.floats("w"))
    }

    /// Opening a FIFO to read waits for a writer: both ways of reading a file check its type first.
    func testAFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let fifo = try makeFIFO()
        let opened = errorWithoutBlocking(on: fifo) { [self] in _ = try open(fifo) }
        XCTAssertTrue(("\(opened.map { "\($0)" } ?? "no error")").contains("not a regular file"), "\(String(describing: opened))")
        let read = errorWithoutBlocking(on: fifo) { _ = try SafeTensorsFile(contentsOf: fifo) }
        XCTAssertEqual((read as? SafeTensorsError)?.kind, .ioError)
        XCTAssertTrue("\(read.map { "\($0)" } ?? "no error")".contains("not a regular file"), "\(String(describing: read))")
    }
}
