// A small DSL over the generated ONNX protobuf types (onnx.pb.swift): add inputs, nodes, initializers
// and outputs by name, then take the finished ModelProto. Every exported graph is written with it.

import Foundation
import SVQEngine

/// The ONNX version the graphs target: opset 17 (LayerNormalization is in it) and IR version 8, the newest
/// the bundled schema (ONNX 1.12) describes; every current runtime reads both.
public enum ONNXVersion {
    public static let opset: Int64 = 17
    public static let irVersion: Int64 = 8
}

/// One dimension of a declared input or output: a fixed size or a symbolic name such as "batch".
public enum ONNXDim: Equatable, Sendable, CustomStringConvertible {
    case fixed(Int)
    case symbolic(String)

    /// The dynamic batch axis every graph shares.
    public static let batch = ONNXDim.symbolic("batch")

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbolic(let s): return s
        }
    }
}

/// Element types the graphs use.
public enum ONNXElementType: Sendable, CustomStringConvertible {
    case float32, int64

    var code: Int32 {
        switch self {
        case .float32: return Int32(Onnx_TensorProto.DataType.float.rawValue)
        case .int64: return Int32(Onnx_TensorProto.DataType.int64.rawValue)
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .int64: return "int64"
        }
    }
}

/// A declared graph input or output, for documentation and tests.
public struct ONNXValueSpec: Sendable, CustomStringConvertible {
    public let name: String
    public let type: ONNXElementType
    public let shape: [ONNXDim]
    public let doc: String

    public var description: String {
        "\(name): \(type) [\(shape.map(\.description).joined(separator: ", "))]"
    }
}

/// Attribute values of a node.
enum ONNXAttribute {
    case int(Int)
    case ints([Int])
    case float(Float)
    case string(String)
}

/// Builds one ONNX graph. Values are referred to by name (`String`); `op` invents unique names for node
/// outputs. Weights become initializers named as in our weights files (docs/weights.md), found through
/// `weightNames`, so a graph's tensors can be traced back to the file they came from.
final class GraphBuilder {
    let graphName: String
    private var nodes: [Onnx_NodeProto] = []
    private var initializers: [Onnx_TensorProto] = []
    private var inputs: [Onnx_ValueInfoProto] = []
    private var outputs: [Onnx_ValueInfoProto] = []
    private(set) var inputSpecs: [ONNXValueSpec] = []
    private(set) var outputSpecs: [ONNXValueSpec] = []
    private var usedNames: Set<String> = []
    private var counters: [String: Int] = [:]
    /// Our weights-file name of every tensor of the model, by object identity.
    private let weightNames: [ObjectIdentifier: String]
    /// Tensors already added as initializers (each once, however often it is used).
    private var addedWeights: [ObjectIdentifier: String] = [:]
    /// Constants already added, by content, so repeated shapes and scalars are shared.
    private var addedConstants: [String: String] = [:]

    init(name: String, weightNames: [ObjectIdentifier: String]) {
        graphName = name
        self.weightNames = weightNames
    }

    // MARK: Names

    /// A name not used yet in this graph, derived from `hint`.
    func freshName(_ hint: String) -> String {
        var n = counters[hint, default: 0]
        var name = n == 0 ? hint : "\(hint)_\(n)"
        while usedNames.contains(name) { n += 1; name = "\(hint)_\(n)" }
        counters[hint] = n + 1
        usedNames.insert(name)
        return name
    }

    private func claim(_ name: String) {
        precondition(!usedNames.contains(name), "ONNX graph \(graphName): the name \(name) is used twice")
        usedNames.insert(name)
    }

    // MARK: Inputs and outputs

    /// Declares a graph input and returns its name.
    @discardableResult
    func input(_ name: String, _ type: ONNXElementType, _ shape: [ONNXDim], doc: String) -> String {
        claim(name)
        inputs.append(valueInfo(name, type, shape, doc: doc))
        inputSpecs.append(ONNXValueSpec(name: name, type: type, shape: shape, doc: doc))
        return name
    }

    /// Declares `value` as the graph output `name` (through an Identity node, which runtimes remove).
    func output(_ value: String, as name: String, _ type: ONNXElementType, _ shape: [ONNXDim], doc: String) {
        claim(name)
        nodes.append(makeNode("Identity", [value], [name], attributes: [:]))
        outputs.append(valueInfo(name, type, shape, doc: doc))
        outputSpecs.append(ONNXValueSpec(name: name, type: type, shape: shape, doc: doc))
    }

    /// The `present_keys` and `present_values` outputs of a cached step graph: each layer's keys (values)
    /// `[B, H, present_length, hd]` with this position appended, stacked over the layers.
    func outputPresentCache(keys: [String], values: [String], layers: Int, heads: Int, headDim: Int) {
        let shape: [ONNXDim] = [.fixed(layers), .batch, .fixed(heads), .symbolic("present_length"), .fixed(headDim)]
        output(concat(keys, axis: 0), as: "present_keys", .float32, shape,
               doc: "past_keys with this position appended (present_length = past_length + 1)")
        output(concat(values, axis: 0), as: "present_values", .float32, shape,
               doc: "past_values with this position appended")
    }

