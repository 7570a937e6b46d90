// The exported graphs' structure: signatures, dynamic batch, well-formedness (every value defined before
// use), initializers equal to our weights under our names, the written files and the reference outputs.
// Numerical agreement with ONNX Runtime is tested in Python (tests/onnx, scripts/test-onnx.sh).

import Foundation
import SafeTensors
import SVQEngine
import SVQModels
import SVQONNX
import SVQTestSupport
import XCTest

final class ONNXExportTests: XCTestCase {
    static let model: SVQModel = {
        var rng = RandomGenerator(seed: 7)
        let m = try! SVQModel(config: .goldenTiny, rng: &rng)
        m.freeze()
        m.train(false)
        return m
    }()

    var graphs: [String: ExportedGraph] {
        Dictionary(uniqueKeysWithValues: ONNXExporter(model: Self.model).graphs().map { ($0.name, $0) })
    }

    func signature(_ specs: [ONNXValueSpec]) -> [String] { specs.map(\.description) }

    func testGraphsDeclareTheDocumentedSignatures() {
        let c = SVQConfig.goldenTiny
        let g = graphs
        XCTAssertEqual(Set(g.keys), ["encoder", "decoder_memory", "decoder_step", "dvae_decoder", "dvae_encoder", "prior_step"])
        let n = c.numSlots, m = c.numBlocks, s = c.slotSize, i = c.imageSize, nm = c.codesPerImage
        let hd = c.dModel / c.numDecoderHeads, l = c.numDecoderLayers, h = c.numDecoderHeads
        XCTAssertEqual(signature(g["encoder"]!.inputs), ["image: float32 [batch, 3, \(i), \(i)]", "noise: float32 [batch, \(n), \(s)]"])
        XCTAssertEqual(signature(g["encoder"]!.outputs), [
            "codes: int64 [batch, \(n), \(m)]", "slots: float32 [batch, \(n), \(s)]",
            "attention: float32 [batch, \(c.featureSize * c.featureSize), \(n)]", "masks: float32 [batch, \(n), \(i), \(i)]",
        ])
        XCTAssertEqual(signature(g["decoder_memory"]!.inputs), ["codes: int64 [batch, \(n), \(m)]"])
        XCTAssertEqual(signature(g["decoder_memory"]!.outputs), [
            "memory: float32 [batch, \(nm), \(c.dModel)]",
            "cross_keys: float32 [\(l), batch, \(h), \(nm), \(hd)]", "cross_values: float32 [\(l), batch, \(h), \(nm), \(hd)]",
        ])
        XCTAssertEqual(signature(g["decoder_step"]!.inputs), [
            "previous_token: int64 [batch]", "position: int64 []",
            "cross_keys: float32 [\(l), batch, \(h), \(nm), \(hd)]", "cross_values: float32 [\(l), batch, \(h), \(nm), \(hd)]",
            "past_keys: float32 [\(l), batch, \(h), past_length, \(hd)]", "past_values: float32 [\(l), batch, \(h), past_length, \(hd)]",
        ])
        XCTAssertEqual(signature(g["decoder_step"]!.outputs), [
            "logits: float32 [batch, \(c.vocabSize)]", "next_token: int64 [batch]",
            "present_keys: float32 [\(l), batch, \(h), present_length, \(hd)]",
            "present_values: float32 [\(l), batch, \(h), present_length, \(hd)]",
        ])
        XCTAssertEqual(signature(g["dvae_decoder"]!.inputs), ["tokens: int64 [batch, \(c.tokensPerImage)]"])
        XCTAssertEqual(signature(g["dvae_decoder"]!.outputs), ["image: float32 [batch, 3, \(i), \(i)]"])
        XCTAssertEqual(signature(g["dvae_encoder"]!.inputs), ["image: float32 [batch, 3, \(i), \(i)]"])
        XCTAssertEqual(signature(g["dvae_encoder"]!.outputs), ["tokens: int64 [batch, \(c.tokensPerImage)]"])
        let p = c.prior!, phd = p.dModel / p.numHeads
        XCTAssertEqual(signature(g["prior_step"]!.inputs), [
            "previous_code: int64 [batch]", "position: int64 []",
            "past_keys: float32 [\(p.numLayers), batch, \(p.numHeads), past_length, \(phd)]",
            "past_values: float32 [\(p.numLayers), batch, \(p.numHeads), past_length, \(phd)]",
        ])
        XCTAssertEqual(signature(g["prior_step"]!.outputs).first, "logits: float32 [batch, \(c.globalCodeCount)]")
    }

    func testModelsAreWellFormedAndRoundTrip() throws {
        for graph in graphs.values {
            let bytes = try graph.serialized()
            let model = try Onnx_ModelProto(serializedBytes: bytes)
            XCTAssertEqual(model, graph.model, graph.name)
            XCTAssertEqual(model.irVersion, 8)
            XCTAssertEqual(model.opsetImport.map(\.version), [17])
            XCTAssertEqual(model.opsetImport.map(\.domain), [""])
            XCTAssertNotNil(model.metadataProps.first { $0.key == "svq.config" }, graph.name)

            // Topological order: every input of a node is a graph input, an initializer or an earlier output.
            var defined = Set(model.graph.input.map(\.name) + model.graph.initializer.map(\.name))
            XCTAssertEqual(defined.count, model.graph.input.count + model.graph.initializer.count, "\(graph.name): duplicate names")
            for node in model.graph.node {
                for input in node.input where !input.isEmpty {
                    XCTAssert(defined.contains(input), "\(graph.name): \(node.opType) reads \(input) before it is defined")
                }
                for output in node.output {
                    XCTAssertFalse(defined.contains(output), "\(graph.name): \(output) is defined twice")
                    defined.insert(output)
                }
            }
            for output in model.graph.output { XCTAssert(defined.contains(output.name), "\(graph.name): output \(output.name) never computed") }
            // Every declared batch axis is the symbol "batch", never a fixed size.
            for value in model.graph.input + model.graph.output {
                let dims = value.type.tensorType.shape.dim
                XCTAssert(value.type.tensorType.hasShape, "\(graph.name).\(value.name) has no shape")
                XCTAssertEqual(dims.filter { $0.dimParam == "batch" }.count, value.name == "position" ? 0 : 1,
                               "\(graph.name).\(value.name)")
            }
        }
    }

