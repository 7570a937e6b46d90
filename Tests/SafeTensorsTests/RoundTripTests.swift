import Foundation
import XCTest
import SafeTensors

final class RoundTripTests: XCTestCase {
    func testRoundTripF32I32I64AndMetadata() throws {
        let floats: [Float] = [0, -0.0, 1.5, -2.25, .pi, .infinity, -.infinity, .leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, Float(bitPattern: 0x7FC0_1234)]
        let int32s: [Int32] = [.min, -1, 0, 1, .max, 123_456]
        let int64s: [Int64] = [.min, -1, 0, 1, .max, 1 << 40]
        let metadata = ["format": "pt", "quote\"back\\slash": "line\nbreak\ttab\u{1}ctl", "ünïcødé 🚀": "✓"]

        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add("model.w", floats: floats, shape: [2, 5])
        try writer.add("ids", int32s: int32s, shape: [3, 2])
        try writer.add("big \"ids\"", int64s: int64s, shape: [6])
        XCTAssertEqual(writer.names, ["model.w", "ids", "big \"ids\""])

        let file = try SafeTensorsFile(data: try writer.serialize())
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.names, ["model.w", "ids", "big \"ids\""])

        let readFloats = try file.floats("model.w")
        XCTAssertEqual(readFloats.map(\.bitPattern), floats.map(\.bitPattern))  // exact, incl. -0 and NaN payload
        XCTAssertEqual(try file.int32s("ids"), int32s)
        XCTAssertEqual(try file.int64s("big \"ids\""), int64s)
        XCTAssertEqual(try file.ints("ids"), int32s.map(Int.init))
        XCTAssertEqual(try file.ints("big \"ids\""), int64s.map(Int.init))

