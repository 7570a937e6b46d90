// Elementwise arithmetic with NumPy broadcasting, unary math, and the reductions their gradients need.

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Broadcasting

/// The NumPy broadcast of two shapes (aligned on the right; a dimension of 1 stretches).
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Element strides for reading a tensor of `shape` as if broadcast to `out` (0 along stretched axes).
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
    let pad = out.count - shape.count
    var strides = [Int](repeating: 0, count: out.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i + pad] = shape[i] == 1 ? 0 : s
        s *= shape[i]
    }
    return strides
}

/// Visits `outShape` row by row (the last axis is the row), giving each row's start offsets in two strided
/// sources. Rows are spread over the cores.
@inline(__always)
func forEachBroadcastRow(_ outShape: [Int], _ sa: [Int], _ sb: [Int],
                         _ body: (_ row: Int, _ offA: Int, _ offB: Int) -> Void) {
    let r = outShape.count
    let cols = r == 0 ? 1 : outShape[r - 1]
    let rows = cols == 0 ? 0 : outShape.reduce(1, *) / cols
    parallelChunks(rows, grain: max(1, parallelGrain / max(cols, 1))) { lo, hi in
        for row in lo..<hi {
            var rem = row, offA = 0, offB = 0
            var axis = r - 2
            while axis >= 0 {
                let d = outShape[axis]
                let idx = rem % d
                rem /= d
                offA += idx * sa[axis]
                offB += idx * sb[axis]
                axis -= 1
            }
            body(row, offA, offB)
        }
    }
}

/// out = f(a, b) with broadcasting. Fast paths for equal shapes, scalars and trailing-suffix operands (biases).
@inline(__always)
func broadcastBinary<F: BinaryKernel>(_ a: Tensor, _ b: Tensor, _ f: F) -> Tensor {
    let pa = a.data, pb = b.data
    if a.shape == b.shape {
        let out = Tensor(zeros: a.shape, zeroed: false)
        let po = out.data
        parallelChunks(a.count) { lo, hi in for i in lo..<hi { po[i] = f(pa[i], pb[i]) } }
        return out
    }
    let shape = broadcastShape(a.shape, b.shape)
    let out = Tensor(zeros: shape, zeroed: false)
    let po = out.data
    let n = out.count
    if b.count == 1 && shape == a.shape {
        let s = pb[0]
        parallelChunks(n) { lo, hi in for i in lo..<hi { po[i] = f(pa[i], s) } }
        return out
    }
    if a.count == 1 && shape == b.shape {
        let s = pa[0]
        parallelChunks(n) { lo, hi in for i in lo..<hi { po[i] = f(s, pb[i]) } }
        return out
    }
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    let cols = shape.last ?? 1
    let ca = sa.last ?? 0, cb = sb.last ?? 0
    forEachBroadcastRow(shape, sa, sb) { row, offA, offB in
        let o = po + row * cols
        let x = pa + offA, y = pb + offB
        if ca == 1 && cb == 1 {
            for j in 0..<cols { o[j] = f(x[j], y[j]) }
        } else if ca == 1 {
            let v = y[0]
            for j in 0..<cols { o[j] = f(x[j], v) }
        } else if cb == 1 {
            let u = x[0]
            for j in 0..<cols { o[j] = f(u, y[j]) }
        } else {
            let u = x[0], v = y[0]
            for j in 0..<cols { o[j] = f(u, v) }
        }
    }
    return out
}

/// Sums `g` down to `shape` (undoing a broadcast), as the gradient of a broadcast operand.
public func sumToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    let pad = g.rank - shape.count
    precondition(pad >= 0, "sumToShape: \(g.shape) cannot reduce to \(shape)")
    var axes: [Int] = Array(0..<pad)
    for (i, d) in shape.enumerated() where d == 1 && g.shape[i + pad] != 1 { axes.append(i + pad) }
    return g.sum(axes: axes, keepDims: true).reshaped(shape)
}

// MARK: - Kernels

// Elementwise functions are types, not closures: the loops are generic over them, so each specialisation
// inlines the function into its loop (and vectorises it). A closure value captured by a parallel loop's
// body stays an indirect call per element — 1–2 ns each, most of a ReLU's time.

