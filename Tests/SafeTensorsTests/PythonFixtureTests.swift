import Foundation
import XCTest
import SafeTensors

/// Reads `Fixtures/python_written.safetensors`, written by Hugging Face's `safetensors` Python
/// package (see `scripts/make_safetensors_fixture.py`). Expected values are recomputed here from
/// the same formulas as the script, not copied from this reader's output.
final class PythonFixtureTests: XCTestCase {
    private func fixtureURL() throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: "python_written", withExtension: "safetensors", subdirectory: "Fixtures"),
            "fixture missing; run scripts/make_safetensors_fixture.py")
    }

    func testReadsPythonWrittenFile() throws {
        let file = try SafeTensorsFile(contentsOf: try fixtureURL())

        XCTAssertEqual(file.metadata, ["format": "test", "version": "1"])
        XCTAssertEqual(Set(file.names), [
            "f32_arange", "f32_quarters", "i64_big", "i32_mixed", "f16_halves", "f64_values",
            "i16_values", "i8_values", "u8_values", "f32_scalar", "f32_empty",
        ])
        // names are in buffer order
        let begins = file.names.map { file.info($0)!.dataOffsets.lowerBound }
        XCTAssertEqual(begins, begins.sorted())

        // F32 [2,3,4]: arange(24)
        XCTAssertEqual(file.info("f32_arange")?.dtype, .f32)
        XCTAssertEqual(file.info("f32_arange")?.shape, [2, 3, 4])
        XCTAssertEqual(try file.floats("f32_arange"), (0..<24).map { Float($0) })

        // F32 [3]: i * 0.25 - 1
        XCTAssertEqual(try file.floats("f32_quarters"), (0..<3).map { Float($0) * 0.25 - 1 })

        // I64 [5]: i * 1_000_000_007 - 2_000_000_000
        let expectedI64 = (0..<5).map { Int64($0) * 1_000_000_007 - 2_000_000_000 }
        XCTAssertEqual(file.info("i64_big")?.dtype, .i64)
        XCTAssertEqual(file.info("i64_big")?.shape, [5])
        XCTAssertEqual(try file.int64s("i64_big"), expectedI64)
        XCTAssertEqual(try file.ints("i64_big"), expectedI64.map(Int.init))

        // I32 [3,2]: i * 3 - 7
        XCTAssertEqual(file.info("i32_mixed")?.shape, [3, 2])
        XCTAssertEqual(try file.int32s("i32_mixed"), (0..<6).map { Int32($0) * 3 - 7 })

        // F16 [2,3]: i * 0.5 - 1.25, exact in half precision
        XCTAssertEqual(file.info("f16_halves")?.dtype, .f16)
        XCTAssertEqual(file.info("f16_halves")?.shape, [2, 3])
        XCTAssertEqual(try file.floats("f16_halves"), (0..<6).map { Float($0) * 0.5 - 1.25 })

        // F64 [4]: i / 8 + 0.1, narrowed to Float
        XCTAssertEqual(file.info("f64_values")?.dtype, .f64)
        XCTAssertEqual(try file.floats("f64_values"), (0..<4).map { Float(Double($0) / 8 + 0.1) })

        // Small integer dtypes through ints()
        XCTAssertEqual(try file.ints("i16_values"), (0..<4).map { $0 * 1000 - 1500 })
        XCTAssertEqual(try file.ints("i8_values"), (0..<4).map { $0 * 50 - 100 })
        XCTAssertEqual(try file.ints("u8_values"), (0..<4).map { $0 * 80 + 15 })
        XCTAssertEqual(try file.rawBytes("u8_values"), Data((0..<4).map { UInt8($0 * 80 + 15) }))
        XCTAssertEqual(file.info("i16_values")?.dtype, .i16)
        XCTAssertEqual(file.info("i8_values")?.dtype, .i8)
        XCTAssertEqual(file.info("u8_values")?.dtype, .u8)

        // Scalar and empty tensors
        XCTAssertEqual(file.info("f32_scalar")?.shape, [])
        XCTAssertEqual(try file.floats("f32_scalar"), [3.5])
        XCTAssertEqual(file.info("f32_empty")?.shape, [0, 3])
        XCTAssertEqual(try file.floats("f32_empty"), [])
    }

    func testRewritingPythonFileRoundTrips() throws {
        let original = try SafeTensorsFile(contentsOf: try fixtureURL())
        var writer = SafeTensorsWriter(metadata: original.metadata)
        for name in original.names {
            let info = original.info(name)!
            try writer.add(name, rawBytes: try original.rawBytes(name), dtype: info.dtype, shape: info.shape)
        }
        let copy = try SafeTensorsFile(data: try writer.serialize())
        XCTAssertEqual(copy.names, original.names)
        XCTAssertEqual(copy.metadata, original.metadata)
        for name in original.names {
            XCTAssertEqual(copy.info(name), original.info(name))
            XCTAssertEqual(try copy.rawBytes(name), try original.rawBytes(name))
        }
    }
}
