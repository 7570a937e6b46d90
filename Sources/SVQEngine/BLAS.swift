// Thin, typed wrappers over OpenBLAS (cblas_sgemm, cblas_saxpy), the only place the engine calls BLAS directly.

import COpenBLAS

/// C = alpha · op(A) · op(B) + beta · C, all row-major. `m×k` is op(A), `k×n` is op(B), `m×n` is C.
/// Leading dimensions default to the packed row lengths. Large products are split across the engine's threads.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
           b: UnsafePointer<Float>, ldb: Int? = nil,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C scaled by beta; make that explicit for the empty product.
        let ldcV = ldc ?? n
        for i in 0..<m { for j in 0..<n { c[i * ldcV + j] = beta == 0 ? 0 : beta * c[i * ldcV + j] } }
        return
    }
    let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
    _ = Engine.singleThreadedBLAS
    let workers = Engine.threadCount
    let pieces = min(workers, max(m, n) / gemmMinPiece)
    if pieces < 2 || m * n * k < gemmParallelWork || ParallelRegion.isInside {
        cblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    // Split the larger side of C into equal pieces (multiples of 16, the kernels' tile): every element of C is
    // still one dot product over all of k. Not always bit for bit one call's result: OpenBLAS may choose
    // other kernels for narrower pieces. Results depend on the thread count only through that choice.
    let side = max(m, n)
    let per = ((side + pieces - 1) / pieces + 15) & ~15
    ParallelRegion.perform((side + per - 1) / per) { p in
        let lo = p * per, len = min(per, side - lo)
        if n >= m {   // columns j0..<j0+len of op(B) and C
            cblasSgemm(transA, transB, m, len, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
        } else {      // rows of op(A) and C
            cblasSgemm(transA, transB, len, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
        }
    }
}

/// Products smaller than this many multiply-adds run on one thread (OpenBLAS's own threshold is similar).
let gemmParallelWork = 1 << 18
/// The narrowest piece a product is split into.
let gemmMinPiece = 32

func cblasSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// y += alpha · x over `n` floats.
func saxpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    if n > 0 { cblas_saxpy(Int32(n), alpha, x, 1, y, 1) }
}

/// Public access to the raw GEMM, for benchmarks that compare against the engine's own kernels.
public enum BLAS {
    /// Row-major C = A·B for packed m×k and k×n matrices.
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        SVQEngine.sgemm(m: m, n: n, k: k, a: a, b: b, c: c)
    }
}
