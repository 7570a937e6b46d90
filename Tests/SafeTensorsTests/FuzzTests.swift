import Foundation
import XCTest
import SafeTensors

/// Deterministic corruption of valid files: parsing must either succeed or throw a
/// SafeTensorsError — never crash, trap or throw anything else.
final class FuzzTests: XCTestCase {
    private var stats = (accepted: 0, rejected: 0)

    private func validFile() throws -> Data {
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "note": "fuzz"])
        try writer.add("w", floats: [1, -2, 3.5, 4, 5, 6], shape: [2, 3])
        try writer.add("ids", int64s: [7, -8], shape: [2])
        try writer.add("s", int32s: [9], shape: [])
        try writer.add("e", floats: [], shape: [0, 4])
        try writer.add("h", rawBytes: Data(uint16Bytes([0x3C00, 0x7E00])), dtype: .f16, shape: [2])
        return try writer.serialize()
    }

    /// Parses `data`; if it is accepted, reads every tensor through every accessor and checks
    /// that the tensors tile the buffer.
    private func exercise(_ data: Data, _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        let parsed: SafeTensorsFile
        do {
            parsed = try SafeTensorsFile(data: data)
        } catch is SafeTensorsError {
            stats.rejected += 1
            return
        } catch {
            XCTFail("\(what()): non-SafeTensorsError \(error)", file: file, line: line)
            return
        }
        stats.accepted += 1
        var covered = 0
        for info in parsed.tensors {
            XCTAssertEqual(info.dataOffsets.lowerBound, covered, what(), file: file, line: line)
            covered = info.dataOffsets.upperBound
            XCTAssertEqual((try? parsed.rawBytes(info.name))?.count, info.byteCount, what(), file: file, line: line)
            for read in [{ _ = try parsed.floats(info.name) }, { _ = try parsed.ints(info.name) },
                         { _ = try parsed.int64s(info.name) }, { _ = try parsed.int32s(info.name) }] {
                do { try read() } catch is SafeTensorsError {} catch {
                    XCTFail("\(what()): non-SafeTensorsError \(error)", file: file, line: line)
                }
            }
        }
    }

    func testSingleByteMutationsAtEveryPosition() throws {
        let valid = try validFile()
        exercise(valid, "unmodified")
        XCTAssertEqual(stats.accepted, 1)
        let replacements: [(UInt8) -> UInt8] = [
            { $0 ^ 0x01 }, { $0 ^ 0x80 }, { $0 ^ 0xFF }, { _ in 0 }, { _ in UInt8(ascii: "9") },
            { _ in UInt8(ascii: "-") }, { _ in UInt8(ascii: "\"") }, { _ in UInt8(ascii: "{") },
            { _ in UInt8(ascii: "[") }, { _ in UInt8(ascii: ",") }, { _ in UInt8(ascii: "\\") }, { _ in 0xC3 },
        ]
        for position in 0..<valid.count {
            for (k, replace) in replacements.enumerated() {
                var copy = valid
                copy[position] = replace(copy[position])
                exercise(copy, "replacement \(k) at byte \(position)")
            }
        }
        // Mutating the buffer alone keeps the file valid; mutating the header usually does not.
        XCTAssertGreaterThan(stats.accepted, 0)
        XCTAssertGreaterThan(stats.rejected, valid.count)
    }

    func testTruncationAndExtensionAtEveryLength() throws {
        let valid = try validFile()
        for length in 0..<valid.count {
            exercise(valid.prefix(length), "truncated to \(length) bytes")
        }
        XCTAssertEqual(stats.accepted, 0, "no proper prefix of a valid file is valid")
        for extra in 1...16 {
            exercise(valid + Data(repeating: 0x20, count: extra), "extended by \(extra) bytes")
        }
        XCTAssertEqual(stats.accepted, 0, "trailing bytes are never valid")
    }

    func testRandomMultiByteCorruption() throws {
        let valid = try validFile()
        var rng = SplitMix64(seed: 0x5AFE_7E45)
        let interesting: [UInt8] = Array("{}[]\":,-0123456789.eE\\ u".utf8) + [0, 0x80, 0xFF, 0xC0, 0xED, 0xF4]
        for iteration in 0..<20_000 {
            var copy = valid
            let edits = Int.random(in: 1...4, using: &rng)
            for _ in 0..<edits {
                let position = Int.random(in: 0..<copy.count, using: &rng)
                if Bool.random(using: &rng) {
                    copy[position] = interesting.randomElement(using: &rng)!
                } else {
                    copy[position] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            if iteration % 7 == 0 {
                copy = copy.prefix(Int.random(in: 0...copy.count, using: &rng))
            }
            if iteration % 11 == 0 {
                // Random header length, including huge values.
                var n = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
                if copy.count >= 8 {
                    withUnsafeBytes(of: &n) { copy.replaceSubrange(0..<8, with: $0) }
                }
            }
            exercise(copy, "random iteration \(iteration)")
        }
        XCTAssertGreaterThan(stats.rejected, 10_000)
    }

    func testHostileNumbersInHeader() {
        // Values around every Int / UInt64 boundary in shapes and offsets never trap.
        let numbers = ["0", "1", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
                       "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-1",
                       "1" + String(repeating: "0", count: 400), "1e308", "1e999", "0.0"]
        for a in numbers {
            for b in numbers {
                exercise(makeFile(#"{"t":{"dtype":"F64","shape":["# + a + "," + b + #"],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)), "shape \(a),\(b)")
                exercise(makeFile(#"{"t":{"dtype":"F64","shape":[1],"data_offsets":["# + a + "," + b + "]}}", buffer: .init(repeating: 0, count: 8)), "offsets \(a),\(b)")
            }
        }
        // Exactly one combination is valid: shape [1] with offsets [0, 8].
        XCTAssertEqual(stats.accepted, 1)
    }

    func testManyTensorsInOneHeader() throws {
        // A wide header (10k tiny tensors, shuffled in the header) parses and orders correctly.
        var rng = SplitMix64(seed: 42)
        let count = 10_000
        let order = (0..<count).shuffled(using: &rng)
        let entries = order.map { k in #""t\#(k)":{"dtype":"U8","shape":[1],"data_offsets":[\#(k),\#(k + 1)]}"# }
        let data = makeFile("{" + entries.joined(separator: ",") + "}", buffer: (0..<count).map { UInt8($0 % 256) })
        let file = try SafeTensorsFile(data: data)
        XCTAssertEqual(file.names, (0..<count).map { "t\($0)" })
        XCTAssertEqual(try file.ints("t300"), [300 % 256])
    }
}
