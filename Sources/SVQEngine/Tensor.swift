// The float32 tensor every model computation is written in.
//
// A tensor is a row-major, contiguous view (shape + element offset) into reference-counted storage.
// Reshaping and taking a range of the leading axis share storage; everything else copies.
// When gradients are recorded (see `GradMode`), a tensor also remembers the op that produced it.

/// Reference-counted, 64-byte-aligned float32 buffer shared by tensors and their views.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Whether `TensorMemory` counted this buffer (it was tracking when the buffer was made).
    private let counted: Bool

    /// Allocates `count` floats, zero-filled unless `zeroed` is false.
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "negative storage size")
        let raw = TensorMemory.allocate(byteCount: max(count, 1) * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        counted = TensorMemory.enabled
        if counted { TensorMemory.allocated(count * 4) }
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit {
        if counted { TensorMemory.freed(count * 4) }
        TensorMemory.deallocate(UnsafeMutableRawPointer(pointer), byteCount: max(count, 1) * 4)
    }
}

/// A float32 tensor: contiguous row-major data, a shape, and (when recording) its place in the autodiff graph.
///
/// ```swift
/// let x = Tensor([1, 2, 3, 4], shape: [2, 2])
/// let y = (x * x).sum()        // 30
/// ```
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: TensorStorage
    /// Offset of the first element in `storage`, in elements.
    public let offset: Int
    public let count: Int

    /// Whether gradients flow to this tensor. Parameters set it; op outputs inherit it when recording.
    public var requiresGrad: Bool
    /// The accumulated gradient after `backward()`, for tensors with `requiresGrad` and no producing op (leaves).
    public var grad: Tensor?
    /// The recorded op that produced this tensor (nil for leaves and when not recording).
    var node: GradNode?

    public init(storage: TensorStorage, shape: [Int], offset: Int = 0, requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(offset >= 0 && offset + n <= storage.count, "view \(shape)@\(offset) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.count = n
        self.requiresGrad = requiresGrad
    }

    /// A new zero-filled tensor (or uninitialised when `zeroed` is false; callers must write every element).
    public convenience init(zeros shape: [Int], zeroed: Bool = true) {
        self.init(storage: TensorStorage(count: shape.reduce(1, *), zeroed: zeroed), shape: shape)
    }

    /// A tensor holding `values` in row-major order.
    public convenience init(_ values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(zeros: shape, zeroed: false)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { data.update(from: base, count: values.count) }
        }
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(repeating value: Float, shape: [Int]) {
        self.init(zeros: shape, zeroed: false)
        data.initialize(repeating: value, count: count)
    }

    /// A 0-dimensional tensor.
    public convenience init(scalar: Float) {
        self.init([scalar], shape: [])
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(zeros: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// Pointer to the first element. Valid while the tensor (or its storage) is alive.
    @inlinable public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var rank: Int { shape.count }

    /// The values in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() of a tensor with \(count) elements")
        return data[0]
    }

    /// Size of `axis`, which may be negative (counted from the end).
    public func dim(_ axis: Int) -> Int { shape[normalizeAxis(axis, rank: rank)] }

    /// A tensor sharing this one's data, cut from the autodiff graph (the straight-through estimator's stop-gradient).
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape, offset: offset) }

    /// A deep copy with its own storage (not recorded).
    public func copy() -> Tensor {
        let out = Tensor(zeros: shape, zeroed: false)
        out.data.update(from: data, count: count)
        return out
    }

    /// Overwrites this tensor's values with `other`'s (same element count). Not recorded: for parameters and buffers.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    /// Overwrites this tensor's values from an array.
    public func assign(_ values: [Float]) {
        precondition(values.count == count, "assign: \(values.count) values into \(shape)")
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { data.update(from: b, count: count) } }
    }

    // MARK: Views

    /// The same data seen with another shape; one dimension may be -1 (inferred). Recorded.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let resolved = resolveShape(newShape, count: count)
        let out = Tensor(storage: storage, shape: resolved, offset: offset)
        if shouldRecord(self) {
            let inShape = shape
            record(out, inputs: [self]) { g in [g.reshaped(inShape)] }
        }
        return out
    }

    /// Elements `start ..< start+length` of the leading axis, sharing storage. Recorded.
    public func narrowFirst(_ start: Int, _ length: Int) -> Tensor {
        precondition(rank >= 1 && start >= 0 && length >= 0 && start + length <= shape[0],
                     "narrowFirst(\(start), \(length)) of shape \(shape)")
        let inner = count / Swift.max(shape[0], 1)
        var s = shape; s[0] = length
        let out = Tensor(storage: storage, shape: s, offset: offset + start * inner)
        if shouldRecord(self) {
            let full = shape
            record(out, inputs: [self]) { g in
                let gi = Tensor(zeros: full)
                (gi.data + start * inner).update(from: g.data, count: g.count)
                return [gi]
            }
        }
        return out
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

// MARK: - Shape helpers

@inlinable
func normalizeAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}

func resolveShape(_ shape: [Int], count: Int) -> [Int] {
    var out = shape
    let unknown = shape.indices.filter { shape[$0] == -1 }
    precondition(unknown.count <= 1, "reshape: more than one -1 in \(shape)")
    if let u = unknown.first {
        let known = shape.enumerated().filter { $0.offset != u }.map { $0.element }.reduce(1, *)
        precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(shape) for \(count) elements")
        out[u] = count / known
    }
    precondition(out.reduce(1, *) == count, "reshape: \(shape) does not hold \(count) elements")
    return out
}

/// Integer tensor for indices (tokens, codes, class labels).
public struct IntTensor: Equatable, Sendable {
    public var values: [Int32]
    public let shape: [Int]

    public init(_ values: [Int32], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.values = values
        self.shape = shape
    }

    public init(_ values: [Int], shape: [Int]) {
        self.init(values.map { Int32($0) }, shape: shape)
    }

    public init(zeros shape: [Int]) {
        self.init([Int32](repeating: 0, count: shape.reduce(1, *)), shape: shape)
    }

    public var count: Int { values.count }

    public func reshaped(_ newShape: [Int]) -> IntTensor {
        IntTensor(values, shape: resolveShape(newShape, count: values.count))
    }

    public subscript(_ i: Int) -> Int32 {
        get { values[i] }
        set { values[i] = newValue }
    }
}
