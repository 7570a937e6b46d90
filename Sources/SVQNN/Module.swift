// Modules: objects that own named tensors (parameters and buffers) and other modules.
//
// Names are found by reflection over stored properties, converted to snake_case and joined with dots,
// with arrays of modules indexed: a `Conv2d` stored as `cnn[0].conv` inside `imageEncoder` holds
// `image_encoder.cnn.0.conv.weight`. Those names are the keys of our safetensors weights files.

import SVQEngine

/// Base class of every layer and model.
///
/// Subclasses declare `Tensor` properties (parameters have `requiresGrad = true`; buffers such as EMA
/// statistics have it false) and `Module` properties (or arrays of modules); nothing needs registering.
///
/// ```swift
/// final class MLP: Module {
///     let fc1 = Linear(4, 16), fc2 = Linear(16, 1)
///     func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }
/// }
/// MLP().namedTensors().map(\.name)   // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
/// ```
open class Module {
    public init() {}

    /// Whether dropout and other training-only behaviour are active. Set recursively with `train(_:)`.
    public private(set) var isTraining = true

    /// Switches this module and all its children to training (`true`) or evaluation (`false`) behaviour.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in namedChildren() { child.train(on) }
    }

    /// Direct children, in declaration order, with their snake_case names (array elements as `name.i`).
    open func namedChildren() -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        for (label, value) in reflectedProperties() {
            if let m = value as? Module {
                out.append((label, m))
            } else if let ms = value as? [Module] {
                for (i, m) in ms.enumerated() { out.append(("\(label).\(i)", m)) }
            } else if let opt = value as? Module? , let m = opt {
                out.append((label, m))
            }
        }
        return out
    }

    /// Tensors held directly by this module (not by children), in declaration order.
    open func ownTensors() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (label, value) in reflectedProperties() {
            if let t = value as? Tensor {
                out.append((label, t))
            } else if let opt = value as? Tensor?, let t = opt {
                out.append((label, t))
            } else if let ts = value as? [Tensor] {
                for (i, t) in ts.enumerated() { out.append(("\(label).\(i)", t)) }
            }
        }
        return out
    }

    /// Every tensor of this module and its descendants with its full dotted name: the model's state.
    public func namedTensors(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var out = ownTensors().map { (name: prefix + $0.name, tensor: $0.tensor) }
        for (name, child) in namedChildren() {
            out += child.namedTensors(prefix: prefix + name + ".")
        }
        return out
    }

    /// The trainable tensors (those with `requiresGrad`), with their names.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedTensors().filter { $0.tensor.requiresGrad }
    }

    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Marks every tensor as not requiring gradients: for inference, so no op records a graph.
    public func freeze() {
        for (_, t) in namedTensors() { t.requiresGrad = false }
    }

    public func zeroGrad() {
        for t in parameters() { t.grad = nil }
    }

    private func reflectedProperties() -> [(String, Any)] {
        var props: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var chain: [Mirror] = []
        while let m = mirror { chain.append(m); mirror = m.superclassMirror }
        // Superclass properties first, so names follow declaration order down the hierarchy.
        for m in chain.reversed() {
            for child in m.children {
                guard var label = child.label, label != "isTraining" else { continue }
                if label.hasPrefix("_") { label.removeFirst() }   // lazy / property-wrapper storage
                if label.hasPrefix("$__lazy_storage_$_") { label.removeFirst("$__lazy_storage_$_".count) }
                props.append((snakeCase(label), child.value))
            }
        }
        return props
    }
}

/// `imageEncoder` → `image_encoder`, `projQ` → `proj_q`, `weightIH` → `weight_ih`.
///
/// Cases are read as ASCII (property names are ASCII identifiers; other characters are kept as they are):
/// Unicode case lookups made this a sixth of the time of loading a model, which names every tensor.
public func snakeCase(_ name: String) -> String {
    let chars = Array(name.utf8)
    func upper(_ i: Int) -> Bool { i >= 0 && i < chars.count && chars[i] >= 65 && chars[i] <= 90 }
    func lower(_ i: Int) -> Bool { i >= 0 && i < chars.count && chars[i] >= 97 && chars[i] <= 122 }
    func digit(_ i: Int) -> Bool { i >= 0 && i < chars.count && chars[i] >= 48 && chars[i] <= 57 }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count + 4)
    for (i, c) in chars.enumerated() {
        if upper(i) {
            if i > 0 && (lower(i - 1) || digit(i - 1) || (upper(i - 1) && lower(i + 1))) { out.append(95) }   // "_"
            out.append(c + 32)
        } else {
            out.append(c)
        }
    }
    return String(decoding: out, as: UTF8.self)
}