/// f(a, b) for broadcasting binary operations.
@usableFromInline protocol BinaryKernel {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// y = f(x) and its derivative dy/dx given x and y.
@usableFromInline protocol UnaryKernel {
    func callAsFunction(_ x: Float) -> Float
    func derivative(_ x: Float, _ y: Float) -> Float
}

enum Kernels {
    struct Add: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
    struct Subtract: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
    struct Multiply: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
    struct Divide: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
    struct Maximum: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { Swift.max(a, b) } }
    /// 1 where a ≥ b (the gradient mask of `maximum`), else 0.
    struct FirstIsLarger: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a >= b ? 1 : 0 } }

    struct AddScalar: UnaryKernel {
        let s: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x + s }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 }
    }
    struct SubtractFromScalar: UnaryKernel {
        let s: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { s - x }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { -1 }
    }
    struct Scale: UnaryKernel {
        let s: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x * s }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { s }
    }
    struct Exp: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { expf(x) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { y }
    }
    struct Log: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { logf(x) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 / x }
    }
    struct ReLU: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : 0 }
    }
    struct Sigmoid: UnaryKernel {
        // Two branches so that exp never overflows.
        @inline(__always) func callAsFunction(_ x: Float) -> Float {
            x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
        }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { y * (1 - y) }
    }
    struct Tanh: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { tanhf(x) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 1 - y * y }
    }
    /// x·σ(x) (swish, PyTorch's SiLU); σ from the overflow-safe `Sigmoid`.
    struct Swish: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x * Sigmoid()(x) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
            let s = Sigmoid()(x)
            return s * (1 + x * (1 - s))
        }
    }
    /// The exact GELU, x·Φ(x) with Φ through erf (PyTorch's `nn.GELU()` default, not the tanh approximation).
    struct GELU: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
        /// Φ(x) + x·φ(x).
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
            0.5 * (1 + erff(x * 0.70710678118654752)) + x * 0.39894228040143268 * expf(-0.5 * x * x)
        }
    }
    /// |x|; the gradient at 0 is 0, as PyTorch's sign.
    struct Abs: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    }
    struct SquareRoot: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 0.5 / y }
    }
    struct Square: UnaryKernel {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { 2 * x }
    }
    struct Power: UnaryKernel {
        let p: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { powf(x, p) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { p * powf(x, p - 1) }
    }
    struct Clamp: UnaryKernel {
        let lo: Float, hi: Float
        @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, lo), hi) }
        @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float { x >= lo && x <= hi ? 1 : 0 }
    }
}

// MARK: - Binary arithmetic

public func + (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastBinary(a, b, Kernels.Add())
    if shouldRecord(a, b) {
        let sa = a.shape, sb = b.shape
        record(out, inputs: [a, b]) { g in [sumToShape(g, sa), sumToShape(g, sb)] }
    }
    return out
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastBinary(a, b, Kernels.Subtract())
    if shouldRecord(a, b) {
        let sa = a.shape, sb = b.shape
        record(out, inputs: [a, b]) { g in [sumToShape(g, sa), sumToShape(-g, sb)] }
    }
    return out
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastBinary(a, b, Kernels.Multiply())
    if shouldRecord(a, b) {
        let ad = a.detached(), bd = b.detached()
        let needA = a.requiresGrad, needB = b.requiresGrad
        record(out, inputs: [a, b]) { g in
            [needA ? sumToShape(g * bd, ad.shape) : nil, needB ? sumToShape(g * ad, bd.shape) : nil]
        }
    }
    return out
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastBinary(a, b, Kernels.Divide())
    if shouldRecord(a, b) {
        let ad = a.detached(), bd = b.detached()
        let needA = a.requiresGrad, needB = b.requiresGrad
        record(out, inputs: [a, b]) { g in
            let ga = needA ? sumToShape(g / bd, ad.shape) : nil
            let gb = needB ? sumToShape(-(g * ad) / (bd * bd), bd.shape) : nil
            return [ga, gb]
        }
    }
    return out
}

public func + (a: Tensor, s: Float) -> Tensor { a.mapRecorded(Kernels.AddScalar(s: s)) }
public func + (s: Float, a: Tensor) -> Tensor { a + s }
public func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
public func - (s: Float, a: Tensor) -> Tensor { a.mapRecorded(Kernels.SubtractFromScalar(s: s)) }
public func * (a: Tensor, s: Float) -> Tensor { a.mapRecorded(Kernels.Scale(s: s)) }
public func * (s: Float, a: Tensor) -> Tensor { a * s }
public func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
public prefix func - (a: Tensor) -> Tensor { a * -1 }

/// Elementwise maximum of two tensors (broadcast); the gradient goes to the larger (to `a` on ties).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let out = broadcastBinary(a, b, Kernels.Maximum())
    if shouldRecord(a, b) {
        let ad = a.detached(), bd = b.detached()
        record(out, inputs: [a, b]) { g in
            let takeA = broadcastBinary(ad, bd, Kernels.FirstIsLarger())
            return [sumToShape(g * takeA, ad.shape), sumToShape(g * (1 - takeA), bd.shape)]
        }
    }
    return out
}

// MARK: - Unary math

extension Tensor {
    /// y = f(x) elementwise; when recorded, dy/dx = f.derivative(x, y).
    @inline(__always)
    func mapRecorded<F: UnaryKernel>(_ f: F) -> Tensor {
        let out = Tensor(zeros: shape, zeroed: false)
        let pi = data, po = out.data
        parallelChunks(count) { lo, hi in for i in lo..<hi { po[i] = f(pi[i]) } }
        if shouldRecord(self) {
            let xd = detached(), yd = out.detached()
            record(out, inputs: [self]) { g in
                let gi = Tensor(zeros: xd.shape, zeroed: false)
                let px = xd.data, py = yd.data, pg = g.data, pr = gi.data
                parallelChunks(gi.count) { lo, hi in for i in lo..<hi { pr[i] = pg[i] * f.derivative(px[i], py[i]) } }
                return [gi]
            }
        }
        return out
    }