    private func valueInfo(_ name: String, _ type: ONNXElementType, _ shape: [ONNXDim], doc: String) -> Onnx_ValueInfoProto {
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = type.code
        var shapeProto = Onnx_TensorShapeProto()   // set even when empty: rank 0 is a known shape
        shapeProto.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let n): dim.dimValue = Int64(n)
            case .symbolic(let s): dim.dimParam = s
            }
            return dim
        }
        tensorType.shape = shapeProto
        var typeProto = Onnx_TypeProto()
        typeProto.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = typeProto
        info.docString = doc
        return info
    }

    // MARK: Nodes

    /// Adds a node and returns its `outputs` output names.
    @discardableResult
    func op(_ type: String, _ inputs: [String], outputs count: Int = 1,
            _ attributes: [String: ONNXAttribute] = [:]) -> [String] {
        let outs = (0..<count).map { _ in freshName(type.lowercased()) }
        nodes.append(makeNode(type, inputs, outs, attributes: attributes))
        return outs
    }

    /// A node with one output.
    func op1(_ type: String, _ inputs: String..., attributes: [String: ONNXAttribute] = [:]) -> String {
        op(type, inputs, outputs: 1, attributes)[0]
    }

    private func makeNode(_ type: String, _ inputs: [String], _ outputs: [String],
                          attributes: [String: ONNXAttribute]) -> Onnx_NodeProto {
        Onnx_NodeProto.with { node in
            node.opType = type
            node.name = "\(type)_\(nodes.count)"
            node.input = inputs
            node.output = outputs
            // Sorted so the same graph always serialises to the same bytes.
            node.attribute = attributes.sorted { $0.key < $1.key }.map { key, value in
                Onnx_AttributeProto.with { a in
                    a.name = key
                    switch value {
                    case .int(let v): a.type = .int; a.i = Int64(v)
                    case .ints(let v): a.type = .ints; a.ints = v.map(Int64.init)
                    case .float(let v): a.type = .float; a.f = v
                    case .string(let v): a.type = .string; a.s = Data(v.utf8)
                    }
                }
            }
        }
    }

    // MARK: Initializers

    /// The model tensor `t` as an initializer named as in our weights file (added once per graph).
    func weight(_ t: Tensor) -> String {
        let id = ObjectIdentifier(t)
        if let name = addedWeights[id] { return name }
        let name: String
        if let wanted = weightNames[id], !usedNames.contains(wanted) {
            name = wanted
            usedNames.insert(wanted)
        } else {
            // A tensor outside the model (should not happen) still exports, under a generated name.
            name = freshName(weightNames[id] ?? "tensor")
        }
        initializers.append(floatTensor(name, t.scalars, t.shape))
        addedWeights[id] = name
        return name
    }

    /// A float32 constant initializer (shared with identical constants).
    func constant(_ values: [Float], shape: [Int], hint: String = "const") -> String {
        let key = "f32 \(shape) \(values.map { $0.bitPattern })"
        if let name = addedConstants[key] { return name }
        let name = freshName(hint)
        initializers.append(floatTensor(name, values, shape))
        addedConstants[key] = name
        return name
    }

    /// A float32 scalar constant.
    func scalar(_ v: Float) -> String { constant([v], shape: [], hint: "scalar") }

    /// An int64 constant initializer (shapes, axes, indices), shared with identical constants.
    func int64s(_ values: [Int], shape: [Int]? = nil, hint: String = "ints") -> String {
        let dims = shape ?? [values.count]
        let key = "i64 \(dims) \(values)"
        if let name = addedConstants[key] { return name }
        let name = freshName(hint)
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXElementType.int64.code
        t.dims = dims.map(Int64.init)
        var bytes = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
        t.rawData = bytes
        initializers.append(t)
        addedConstants[key] = name
        return name
    }

    /// An int64 scalar constant.
    func int64(_ v: Int) -> String { int64s([v], shape: [], hint: "index") }

    private func floatTensor(_ name: String, _ values: [Float], _ shape: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXElementType.float32.code
        t.dims = shape.map(Int64.init)
        // raw_data is little-endian by the ONNX spec, whatever the host.
        var bytes = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        t.rawData = bytes
        return t
    }

    // MARK: The model

    /// The finished model: this graph, opset 17 of the default domain, and `metadata` as metadata_props.
    func model(doc: String, metadata: [String: String]) -> Onnx_ModelProto {
        Onnx_ModelProto.with { model in
            model.irVersion = ONNXVersion.irVersion
            model.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = ONNXVersion.opset }]
            model.producerName = "svq"
            model.producerVersion = "1"
            model.docString = doc
            model.graph = Onnx_GraphProto.with { graph in
                graph.name = graphName
                graph.docString = doc
                graph.node = nodes
                graph.initializer = initializers
                graph.input = inputs
                graph.output = outputs
            }
            // Sorted so the same metadata always serialises to the same bytes.
            model.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
                Onnx_StringStringEntryProto.with { $0.key = key; $0.value = value }
            }
        }
    }
}
