import Foundation
import XCTest
import SafeTensors

/// Every malformed input is rejected with its specific error kind.
final class MalformedFileTests: XCTestCase {
    private let f32x2 = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

    // MARK: File layout

    func testFileShorterThanEightBytes() {
        assertRejects(Data(), .truncatedFile)
        assertRejects(Data([2, 0, 0, 0, 0, 0, 0]), .truncatedFile, messageContains: "7 bytes")
    }

    func testHeaderLengthPastEndOfFile() {
        assertRejects(makeFile("{}", headerLength: 100), .headerPastEndOfFile, messageContains: "100")
        assertRejects(makeFile("", headerLength: 1), .headerPastEndOfFile)
        // Exactly at the limit but the file is short: past end, not too large.
        assertRejects(makeFile("{}", headerLength: 100_000_000), .headerPastEndOfFile)
    }

    func testHeaderLengthOverLimit() {
        assertRejects(makeFile("{}", headerLength: 100_000_001), .headerTooLarge, messageContains: "100000001")
        assertRejects(makeFile("{}", headerLength: UInt64.max), .headerTooLarge)
        assertRejects(makeFile("{}", headerLength: UInt64(Int.max) + 1), .headerTooLarge)
    }

    func testHeaderNotJSON() {
        for header in ["{not json}", "", "   ", "{\"a\":1,}", "{'a':1}", "{\"a\":NaN}", "{\"a\":01}", "{\"a\":1.}",
                       "{\"a\":-}", "{\"a\":\"\\x\"}", "{\"a\":\"unterminated}", "{\"a\":\"\u{1}\"}", "{\"a\":tru}",
                       "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00x\"}", "{} {}", "{}\0\0\0\0\0\0", "{\"a\" 1}"] {
            assertRejects(makeFile(header), .headerNotJSON)
        }
        // Deep nesting is rejected, not a stack overflow.
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        assertRejects(makeFile(deep), .headerNotJSON, messageContains: "nested deeper")
    }

