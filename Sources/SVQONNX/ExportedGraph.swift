// One exported ONNX graph: its model proto and the declared inputs and outputs (for docs, the manifest
// and tests).

import Foundation
import SVQModels
import SwiftProtobuf

/// An ONNX model built from an SVQ model, ready to serialise.
public struct ExportedGraph {
    /// The graph's name; the file is `name + ".onnx"`.
    public let name: String
    public let model: Onnx_ModelProto
    public let inputs: [ONNXValueSpec]
    public let outputs: [ONNXValueSpec]

    public var fileName: String { name + ".onnx" }

    /// Protobuf messages cannot exceed 2 GiB; larger models would need ONNX external data, which is not
    /// implemented (the largest preset, `official`, is far below it).
    public static let maximumBytes = Int(Int32.max)

    /// The model in the ONNX protobuf wire format.
    public func serialized() throws -> Data {
        let weightBytes = model.graph.initializer.reduce(0) { $0 + $1.rawData.count }
        guard weightBytes < Self.maximumBytes - (1 << 20) else {
            throw ONNXExportError("\(fileName) would hold \(weightBytes) bytes of weights, more than one protobuf file can (2 GiB); external data is not supported")
        }
        return try model.serializedData()
    }

    /// Wraps a finished builder.
    init(_ builder: GraphBuilder, doc: String, config: SVQConfig) {
        name = builder.graphName
        inputs = builder.inputSpecs
        outputs = builder.outputSpecs
        model = builder.model(doc: doc, metadata: [
            "svq.graph": builder.graphName,
            "svq.config": ExportedGraph.configJSON(config),
            "svq.weights_format_version": SVQModel.formatVersion,
        ])
    }

    /// The config as our weights files store it (sorted-key JSON).
    static func configJSON(_ config: SVQConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
    }
}