    func testInitializersAreOurWeightsUnderOurNames() throws {
        let ours = Dictionary(uniqueKeysWithValues: Self.model.namedTensors().map { ($0.name, $0.tensor) })
        var exported = Set<String>()
        for graph in graphs.values {
            for t in graph.model.graph.initializer {
                guard let tensor = ours[t.name] else { continue }   // shapes, axes, scalars, the position grid
                exported.insert(t.name)
                XCTAssertEqual(t.dataType, 1, t.name)
                XCTAssertEqual(t.dims, tensor.shape.map(Int64.init), t.name)
                let values = t.rawData.withUnsafeBytes { raw in
                    (0..<tensor.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
                }
                XCTAssertEqual(values, tensor.scalars, t.name)
            }
        }
        // Every tensor inference reads is exported; only the EMA statistics are training state.
        let unused = Set(ours.keys).subtracting(exported).sorted()
        XCTAssertEqual(unused, ["slot_attention.quantizer.ema_cluster_size", "slot_attention.quantizer.ema_weight"])
    }

    func testModelWithoutPriorHasNoPriorGraph() throws {
        var config = SVQConfig.goldenTiny
        config.prior = nil
        var rng = RandomGenerator(seed: 1)
        let model = try SVQModel(config: config, rng: &rng)
        XCTAssertEqual(ONNXExporter(model: model).graphs().map(\.name), ["encoder", "decoder_memory", "decoder_step", "dvae_decoder", "dvae_encoder"])
    }

    func testWriteCreatesGraphsAndManifest() throws {
        let dir = try temporaryDirectory().appendingPathComponent("nested/out")
        let files = try ONNXExporter(model: Self.model).write(to: dir)
        XCTAssertEqual(files.map(\.lastPathComponent),
                       ["encoder.onnx", "decoder_memory.onnx", "decoder_step.onnx", "dvae_decoder.onnx", "dvae_encoder.onnx",
                        "prior_step.onnx", "manifest.json"])
        for file in files where file.pathExtension == "onnx" {
            let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: file))
            XCTAssertFalse(model.graph.node.isEmpty, file.lastPathComponent)
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as! [String: Any]
        XCTAssertEqual(manifest["opset"] as? Int, 17)
        let sizes = manifest["sizes"] as! [String: Any]
        XCTAssertEqual(sizes["tokens"] as? Int, SVQConfig.goldenTiny.tokensPerImage)
        XCTAssertEqual(sizes["priorSequenceLength"] as? Int, SVQConfig.goldenTiny.codesPerImage)
        let step = (manifest["graphs"] as! [String: Any])["decoder_step"] as! [String: Any]
        let past = (step["inputs"] as! [[String: Any]]).first { $0["name"] as? String == "past_keys" }!
        XCTAssertEqual(past["shape"] as? [AnyHashable], [2, "batch", 2, "past_length", 16] as [AnyHashable])
    }

    func testWriteIntoAFileFailsWithAClearError() throws {
        let file = try temporaryDirectory().appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try ONNXExporter(model: Self.model).write(to: file)) { error in
            XCTAssert("\(error)".contains("is not a folder"), "\(error)")
        }
    }

    func testReferenceOutputsAreOurOutputs() throws {
        let url = try temporaryDirectory().appendingPathComponent("reference.safetensors")
        try ONNXReference.write(model: Self.model, to: url, batch: 2, seed: 3)
        let file = try SafeTensorsFile(contentsOf: url)
        let c = SVQConfig.goldenTiny
        let images = Tensor(try file.floats("images"), shape: file.info("images")!.shape)
        let noise = Tensor(try file.floats("noise"), shape: file.info("noise")!.shape)
        let enc = withoutGradients { Self.model.encode(images, noise: noise) }
        XCTAssertEqual(try file.ints("codes").map(Int32.init), enc.codes.values)
        XCTAssertEqual(file.info("codes")!.dtype, .i64)
        XCTAssertEqual(file.info("tokens")!.shape, [2, c.tokensPerImage])
        XCTAssertEqual(file.info("decoder_logits")!.shape, [2, c.tokensPerImage, c.vocabSize])
        XCTAssertEqual(file.info("prior_logits")!.shape, [2, c.codesPerImage, c.globalCodeCount])
        // The greedy tokens are the argmax of the stored step logits (first index on ties), wherever the
        // choice was clear enough for rounding between cached and teacher-forced logits not to matter.
        let logits = try file.floats("decoder_logits"), tokens = try file.ints("tokens")
        let margins = try file.floats("decoder_margins")
        XCTAssertGreaterThan(margins.filter { $0 > 1e-4 }.count, c.tokensPerImage, "too few clear choices to check")
        for row in 0..<(2 * c.tokensPerImage) where margins[row] > 1e-4 {
            let slice = logits[(row * c.vocabSize)..<((row + 1) * c.vocabSize)]
            XCTAssertEqual(tokens[row], slice.firstIndex(of: slice.max()!)! - row * c.vocabSize, "row \(row)")
        }
        XCTAssertThrowsError(try ONNXReference.write(model: Self.model, to: url, batch: 0))
    }
}
