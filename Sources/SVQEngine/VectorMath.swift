// Reductions over contiguous rows with SIMD partial sums.
//
// Why: a plain `for j in 0..<n { s += x[j] }` is one serial chain of dependent adds, because the compiler
// must keep IEEE order; at ~4 cycles per add a 64-wide row costs ~250 cycles per pass. Sixteen independent
// lanes make the same reduction memory-bound. The order of additions differs from the serial loop, so
// results can differ in the last bits.

@inlinable @inline(__always)
func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
}

/// Σ x[j] for j < n.
@inline(__always)
func vectorSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        a += load8(x, i)
        b += load8(x, i + 8)
        i += 16
    }
    if i + 8 <= n { a += load8(x, i); i += 8 }
    var total = (a + b).sum()
    while i < n { total += x[i]; i += 1 }
    return total
}

/// Σ (x[j] − c)² for j < n.
@inline(__always)
func vectorSumOfSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, from c: Float) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    let cv = SIMD8<Float>(repeating: c)
    var i = 0
    while i + 16 <= n {
        let u = load8(x, i) - cv, v = load8(x, i + 8) - cv
        a += u * u
        b += v * v
        i += 16
    }
    if i + 8 <= n { let u = load8(x, i) - cv; a += u * u; i += 8 }
    var total = (a + b).sum()
    while i < n { let t = x[i] - c; total += t * t; i += 1 }
    return total
}

/// Σ x[j]·y[j] for j < n (public: the prior's cached attention uses it).
@inlinable @inline(__always)
public func vectorDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = SIMD8<Float>(), b = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        a += load8(x, i) * load8(y, i)
        b += load8(x, i + 8) * load8(y, i + 8)
        i += 16
    }
    if i + 8 <= n { a += load8(x, i) * load8(y, i); i += 8 }
    var total = (a + b).sum()
    while i < n { total += x[i] * y[i]; i += 1 }
    return total
}
