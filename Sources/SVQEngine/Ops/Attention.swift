// Scaled dot-product attention as one op: batched GEMMs around a row softmax, with a hand-written backward
// so training does not record the score matrix three times. Attention over a key/value cache, one query
// position at a time, is KeyValueCache.attend (KeyValueCache.swift).

#if canImport(Glibc)
import Glibc
#endif

/// In place: `row[0..<count]` becomes softmax(scale · row), computed stably (the row's maximum is subtracted
/// before exponentiating); entries of −∞ get probability 0. At least one entry must be finite.
///
/// The engine's one row softmax over contiguous scores: attention, attention over a key/value cache and the
/// temperature/top-k sampler all normalise through it.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float) {
    var m = -Float.infinity
    for j in 0..<count { row[j] *= scale; m = max(m, row[j]) }
    var z: Float = 0
    for j in 0..<count { let e = expf(row[j] - m); row[j] = e; z += e }
    let inv = 1 / z
    for j in 0..<count { row[j] *= inv }
}

/// In place: each row of raw scores becomes softmax(scale · row) over its visible keys, zero elsewhere.
/// Row r is query r % queries; with a causal shift it sees keys 0 ... (r % queries) + shift.
@inline(__always)
func scaledSoftmaxRows(_ scores: UnsafeMutablePointer<Float>, rows: Int, queries: Int, keys: Int,
                       causalShift: Int?, scale: Float) {
    parallelItems(rows, costPerItem: keys * 4) { r in
        let row = scores + r * keys
        let visible = causalShift.map { min(keys, r % queries + $0 + 1) } ?? keys
        softmaxRow(row, count: visible, scale: scale)
        for j in visible..<keys { row[j] = 0 }
    }
}

/// softmax(q·kᵀ·scale [+ causal mask])·v over the last two axes.
///
/// - `q`: `[..., Tq, D]`, `k`: `[..., Tk, D]`, `v`: `[..., Tk, Dv]` with equal leading axes (batch, heads).
/// - `causal`: query i may attend to key j only when j ≤ i + (Tk − Tq), so a query block that continues a
///   cached prefix (Tq < Tk) sees the whole prefix and itself.
/// - `scale` defaults to 1/√D.
/// Returns `[..., Tq, Dv]`.
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor,
                                      causal: Bool = false, scale: Float? = nil) -> Tensor {
    precondition(q.rank >= 2 && k.rank == q.rank && v.rank == q.rank, "attention ranks: \(q.shape) \(k.shape) \(v.shape)")
    let lead = Array(q.shape.dropLast(2))
    precondition(Array(k.shape.dropLast(2)) == lead && Array(v.shape.dropLast(2)) == lead,
                 "attention leading axes differ: \(q.shape) \(k.shape) \(v.shape)")
    let tq = q.shape[q.rank - 2], d = q.shape[q.rank - 1]
    let tk = k.shape[k.rank - 2], dv = v.shape[v.rank - 1]
    precondition(k.shape[k.rank - 1] == d && v.shape[v.rank - 2] == tk, "attention sizes: \(q.shape) \(k.shape) \(v.shape)")
    precondition(!causal || tk >= tq, "causal attention needs at least as many keys (\(tk)) as queries (\(tq))")
    let batch = lead.reduce(1, *)
    let alpha = scale ?? 1 / Float(d).squareRoot()
    let shift = tk - tq

    // P = softmax(scale · q·kᵀ) per (batch, head): [batch, Tq, Tk]
    let probs = Tensor(zeros: [batch, tq, tk], zeroed: false)
    gemmBatched(transA: false, transB: true, batch: batch, m: tq, n: tk, k: d,
                a: q.data, aStride: tq * d, b: k.data, bStride: tk * d, c: probs.data, cStride: tq * tk)
    let pp = probs.data
    scaledSoftmaxRows(pp, rows: batch * tq, queries: tq, keys: tk, causalShift: causal ? shift : nil, scale: alpha)
    let out = Tensor(zeros: lead + [tq, dv], zeroed: false)
    gemmBatched(transA: false, transB: false, batch: batch, m: tq, n: dv, k: tk,
                a: probs.data, aStride: tq * tk, b: v.data, bStride: tk * dv, c: out.data, cStride: tq * dv)

    if shouldRecord([q, k, v]) {
        let qd = q.detached(), kd = k.detached(), vd = v.detached()
        record(out, inputs: [q, k, v]) { g in
            // dV = Pᵀ·dO
            let gv = Tensor(zeros: vd.shape, zeroed: false)
            gemmBatched(transA: true, transB: false, batch: batch, m: tk, n: dv, k: tq,
                        a: probs.data, aStride: tq * tk, b: g.data, bStride: tq * dv, c: gv.data, cStride: tk * dv)
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − Σ_j dP⊙P) · scale
            let ds = Tensor(zeros: [batch, tq, tk], zeroed: false)
            gemmBatched(transA: false, transB: true, batch: batch, m: tq, n: tk, k: dv,
                        a: g.data, aStride: tq * dv, b: vd.data, bStride: tk * dv, c: ds.data, cStride: tq * tk)
            let pds = ds.data
            parallelItems(batch * tq, costPerItem: tk * 3) { r in
                let p = pp + r * tk, s = pds + r * tk
                var dot: Float = 0
                for j in 0..<tk { dot += p[j] * s[j] }
                for j in 0..<tk { s[j] = p[j] * (s[j] - dot) * alpha }
            }
            // dQ = dS·K, dK = dSᵀ·Q
            let gq = Tensor(zeros: qd.shape, zeroed: false)
            gemmBatched(transA: false, transB: false, batch: batch, m: tq, n: d, k: tk,
                        a: ds.data, aStride: tq * tk, b: kd.data, bStride: tk * d, c: gq.data, cStride: tq * d)
            let gk = Tensor(zeros: kd.shape, zeroed: false)
            gemmBatched(transA: true, transB: false, batch: batch, m: tk, n: d, k: tq,
                        a: ds.data, aStride: tq * tk, b: qd.data, bStride: tq * d, c: gk.data, cStride: tk * d)
            return [gq, gk, gv]
        }
    }
    return out
}
