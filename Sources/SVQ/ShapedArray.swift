// The arrays the runtime API takes and returns: values in row-major order plus a shape, checked to fit
// when made, so every function can trust `scalars.count == product(shape)`.

/// Values in row-major (C) order with their shape.
///
/// ```swift
/// let images = try ShapedArray(pixels, shape: [1, 64, 64, 3])   // NHWC
/// images.shape      // [1, 64, 64, 3]
/// images.scalars    // pixels
/// ```
public struct ShapedArray<Scalar> {
    /// The size of each axis.
    public let shape: [Int]
    /// Every value, row-major: the last axis varies fastest.
    public let scalars: [Scalar]

    /// Wraps `scalars` with `shape`. Throws `SVQError.shapeMismatch` if a dimension is negative or the
    /// shape's product is not `scalars.count`.
    public init(_ scalars: [Scalar], shape: [Int]) throws {
        guard let n = elementCount(shape) else {
            throw SVQError(.shapeMismatch, "invalid shape \(shape): dimensions must be non-negative and their product must fit in an Int")
        }
        guard n == scalars.count else {
            throw SVQError(.shapeMismatch, "\(scalars.count) values do not fill shape \(shape) (\(n) values)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// For results the library builds itself (the shape is known to fit).
    init(trusted scalars: [Scalar], shape: [Int]) {
        self.shape = shape
        self.scalars = scalars
    }

    /// Number of values.
    public var count: Int { scalars.count }
}

extension ShapedArray: Equatable where Scalar: Equatable {}
extension ShapedArray: Hashable where Scalar: Hashable {}
extension ShapedArray: Sendable where Scalar: Sendable {}

/// The product of `shape`, or nil if a dimension is negative or the product overflows.
@_spi(CAPI) public func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow else { return nil }
        n = p
    }
    return n
}