        let w = try XCTUnwrap(file.info("model.w"))
        XCTAssertEqual(w.dtype, .f32)
        XCTAssertEqual(w.shape, [2, 5])
        XCTAssertEqual(w.elementCount, 10)
        XCTAssertEqual(w.dataOffsets, 0..<40)
        XCTAssertEqual(file.info("ids")?.dataOffsets, 40..<64)
        XCTAssertEqual(file.info("big \"ids\"")?.dtype, .i64)
        XCTAssertNil(file.info("nope"))
        XCTAssertTrue(file.contains("ids"))
        XCTAssertEqual(try file.rawBytes("model.w"), Data(floatBytes(floats)))
    }

    func testScalarsAndZeroSizeTensors() throws {
        var writer = SafeTensorsWriter()
        try writer.add("empty_first", floats: [], shape: [0])
        try writer.add("scalar_f", floats: [42.5], shape: [])
        try writer.add("empty_mid", int64s: [], shape: [3, 0, 2])
        try writer.add("scalar_i", int64s: [-7], shape: [])
        try writer.add("scalar_i32", int32s: [9], shape: [])
        try writer.add("empty_last", int32s: [], shape: [0, 0])

        let file = try SafeTensorsFile(data: try writer.serialize())
        XCTAssertEqual(file.names, ["empty_first", "scalar_f", "empty_mid", "scalar_i", "scalar_i32", "empty_last"])
        XCTAssertEqual(try file.floats("scalar_f"), [42.5])
        XCTAssertEqual(file.info("scalar_f")?.shape, [])
        XCTAssertEqual(file.info("scalar_f")?.elementCount, 1)
        XCTAssertEqual(try file.int64s("scalar_i"), [-7])
        XCTAssertEqual(try file.int32s("scalar_i32"), [9])
        XCTAssertEqual(try file.floats("empty_first"), [])
        XCTAssertEqual(try file.int64s("empty_mid"), [])
        XCTAssertEqual(file.info("empty_mid")?.shape, [3, 0, 2])
        XCTAssertEqual(file.info("empty_mid")?.elementCount, 0)
        XCTAssertEqual(try file.int32s("empty_last"), [])
        XCTAssertEqual(try file.rawBytes("empty_last"), Data())
    }

    func testEmptyFileRoundTrip() throws {
        let data = try SafeTensorsWriter().serialize()
        XCTAssertEqual(data, makeFile("{}      "))
        let file = try SafeTensorsFile(data: data)
        XCTAssertEqual(file.names, [])
        XCTAssertEqual(file.metadata, [:])
    }

    func testHeaderIsDeterministicPaddedAndExact() throws {
        var a = SafeTensorsWriter(metadata: ["b": "2", "a": "1", "c": "3"])
        try a.add("x", floats: [1, 2], shape: [2])
        try a.add("y", int32s: [3], shape: [1, 1])
        var b = SafeTensorsWriter()
        b.metadata["c"] = "3"
        b.metadata["a"] = "1"
        b.metadata["b"] = "2"
        try b.add("x", floats: [1, 2], shape: [2])
        try b.add("y", int32s: [3], shape: [1, 1])

        let data = try a.serialize()
        XCTAssertEqual(data, try b.serialize())
        XCTAssertEqual(data, try a.serialize())

        let expectedHeader = #"{"__metadata__":{"a":"1","b":"2","c":"3"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}"#
        let n = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        XCTAssertEqual(header.trimmingCharacters(in: .init(charactersIn: " ")), expectedHeader)
        XCTAssertEqual(header.count - expectedHeader.count, (8 - expectedHeader.utf8.count % 8) % 8)
        XCTAssertEqual(data.count, 8 + n + 12)
    }

    func testHalfAndBFloat16Conversion() throws {
        // F16 bit patterns and their exact values.
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3C00, 1), (0xC000, -2), (0x3800, 0.5), (0x7BFF, 65504),
            (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24), (0x0400, 0x1p-14),
            (0x3555, 0x1p-2 * (1 + Float(0x155) / 1024)),  // 0.333251953125
            (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        var writer = SafeTensorsWriter()
        try writer.add("h", rawBytes: Data(uint16Bytes(cases.map(\.0) + [0x8000, 0x7E00])), dtype: .f16, shape: [cases.count + 2])
        // BF16 is the top half of an F32.
        let bf: [Float] = [1, -3, 3.140625, 0, -0.0, 65536, 0x1p-126]
        try writer.add("b", rawBytes: Data(uint16Bytes(bf.map { UInt16($0.bitPattern >> 16) })), dtype: .bf16, shape: [bf.count])
        // F64 narrows to the nearest Float.
        let doubles: [Double] = [0.1, -1e10, 3.0, 1e-50]
        let doubleBytes = doubles.flatMap { d -> [UInt8] in withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) } }
        try writer.add("d", rawBytes: Data(doubleBytes), dtype: .f64, shape: [2, 2])

        let file = try SafeTensorsFile(data: try writer.serialize())
        let h = try file.floats("h")
        XCTAssertEqual(Array(h.prefix(cases.count)), cases.map(\.1))
        XCTAssertEqual(h[cases.count].bitPattern, (-Float(0)).bitPattern)
        XCTAssertTrue(h[cases.count + 1].isNaN)
        XCTAssertEqual(try file.floats("b").map(\.bitPattern), bf.map(\.bitPattern))
        XCTAssertEqual(try file.floats("d"), doubles.map(Float.init))
        XCTAssertEqual(file.info("d")?.shape, [2, 2])
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    func testHalfConversionMatchesFloat16ForAllBitPatterns() throws {
        let all = (0...UInt16.max).map { $0 }
        var writer = SafeTensorsWriter()
        try writer.add("all", rawBytes: Data(uint16Bytes(all)), dtype: .f16, shape: [all.count])
        let values = try SafeTensorsFile(data: try writer.serialize()).floats("all")
        XCTAssertEqual(values.count, all.count)
        var mismatches: [String] = []
        for (bits, value) in zip(all, values) {
            let expected = Float(Float16(bitPattern: bits))
            let ok = expected.isNaN ? value.isNaN : value.bitPattern == expected.bitPattern
            if !ok { mismatches.append("0x\(String(bits, radix: 16)): got \(value), expected \(expected)") }
        }
        XCTAssertEqual(mismatches.count, 0, "first mismatches: \(mismatches.prefix(5))")
    }
    #endif

    func testIntsAcceptsAllIntegerDTypes() throws {
        var writer = SafeTensorsWriter()
        try writer.add("i16", rawBytes: Data(uint16Bytes([UInt16(bitPattern: -300), 300])), dtype: .i16, shape: [2])
        try writer.add("i8", rawBytes: Data([0x80, 0x7F, 0xFF]), dtype: .i8, shape: [3])
        try writer.add("u8", rawBytes: Data([0, 200, 255]), dtype: .u8, shape: [3])
        try writer.add("u16", rawBytes: Data(uint16Bytes([65535, 1])), dtype: .u16, shape: [2])
        let u32: [UInt8] = withUnsafeBytes(of: UInt32.max.littleEndian) { Array($0) }
        try writer.add("u32", rawBytes: Data(u32), dtype: .u32, shape: [1])
        let u64ok: [UInt8] = withUnsafeBytes(of: UInt64(Int.max).littleEndian) { Array($0) }
        try writer.add("u64ok", rawBytes: Data(u64ok), dtype: .u64, shape: [])
        let u64big: [UInt8] = withUnsafeBytes(of: UInt64.max.littleEndian) { Array($0) }
        try writer.add("u64big", rawBytes: Data(u64big), dtype: .u64, shape: [1])
        try writer.add("flag", rawBytes: Data([1, 0]), dtype: .bool, shape: [2])

        let file = try SafeTensorsFile(data: try writer.serialize())
        XCTAssertEqual(try file.ints("i16"), [-300, 300])
        XCTAssertEqual(try file.ints("i8"), [-128, 127, -1])
        XCTAssertEqual(try file.ints("u8"), [0, 200, 255])
        XCTAssertEqual(try file.ints("u16"), [65535, 1])
        XCTAssertEqual(try file.ints("u32"), [Int(UInt32.max)])
        XCTAssertEqual(try file.ints("u64ok"), [Int.max])
        assertThrowsKind(.valueOutOfRange, try file.ints("u64big"))
        assertThrowsKind(.wrongDType, try file.ints("flag"))
        XCTAssertEqual(try file.rawBytes("flag"), Data([1, 0]))
        XCTAssertEqual(file.info("flag")?.dtype, .bool)
    }

    func testWriterRejectsBadInput() throws {
        var writer = SafeTensorsWriter()
        try writer.add("a", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        assertThrowsKind(.duplicateName, try writer.add("a", floats: [1], shape: [1]))
        assertThrowsKind(.reservedName, try writer.add("__metadata__", floats: [1], shape: [1]))
        assertThrowsKind(.shapeMismatch, try writer.add("b", floats: [1, 2, 3], shape: [2, 2]))
        assertThrowsKind(.shapeMismatch, try writer.add("b", int64s: [1, 2], shape: []))
        assertThrowsKind(.shapeMismatch, try writer.add("b", int32s: [], shape: []))
        assertThrowsKind(.invalidShape, try writer.add("b", floats: [], shape: [-1, 0]))
        assertThrowsKind(.sizeOverflow, try writer.add("b", floats: [], shape: [Int.max, 2, 0]))
        assertThrowsKind(.shapeMismatch, try writer.add("b", rawBytes: Data(count: 5), dtype: .f16, shape: [3]))
        assertThrowsKind(.sizeOverflow, try writer.add("b", rawBytes: Data(), dtype: .f64, shape: [Int.max / 4]))
        // Failed adds leave the writer unchanged.
        XCTAssertEqual(writer.names, ["a"])
        XCTAssertEqual(try SafeTensorsFile(data: try writer.serialize()).names, ["a"])
    }

    func testSlicedDataInput() throws {
        var writer = SafeTensorsWriter()
        try writer.add("v", floats: [1, 2, 3], shape: [3])
        var padded = Data([9, 9, 9])
        padded.append(try writer.serialize())
        let slice = padded[3...]
        XCTAssertNotEqual(slice.startIndex, 0)
        XCTAssertEqual(try SafeTensorsFile(data: slice).floats("v"), [1, 2, 3])
    }

    func testLargeTensorsReadQuickly() throws {
        let count = 4_000_000  // 16 MB of F32 + 32 MB of I64
        let floats = (0..<count).map { Float($0) * 0.5 }
        let longs = (0..<count).map { Int64($0) - 1_000_000 }
        var writer = SafeTensorsWriter()
        try writer.add("f", floats: floats, shape: [2000, 2000])
        try writer.add("l", int64s: longs, shape: [count])
        let data = try writer.serialize()
        XCTAssertGreaterThan(data.count, 48_000_000)

        let start = Date()
        let file = try SafeTensorsFile(data: data)
        let f = try file.floats("f")
        let l = try file.int64s("l")
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(f, floats)
        XCTAssertEqual(l, longs)
        XCTAssertLessThan(elapsed, 10, "reading 48 MB took \(elapsed) s")
    }

    func testEscapedAndUnicodeNamesParse() throws {
        // Header written by hand with JSON escapes, including a surrogate pair and an escaped slash.
        let header = #"{"a\/b\u00e9\ud83d\ude80\n":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        let file = try SafeTensorsFile(data: makeFile(header, buffer: [7]))
        XCTAssertEqual(file.names, ["a/bé🚀\n"])
        XCTAssertEqual(try file.ints("a/bé🚀\n"), [7])
    }

    func testLenientButValidHeaders() throws {
        // Unpadded header, whitespace inside and after the JSON, unknown entry fields ignored,
        // null metadata, zero-size tensors sharing an offset with a neighbour.
        let header = "{ \"__metadata__\" : null ,\n\t\"b\":{\"shape\":[],\"extra\":{\"x\":[1,2]},\"dtype\":\"I8\",\"data_offsets\":[1,2]},"
            + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[1,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}\r\n  "
        let file = try SafeTensorsFile(data: makeFile(header, buffer: [5, 0xFE]))
        XCTAssertEqual(file.names, ["a", "z", "b"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.ints("b"), [-2])
        XCTAssertEqual(try file.floats("z"), [])
    }
}
