// Loading: valid files load with the right sizes; everything else — missing, unreadable, truncated at any
// length, random or mutated bytes, foreign safetensors, wrong shapes, hostile configs, non-finite
// weights — is an SVQError, never a crash or an unbounded allocation.

import CSVQ
import Foundation
import SafeTensors
import SVQ
import SVQEngine
import SVQModels
import SVQTestSupport
import XCTest

final class LoadingTests: XCTestCase {
    func testInfoOfTinyModel() throws {
        let info = TestModels.tiny.info
        XCTAssertEqual(info.imageSize, 64)
        XCTAssertEqual(info.imageChannels, 3)
        XCTAssertEqual(info.numSlots, 3)
        XCTAssertEqual(info.numBlocks, 4)
        XCTAssertEqual(info.codebookSize, 8)
        XCTAssertEqual(info.slotSize, 64)
        XCTAssertEqual(info.blockSize, 16)
        XCTAssertEqual(info.vocabSize, 32)
        XCTAssertEqual(info.tokensPerImage, 256)
        XCTAssertTrue(info.hasPrior)
        XCTAssertFalse(TestModels.tinyNoPrior.info.hasPrior)
    }

    func testLoadsFromFileAndMemoryAlike() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svq-rt-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try TestModels.tinyData.write(to: url)
        let fromFile = try SVQ.Model(contentsOf: url)
        XCTAssertEqual(fromFile.info, TestModels.tiny.info)
        let images = testImages(batch: 1)
        XCTAssertEqual(try fromFile.encode(images, seed: 3).codes, try TestModels.tiny.encode(images, seed: 3).codes)
    }

    func testTheCodeLegendInAFileIsInTheModelInfo() throws {
        XCTAssertNil(TestModels.tiny.info.codeLegend)
        let legend = CodeLegend(blocks: [CodeLegend.Block(block: 0, factor: "colour", accuracy: 0.9, chance: 0.2, codes: [
            CodeLegend.Code(code: 0, value: "red", share: 0.75, objects: 4),
            CodeLegend.Code(code: 1, value: nil, share: 0, objects: 0),
        ])])
        var rng = RandomGenerator(seed: 13)
        let model = try SVQModel(config: TestModels.microConfig, rng: &rng)
        let folder = try temporaryDirectory()
        let url = folder.appendingPathComponent("legend.safetensors")
        try model.save(to: url, codeLegend: legend)
        XCTAssertEqual(try SVQ.Model(contentsOf: url).info.codeLegend, legend)
        XCTAssertEqual(try SVQ.Model(data: Data(contentsOf: url)).info.codeLegend, legend)

        // A legend that is not one is named, and the file refused like any other invalid model.
        var metadata = model.metadata
        metadata[CodeLegend.metadataKey] = "{\"blocks\": 3}"
        XCTAssertThrowsError(try SVQ.Model(data: try model.weightsData(metadata: metadata))) { error in
            XCTAssertEqual((error as? SVQError)?.code, .invalidModel)
            XCTAssertTrue("\(error)".contains("code legend"), "\(error)")
        }
    }

    func testPresetsLoad() throws {
        // The loader's bound counts every preset's tensors from its sizes; every preset's file must pass it.
        for (name, config) in [("cpu-sprites", SVQConfig.cpuSprites), ("micro", TestModels.microConfig)] {
            var c = config
            XCTAssertNoThrow(try SVQ.Model(data: TestModels.serialized(c, seed: 1)), name)
            c.slotInit = .learned
            c.prior = nil
            XCTAssertNoThrow(try SVQ.Model(data: TestModels.serialized(c, seed: 2)), "\(name), learned slots, no prior")
        }
    }

    func testUnreadableFilesAreIOErrors() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/dir/model.safetensors")
        XCTAssertTrue(expectError(.ioError, try SVQ.Model(contentsOf: missing)).contains("/nonexistent/dir/model.safetensors"))
        expectError(.ioError, try SVQ.Model(contentsOf: FileManager.default.temporaryDirectory))   // a directory
        expectError(.ioError, try SVQ.Model(contentsOf: URL(fileURLWithPath: "/dev/zero")))           // never ends
        expectError(.ioError, try SVQ.Model(contentsOf: URL(string: "https://example.com/model.safetensors")!))
    }

    func testAFIFOIsAnIOErrorNotAWait() throws {
        let fifo = try makeFIFO()
        let error = errorWithoutBlocking(on: fifo) { _ = try SVQ.Model(contentsOf: fifo) }
        XCTAssertEqual((error as? SVQError)?.code, .ioError, "\(String(describing: error))")
        XCTAssertTrue((error as? SVQError)?.message.contains("not a regular file") ?? false, "\(String(describing: error))")
        let viaC = errorWithoutBlocking(on: fifo) {
            var handle: OpaquePointer?
            let status = svq_model_load_file(fifo.path, &handle)
            if status != SVQ_STATUS_OK { throw SVQError(.init(rawValue: Int32(status.rawValue))!, String(cString: svq_last_error())) }
        }
        XCTAssertEqual((viaC as? SVQError)?.code, .ioError, "\(String(describing: viaC))")
        XCTAssertTrue((viaC as? SVQError)?.message.contains("not a regular file") ?? false, "\(String(describing: viaC))")
    }

    func testEmptyAndTinyInputs() {
        expectError(.invalidModel, try SVQ.Model(data: Data()))
        expectError(.invalidModel, try SVQ.Model(data: Data([1, 2, 3])))
        expectError(.invalidModel, try SVQ.Model(data: Data(repeating: 0, count: 8)))
    }

    func testEveryTruncationIsRejected() {
        let data = TestModels.microData
        XCTAssertNoThrow(try SVQ.Model(data: data))
        XCTAssertLessThan(data.count, 40_000, "keep the micro model micro: this test parses every prefix")
        for length in 0..<data.count {
            do {
                _ = try SVQ.Model(data: data.prefix(length))
                XCTFail("a \(length)-byte prefix of a \(data.count)-byte file loaded")
                return
            } catch let error as SVQError {
                if error.code != .invalidModel { XCTFail("prefix \(length): \(error.code) \(error.message)"); return }
            } catch {
                XCTFail("prefix \(length): not an SVQError: \(error)")
                return
            }
        }
    }

    func testRandomAndMutatedBytesNeverCrash() {
        var rng = RandomGenerator(seed: 99)
        // Random bytes, some behind a plausible header length.
        for i in 0..<500 {
            var bytes = (0..<(8 + rng.nextInt(below: 600))).map { _ in UInt8(truncatingIfNeeded: rng.nextUInt32()) }
            if i % 2 == 0 {
                let n = UInt64(max(0, bytes.count - 8 - rng.nextInt(below: 8)))
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
                bytes[8] = UInt8(ascii: "{")
            }
            expectError(.invalidModel, try SVQ.Model(data: Data(bytes)))
        }
        // Single-byte mutations of a valid file: each loads (a changed weight) or is rejected.
        let valid = [UInt8](TestModels.microData)
        var loaded = 0
        for _ in 0..<1000 {
            var bytes = valid
            bytes[rng.nextInt(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.nextUInt32())
            do {
                _ = try SVQ.Model(data: Data(bytes))
                loaded += 1
            } catch let error as SVQError {
                XCTAssertEqual(error.code, .invalidModel, error.message)
            } catch {
                XCTFail("not an SVQError: \(error)")
            }
        }
        XCTAssertGreaterThan(loaded, 0, "mutations of the weights should load")
        XCTAssertLessThan(loaded, 1000, "mutations of the header should be rejected")
    }

    func testForeignSafetensorsAreRejected() throws {
        var w = SafeTensorsWriter(metadata: ["format": "pt"])
        try w.add("weight", floats: [1, 2], shape: [2])
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: try w.serialize())).contains("not an SVQ weights file"))
        let v2 = TestModels.rewritten(TestModels.microData, metadata: { $0["format_version"] = "2" })
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: v2)).contains("version 2"))
        let noConfig = TestModels.rewritten(TestModels.microData, metadata: { $0["config"] = nil })
        expectError(.invalidModel, try SVQ.Model(data: noConfig))
        let badJSON = TestModels.rewritten(TestModels.microData, metadata: { $0["config"] = "{not json" })
        expectError(.invalidModel, try SVQ.Model(data: badJSON))
        let invalid = TestModels.withConfig(TestModels.microData, "slotSize", 5)   // not divisible by 2 blocks
        expectError(.invalidModel, try SVQ.Model(data: invalid))
    }

    func testWrongShapesMissingAndExtraTensorsAreRejected() {
        let data = TestModels.microData
        // A tensor with another shape, one with another shape and size, a missing and an extra tensor: the
        // strict load names each.
        let reshaped = TestModels.rewritten(data, tensors: { name, values, shape in
            name == "image_encoder.mlp2.bias" ? ([Float](repeating: 0, count: 5), [5]) : (values, shape)
        })
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: reshaped)).contains("image_encoder.mlp2.bias"))
        let codebooks = TestModels.rewritten(data, tensors: { name, values, shape in
            name == "slot_attention.quantizer.codebooks" ? ([Float](repeating: 0, count: 2 * 4 * 2), [2, 4, 2]) : (values, shape)
        })
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: codebooks)).contains("codebooks"))
        let missing = TestModels.rewritten(data, tensors: { name, values, shape in
            name == "prior.head.weight" ? nil : (values, shape)
        })
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: missing)).contains("prior.head.weight"))
        var extra = SafeTensorsWriter(metadata: try! SafeTensorsFile(data: data).metadata)
        let file = try! SafeTensorsFile(data: data)
        for info in file.tensors { try! extra.add(info.name, floats: try! file.floats(info.name), shape: info.shape) }
        try! extra.add("surprise", floats: [0], shape: [1])
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: try extra.serialize())).contains("surprise"))
    }

    func testHostileConfigsFailFastWithoutAllocating() {
        let data = TestModels.microData
        let cases: [(String, Any)] = [
            ("numDecoderLayers", 1_000_000_000), ("cnnHiddenSize", 1 << 40), ("dModel", 1 << 31),
            ("imageSize", 1 << 62), ("vocabSize", Int(Int32.max)), ("numPrototypes", 1 << 30),
            ("slotSize", 1 << 40), ("numBlocks", 1 << 20), ("mlpHiddenSize", 1 << 41), ("dvaeHiddenSize", 1 << 33),
            ("numIterations", 1_000_000_000), ("numSlots", 1 << 40), ("prior.numLayers", 1 << 40),
            ("prior.dModel", 1 << 36), ("imageChannels", 1 << 35), ("featureSize", 1),
        ]
        for (key, value) in cases {
            let start = Date()
            let message = expectError(.invalidModel, try SVQ.Model(data: TestModels.withConfig(data, key, value)))
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, "\(key): \(message)")
        }
        // A config within every limit that implies far more tensors than the file holds: refused before
        // the model is built.
        let layers = expectError(.invalidModel, try SVQ.Model(data: TestModels.withConfig(data, "numDecoderLayers", 1000)))
        XCTAssertTrue(layers.contains("the config implies"), layers)
        // Too many slots for a model without a prior and with random slot init (no tensor pins N).
        var c = TestModels.microConfig
        c.prior = nil
        let noPrior = TestModels.serialized(c, seed: 3)
        XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: TestModels.withConfig(noPrior, "numSlots", 65))).contains("num_slots"))
    }

    func testNonFiniteWeightsAreRejected() {
        for bad in [Float.nan, .infinity, -.infinity] {
            let data = TestModels.rewritten(TestModels.microData, tensors: { name, values, shape in
                var v = values
                if name == "image_decoder.bos" { v[1] = bad }
                return (v, shape)
            })
            XCTAssertTrue(expectError(.invalidModel, try SVQ.Model(data: data)).contains("image_decoder.bos"))
        }
    }
}