    /// Applies `f` elementwise without recording (for values that carry no gradient).
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(zeros: shape, zeroed: false)
        let pi = data, po = out.data
        parallelChunks(count) { lo, hi in for i in lo..<hi { po[i] = f(pi[i]) } }
        return out
    }

    public func exp() -> Tensor { mapRecorded(Kernels.Exp()) }
    public func log() -> Tensor { mapRecorded(Kernels.Log()) }
    public func relu() -> Tensor { mapRecorded(Kernels.ReLU()) }
    public func sigmoid() -> Tensor { mapRecorded(Kernels.Sigmoid()) }
    public func tanh() -> Tensor { mapRecorded(Kernels.Tanh()) }
    /// x·σ(x): swish (SiLU), the taming-transformers nonlinearity.
    public func swish() -> Tensor { mapRecorded(Kernels.Swish()) }
    /// The exact GELU, 0.5·x·(1 + erf(x/√2)), as `torch.nn.GELU()`.
    public func gelu() -> Tensor { mapRecorded(Kernels.GELU()) }
    public func abs() -> Tensor { mapRecorded(Kernels.Abs()) }
    public func sqrt() -> Tensor { mapRecorded(Kernels.SquareRoot()) }
    public func square() -> Tensor { mapRecorded(Kernels.Square()) }
    public func pow(_ p: Float) -> Tensor { mapRecorded(Kernels.Power(p: p)) }
    /// Clamps to [lo, hi]; the gradient is zero outside the range.
    public func clamped(min lo: Float, max hi: Float) -> Tensor { mapRecorded(Kernels.Clamp(lo: lo, hi: hi)) }
}


// MARK: - Reductions

/// Splits `shape` around `axis` into (outer, n, inner) for single-axis loops.
@inline(__always)
func splitAround(_ shape: [Int], _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    return (outer, shape[axis], inner)
}

extension Tensor {
    /// Sum of all elements, as a 0-d tensor.
    public func sum() -> Tensor {
        var total: Double = 0
        let p = data
        for i in 0..<count { total += Double(p[i]) }
        let out = Tensor(scalar: Float(total))
        if shouldRecord(self) {
            let s = shape
            record(out, inputs: [self]) { g in [Tensor(repeating: g.item(), shape: s)] }
        }
        return out
    }

    /// Mean of all elements, as a 0-d tensor.
    public func mean() -> Tensor { sum() / Float(Swift.max(count, 1)) }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        let (outer, n, inner) = splitAround(shape, ax)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let out = Tensor(zeros: outShape)
        let pi = data, po = out.data
        parallelItems(outer, costPerItem: n * inner) { o in
            let src = pi + o * n * inner, dst = po + o * inner
            for k in 0..<n {
                let row = src + k * inner
                for j in 0..<inner { dst[j] += row[j] }
            }
        }
        if shouldRecord(self) {
            var kept = shape; kept[ax] = 1
            let full = shape
            record(out, inputs: [self]) { g in [g.reshaped(kept).expanded(to: full)] }
        }
        return out
    }

    /// Sum over several axes.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let sorted = Set(axes.map { normalizeAxis($0, rank: rank) }).sorted(by: >)
        var t = self
        for ax in sorted { t = t.sum(axis: ax, keepDims: true) }
        if keepDims { return t }
        let outShape = shape.enumerated().filter { !sorted.contains($0.offset) }.map { $0.element }
        return t.reshaped(outShape)
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        sum(axis: axis, keepDims: keepDims) / Float(Swift.max(dim(axis), 1))
    }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = Set(axes.map { normalizeAxis($0, rank: rank) }).map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) / Float(Swift.max(n, 1))
    }

    /// Largest value along an axis (not recorded: used for numerics such as stable softmax).
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        let (outer, n, inner) = splitAround(shape, ax)
        var outShape = shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let out = Tensor(repeating: -.infinity, shape: outShape)
        let pi = data, po = out.data
        for o in 0..<outer {
            for k in 0..<n {
                let row = pi + (o * n + k) * inner
                for j in 0..<inner where row[j] > po[o * inner + j] { po[o * inner + j] = row[j] }
            }
        }
        return out
    }

    /// Copies this tensor broadcast to `shape` (NumPy rules). Recorded; the gradient sums back.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let outShape = broadcastShape(shape, target)
        precondition(outShape == target, "cannot expand \(shape) to \(target)")
        let out = Tensor(zeros: target, zeroed: false)
        let sa = broadcastStrides(shape, to: target)
        let cols = target.last ?? 1
        let ca = sa.last ?? 0
        let pi = data, po = out.data
        forEachBroadcastRow(target, sa, sa) { row, off, _ in
            let o = po + row * cols
            if ca == 1 { o.update(from: pi + off, count: cols) } else { o.update(repeating: pi[off], count: cols) }
        }
        if shouldRecord(self) {
            let s = shape
            record(out, inputs: [self]) { g in [sumToShape(g, s)] }
        }
        return out
    }
}
