import Foundation
import XCTest
import SafeTensors

/// Builds a safetensors file from a header string and buffer bytes. The length prefix is the
/// header's UTF-8 length unless `headerLength` overrides it.
func makeFile(_ header: String, buffer: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
    makeFile(headerBytes: Array(header.utf8), buffer: buffer, headerLength: headerLength)
}

func makeFile(headerBytes: [UInt8], buffer: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
    var data = Data()
    let n = headerLength ?? UInt64(headerBytes.count)
    withUnsafeBytes(of: n.littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: headerBytes)
    data.append(contentsOf: buffer)
    return data
}

/// Asserts that parsing `data` throws a SafeTensorsError of `kind` (and, optionally, naming
/// `tensor` and containing `messageContains` in its description).
func assertRejects(
    _ data: Data, _ kind: SafeTensorsError.Kind, tensor: String? = nil, messageContains: String? = nil,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let parsed = try SafeTensorsFile(data: data)
        XCTFail("expected \(kind) but the file parsed with tensors \(parsed.names)", file: file, line: line)
    } catch let error as SafeTensorsError {
        XCTAssertEqual(error.kind, kind, "wrong kind; error was: \(error)", file: file, line: line)
        if let tensor {
            XCTAssertEqual(error.tensor, tensor, "error was: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains("\"\(tensor)\""), "description should name the tensor: \(error)", file: file, line: line)
        }
        if let messageContains {
            XCTAssertTrue(error.description.contains(messageContains), "\"\(error)\" should contain \"\(messageContains)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected SafeTensorsError.\(kind), got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a SafeTensorsError of `kind`.
func assertThrowsKind<T>(
    _ kind: SafeTensorsError.Kind, _ body: @autoclosure () throws -> T,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try body()
        XCTFail("expected \(kind) but got \(value)", file: file, line: line)
    } catch let error as SafeTensorsError {
        XCTAssertEqual(error.kind, kind, "wrong kind; error was: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected SafeTensorsError.\(kind), got \(error)", file: file, line: line)
    }
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

func uint16Bytes(_ values: [UInt16]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

/// Deterministic PRNG (SplitMix64) for reproducible fuzzing.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