    func testHeaderNotUTF8() {
        var bytes = Array("{\"a".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("\":{}}".utf8)
        assertRejects(makeFile(headerBytes: bytes), .headerNotUTF8)
        // Overlong encoding of '/' and a lone continuation byte.
        assertRejects(makeFile(headerBytes: Array("{\"".utf8) + [0xC0, 0xAF] + Array("\":1}".utf8)), .headerNotUTF8)
        assertRejects(makeFile(headerBytes: Array("{\"__metadata__\":{\"k\":\"".utf8) + [0x80] + Array("\"}}".utf8)), .headerNotUTF8)
    }

    func testHeaderNotObject() {
        for header in ["[1,2]", "\"str\"", "42", "null", "true", "[]"] {
            assertRejects(makeFile(header), .headerNotObject)
        }
        // Valid JSON object, but the header must start with '{'.
        assertRejects(makeFile(" {}"), .headerNotObject, messageContains: "start with")
    }

    // MARK: Entries

    func testEntryMissingFields() {
        assertRejects(makeFile(#"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .invalidEntry, tensor: "t", messageContains: "dtype")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .invalidEntry, tensor: "t", messageContains: "shape")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[2]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .invalidEntry, tensor: "t", messageContains: "data_offsets")
    }

    func testEntryWrongTypes() {
        let buffer = [UInt8](repeating: 0, count: 8)
        assertRejects(makeFile(#"{"t":[1,2]}"#, buffer: buffer), .invalidEntry, tensor: "t")
        assertRejects(makeFile(#"{"t":"F32"}"#, buffer: buffer), .invalidEntry, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}"#, buffer: buffer), .invalidEntry, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, buffer: buffer), .invalidEntry, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":{"b":0}}}"#, buffer: buffer), .invalidEntry, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, buffer: buffer),
                      .invalidEntry, tensor: "t", messageContains: "more than once")
    }

    func testUnknownDType() {
        let buffer = [UInt8](repeating: 0, count: 8)
        assertRejects(makeFile(#"{"t":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}"#, buffer: buffer),
                      .unknownDType, tensor: "t", messageContains: "F128")
        assertRejects(makeFile(#"{"t":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}"#, buffer: buffer), .unknownDType, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"F4","shape":[16],"data_offsets":[0,8]}}"#, buffer: buffer),
                      .unknownDType, tensor: "t", messageContains: "sub-byte")
    }

    func testInvalidShapeValues() {
        let buffer = [UInt8](repeating: 0, count: 8)
        for shape in ["[-2]", "[1.5]", "[2.0]", "[2e0]", "[\"2\"]", "[null]", "[[2]]", "[99999999999999999999999]", "[-0.5]"] {
            assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,8]}}"#, buffer: buffer),
                          .invalidShape, tensor: "t", messageContains: "shape[0]")
        }
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}}"#, buffer: buffer),
                      .invalidShape, tensor: "t", messageContains: "shape[1] is -1")
    }

    func testInvalidOffsets() {
        let buffer = [UInt8](repeating: 0, count: 8)
        for offsets in ["[0]", "[0,8,8]", "[]", "[-8,0]", "[0,8.0]", "[0,\"8\"]", "[0,1e1]", "[0,18446744073709551616]"] {
            assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":"# + offsets + "}}", buffer: buffer),
                          .invalidOffsets, tensor: "t")
        }
        // end before begin
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, buffer: buffer),
                      .invalidOffsets, tensor: "t", messageContains: "[8, 0]")
    }

    func testShapeDoesNotMatchByteRange() {
        let header = #"{"a.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}"#
        assertRejects(makeFile(header, buffer: .init(repeating: 0, count: 20)), .shapeMismatch, tensor: "a.weight")
        do {
            _ = try SafeTensorsFile(data: makeFile(header, buffer: .init(repeating: 0, count: 20)))
        } catch let error as SafeTensorsError {
            XCTAssertEqual(error.description, #"tensor "a.weight": shape [2, 3] × F32 needs 24 bytes but data_offsets [0, 20] cover 20"#)
        } catch {
            XCTFail("\(error)")
        }
        // Scalars need exactly one element.
        assertRejects(makeFile(#"{"s":{"dtype":"I64","shape":[],"data_offsets":[0,0]}}"#), .shapeMismatch, tensor: "s")
    }

    func testHugeShapeOverflow() {
        // Each dimension fits in Int, but their product (or product × byte size) does not.
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .sizeOverflow, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"U8","shape":[9223372036854775807,2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .sizeOverflow, tensor: "t")
        assertRejects(makeFile(#"{"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .sizeOverflow, tensor: "t")
        // A zero dimension makes the product zero no matter the others — but the first two already overflow.
        assertRejects(makeFile(#"{"t":{"dtype":"U8","shape":[9223372036854775807,9223372036854775807,0],"data_offsets":[0,0]}}"#),
                      .sizeOverflow, tensor: "t")
        // Huge offsets that fit in Int are simply out of bounds (and do not overflow).
        assertRejects(makeFile(#"{"t":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775806,9223372036854775807]}}"#, buffer: [0]),
                      .offsetsOutOfBounds, tensor: "t")
    }

    func testOffsetsPastBuffer() {
        assertRejects(makeFile(#"{"t":"# + f32x2 + "}", buffer: [0, 0, 0, 0]), .offsetsOutOfBounds, tensor: "t", messageContains: "4-byte buffer")
        assertRejects(makeFile(#"{"t":{"dtype":"F32","shape":[0],"data_offsets":[9,9]}}"#, buffer: .init(repeating: 0, count: 8)),
                      .offsetsOutOfBounds, tensor: "t")
    }

    func testOverlappingOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#
        assertRejects(makeFile(header, buffer: .init(repeating: 0, count: 24)), .offsetsOverlap, tensor: "b", messageContains: "\"a\"")
        // Identical ranges overlap too.
        let same = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#
        assertRejects(makeFile(same, buffer: .init(repeating: 0, count: 8)), .offsetsOverlap)
        // A zero-size tensor strictly inside another one overlaps.
        let inside = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"I32","shape":[0],"data_offsets":[4,4]}}"#
        assertRejects(makeFile(inside, buffer: .init(repeating: 0, count: 8)), .offsetsOverlap, tensor: "z")
    }

    func testGapBetweenTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#
        assertRejects(makeFile(header, buffer: .init(repeating: 0, count: 20)), .offsetsGap, tensor: "b", messageContains: "gap of 4 bytes")
        // Gap before the first tensor.
        let first = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRejects(makeFile(first, buffer: .init(repeating: 0, count: 8)), .offsetsGap, tensor: "a")
    }

    func testTrailingBytesNotCovered() {
        assertRejects(makeFile(#"{"t":"# + f32x2 + "}", buffer: .init(repeating: 0, count: 12)),
                      .bufferNotCovered, messageContains: "4 trailing bytes")
        assertRejects(makeFile("{}", buffer: [1, 2, 3]), .bufferNotCovered)
        assertRejects(makeFile(#"{"__metadata__":{"a":"b"}}"#, buffer: [1]), .bufferNotCovered)
    }

    func testDuplicateNames() {
        let header = #"{"t":"# + f32x2 + #","t":"# + f32x2 + "}"
        assertRejects(makeFile(header, buffer: .init(repeating: 0, count: 8)), .duplicateName, tensor: "t")
        assertRejects(makeFile(#"{"__metadata__":{},"__metadata__":{}}"#), .duplicateName)
        assertRejects(makeFile(#"{"__metadata__":{"k":"1","k":"2"}}"#), .duplicateName, messageContains: "\"k\"")
    }

    func testMetadataNotStrings() {
        assertRejects(makeFile(#"{"__metadata__":{"a":"x","b":1}}"#), .metadataNotStrings, messageContains: "\"b\"")
        assertRejects(makeFile(#"{"__metadata__":{"a":null}}"#), .metadataNotStrings)
        assertRejects(makeFile(#"{"__metadata__":{"a":["x"]}}"#), .metadataNotStrings)
        assertRejects(makeFile(#"{"__metadata__":["a","b"]}"#), .metadataNotStrings)
        assertRejects(makeFile(#"{"__metadata__":"a"}"#), .metadataNotStrings)
    }

    // MARK: Access

    func testMissingTensorAndWrongDType() throws {
        var writer = SafeTensorsWriter()
        try writer.add("ids", int64s: [1, 2], shape: [2])
        try writer.add("w", floats: [1], shape: [1])
        try writer.add("i", int32s: [1], shape: [1])
        let file = try SafeTensorsFile(data: try writer.serialize())

        assertThrowsKind(.tensorNotFound, try file.floats("missing"))
        assertThrowsKind(.tensorNotFound, try file.int64s("missing"))
        assertThrowsKind(.tensorNotFound, try file.int32s("missing"))
        assertThrowsKind(.tensorNotFound, try file.ints("missing"))
        assertThrowsKind(.tensorNotFound, try file.rawBytes("missing"))

        assertThrowsKind(.wrongDType, try file.floats("ids"))
        assertThrowsKind(.wrongDType, try file.int64s("w"))
        assertThrowsKind(.wrongDType, try file.int32s("ids"))
        assertThrowsKind(.wrongDType, try file.int64s("i"))
        assertThrowsKind(.wrongDType, try file.ints("w"))
        do {
            _ = try file.floats("ids")
        } catch let error as SafeTensorsError {
            XCTAssertEqual(error.tensor, "ids")
            XCTAssertTrue(error.description.contains("I64"), error.description)
        }
    }

    func testUnreadableFileIsIOError() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/x.safetensors")
        assertThrowsKind(.ioError, try SafeTensorsFile(contentsOf: url))
    }
}
