// Matrix products: plain, batched over leading axes, and the linear layer, all through cblas_sgemm
// with transposes passed as flags (never materialised).

/// Runs `batch` independent products C_i = op(A_i)·op(B_i). A stride of 0 shares one matrix across the batch.
/// With `accumulate`, every product is added into the same C (used to sum a shared operand's gradient).
func gemmBatched(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, aStride: Int, b: UnsafePointer<Float>, bStride: Int,
                 c: UnsafeMutablePointer<Float>, cStride: Int, accumulate: Bool = false) {
    if accumulate {
        for i in 0..<batch {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * aStride, b: b + i * bStride,
                  beta: 1, c: c)
        }
        return
    }
    // Small products: spread the batch over the cores (OpenBLAS would run each on one thread anyway).
    let flopsEach = m * n * k
    if flopsEach < 96 * 96 * 96 {
        parallelItems(batch, costPerItem: flopsEach / 4) { i in
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * aStride, b: b + i * bStride,
                  c: c + i * cStride)
        }
    } else {
        for i in 0..<batch {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * aStride, b: b + i * bStride,
                  c: c + i * cStride)
        }
    }
}

/// Matrix product over the last two axes.
///
/// `a` is `[..., M, K]` (or `[..., K, M]` with `transposeA`), `b` is `[..., K, N]` (or `[..., N, K]` with
/// `transposeB`). Leading axes must match, or `b` may be a plain matrix shared by the whole batch.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank >= 2, got \(a.shape) and \(b.shape)")
    let aRows = a.shape[a.rank - 2], aCols = a.shape[a.rank - 1]
    let bRows = b.shape[b.rank - 2], bCols = b.shape[b.rank - 1]
    let m = transposeA ? aCols : aRows
    let k = transposeA ? aRows : aCols
    let kB = transposeB ? bCols : bRows
    let n = transposeB ? bRows : bCols
    precondition(k == kB, "matmul inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")")
    let aLead = Array(a.shape.dropLast(2)), bLead = Array(b.shape.dropLast(2))
    let batch = aLead.reduce(1, *)
    let sharedB = b.rank == 2
    precondition(sharedB || aLead == bLead, "matmul batch axes differ: \(a.shape) × \(b.shape)")
    precondition(!(sharedB && transposeA && a.rank > 2), "matmul: a transposed batch against a shared matrix is not supported")

    let out = Tensor(zeros: aLead + [m, n], zeroed: false)
    if sharedB && !transposeA {
        // [batch·M, K] · op(B): one large GEMM instead of many small ones.
        sgemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k, a: a.data, b: b.data, c: out.data)
    } else {
        gemmBatched(transA: transposeA, transB: transposeB, batch: batch, m: m, n: n, k: k,
                    a: a.data, aStride: aRows * aCols, b: b.data, bStride: sharedB ? 0 : bRows * bCols,
                    c: out.data, cStride: m * n)
    }

    if shouldRecord(a, b) {
        let ad = a.detached(), bd = b.detached()
        let aNeeds = a.requiresGrad, bNeeds = b.requiresGrad
        record(out, inputs: [a, b]) { g in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if aNeeds {
                // dA = dC·op(B)ᵀ, laid out like A.
                if !transposeA {
                    ga = matmul(g, bd, transposeA: false, transposeB: !transposeB)
                } else {
                    ga = transposeB ? matmul(bd, g, transposeA: true, transposeB: true)
                                    : matmul(bd, g, transposeA: false, transposeB: true)
                }
            }
            if bNeeds {
                let gbT = Tensor(zeros: b.shape, zeroed: sharedB)
                // dB = op(A)ᵀ·dC, laid out like B; summed over the batch when B is shared.
                let (ta, tb, mm, nn, kk): (Bool, Bool, Int, Int, Int)
                let first: UnsafePointer<Float>, second: UnsafePointer<Float>
                let fStride: Int, sStride: Int
                if !transposeB {
                    // dB[K,N] = op(A)ᵀ[K,M] · dC[M,N]
                    (ta, tb, mm, nn, kk) = (!transposeA, false, k, n, m)
                    first = UnsafePointer(ad.data); fStride = aRows * aCols
                    second = UnsafePointer(g.data); sStride = m * n
                } else {
                    // dB[N,K] = dCᵀ[N,M] · op(A)[M,K]
                    (ta, tb, mm, nn, kk) = (true, transposeA, n, k, m)
                    first = UnsafePointer(g.data); fStride = m * n
                    second = UnsafePointer(ad.data); sStride = aRows * aCols
                }
                if sharedB && !transposeA && !transposeB {
                    sgemm(transA: true, transB: false, m: k, n: n, k: batch * m, a: ad.data, b: g.data, c: gbT.data)
                } else if sharedB && !transposeA && transposeB {
                    sgemm(transA: true, transB: false, m: n, n: k, k: batch * m, a: g.data, b: ad.data, c: gbT.data)
                } else {
                    gemmBatched(transA: ta, transB: tb, batch: batch, m: mm, n: nn, k: kk,
                                a: first, aStride: fStride, b: second, bStride: sStride,
                                c: gbT.data, cStride: sharedB ? 0 : bRows * bCols, accumulate: sharedB)
                }
                gb = gbT
            }
            return [ga, gb]
        }
    }
    return out
}

/// `scale · (x · weightᵀ) + bias` with PyTorch's layout: `weight` is `[out, in]`, `bias` is `[out]`, `x` is
/// `[..., in]`.
///
/// One GEMM does it all: the bias is written into the output first and the product added onto it, and the
/// scale rides on the GEMM's alpha — no extra pass over the output and no temporary.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, scale: Float = 1) -> Tensor {
    precondition(weight.rank == 2 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) does not match weight \(weight.shape)")
    let (outF, inF) = (weight.shape[0], weight.shape[1])
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) is not [\(outF)]") }
    let rows = inF == 0 ? x.count : x.count / inF
    let y = Tensor(zeros: Array(x.shape.dropLast()) + [outF], zeroed: false)
    if let bias {
        let b = bias.data, out = y.data
        parallelItems(rows, costPerItem: outF) { r in (out + r * outF).update(from: b, count: outF) }
    }
    sgemm(transB: true, m: rows, n: outF, k: inF, alpha: scale, a: x.data, b: weight.data,
          beta: bias == nil ? 0 : 1, c: y.data)

    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    if shouldRecord(inputs) {
        let xd = x.detached(), wd = weight.detached()
        let needs = inputs.map(\.requiresGrad)
        record(y, inputs: inputs) { g in
            var grads: [Tensor?] = [nil, nil, nil]
            if needs[0] {   // dx = scale · g · W
                let gx = Tensor(zeros: x.shape, zeroed: false)
                sgemm(m: rows, n: inF, k: outF, alpha: scale, a: g.data, b: wd.data, c: gx.data)
                grads[0] = gx
            }
            if needs[1] {   // dW = scale · gᵀ · x
                let gw = Tensor(zeros: weight.shape, zeroed: false)
                sgemm(transA: true, m: outF, n: inF, k: rows, alpha: scale, a: g.data, b: xd.data, c: gw.data)
                grads[1] = gw
            }
            if needs.count > 2 && needs[2] {   // db = column sums of g
                let gb = Tensor(zeros: [outF])
                let src = g.data, dst = gb.data
                parallelItems(outF, costPerItem: rows) { o in
                    var total = 0.0
                    for r in 0..<rows { total += Double(src[r * outF + o]) }
                    dst[o] = Float(total)
                }
                grads[2] = gb
            }
            return Array(grads.prefix(inputs.count))
        }
    }
    return y
}
