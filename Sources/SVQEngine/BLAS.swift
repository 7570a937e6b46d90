// Thin, typed wrappers over OpenBLAS's cblas_sgemm, the only place the engine calls BLAS directly.

import COpenBLAS

/// C = alpha · op(A) · op(B) + beta · C, all row-major. `m×k` is op(A), `k×n` is op(B), `m×n` is C.
/// Leading dimensions default to the packed row lengths.
@inlinable
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
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(lda ?? (transA ? m : k)),
                b, Int32(ldb ?? (transB ? k : n)),
                beta, c, Int32(ldc ?? n))
}

/// Public access to the raw GEMM, for benchmarks that compare against the engine's own kernels.
public enum BLAS {
    /// Row-major C = A·B for packed m×k and k×n matrices.
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        SVQEngine.sgemm(m: m, n: n, k: k, a: a, b: b, c: c)
    }
}
