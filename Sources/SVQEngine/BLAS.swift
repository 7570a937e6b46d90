// Thin, typed wrappers over OpenBLAS (cblas_sgemm, cblas_sgemv, cblas_saxpy), the only place the engine calls BLAS directly.

import COpenBLAS
import Glibc

/// C = alpha · op(A) · op(B) + beta · C, all row-major. `m×k` is op(A), `k×n` is op(B), `m×n` is C.
/// Leading dimensions default to the packed row lengths. Large products are cut into pieces
/// (`gemmPieces`) that run across the engine's threads.
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
    let pieces = gemmPieces(m: m, n: n, k: k)
    if pieces == 1 {
        cblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    // The larger side of C in equal pieces (multiples of 16, the kernels' tile): every element of C is still
    // one dot product over all of k. The pieces depend on the shape alone, never on the thread count: OpenBLAS
    // may sum a narrower piece in another order (another kernel), so a split that followed the thread count
    // made results depend on it (masks by up to 2e-6 with its Haswell kernels). On one thread, or inside a
    // parallel loop, the same pieces run one after the other.
    let side = max(m, n)
    let per = ((side + pieces - 1) / pieces + 15) & ~15
    let count = (side + per - 1) / per
    func piece(_ p: Int) {
        let lo = p * per, len = min(per, side - lo)
        if n >= m {   // columns j0..<j0+len of op(B) and C
            cblasSgemm(transA, transB, m, len, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
        } else {      // rows of op(A) and C
            cblasSgemm(transA, transB, len, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
        }
    }
    if Engine.threadCount == 1 || ParallelRegion.isInside {
        for p in 0..<count { piece(p) }
    } else {
        ParallelRegion.perform(count, piece)
    }
}

/// How many pieces `sgemm` cuts an m×n×k product into: 1 below `gemmParallelWork` multiply-adds, else the
/// largest power of two up to `gemmMaxPieces` that leaves each piece `gemmMinPiece` rows or columns and
/// `gemmPieceWork` multiply-adds. Powers of two, so that 2, 4, 8 and 16 threads share the pieces evenly.
func gemmPieces(m: Int, n: Int, k: Int) -> Int {
    let work = m * n * k, side = max(m, n)
    guard work >= gemmParallelWork else { return 1 }
    var pieces = 1
    while pieces < gemmMaxPieces && side / (2 * pieces) >= gemmMinPiece && work / (2 * pieces) >= gemmPieceWork {
        pieces *= 2
    }
    return pieces
}

/// Products smaller than this many multiply-adds run as one call (OpenBLAS's own threshold is similar).
let gemmParallelWork = 1 << 18
/// The least work of a piece, in multiply-adds.
let gemmPieceWork = 1 << 17
/// The narrowest piece a product is cut into.
let gemmMinPiece = 32
/// The most pieces: enough for 16 threads, few enough that the per-call cost (OpenBLAS repacks the shared
/// operand for each piece) stays small.
let gemmMaxPieces = 16

/// One OpenBLAS call. A product with one row or one column is a matrix-vector product and goes to sgemv:
/// sgemm copies (packs) the matrix operand on every call with some kernels (57% of a batch-1 prior sample
/// with OpenBLAS 0.3.21's Zen kernels), while sgemv reads it once, in place.
func cblasSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    _ = Engine.singleThreadedBLAS
    if m == 1 && k > 0 {
        // c[0, j] = Σ_p a[p] · op(B)[p, j]: op(B) is B (k×n, ldb) read transposed, or B (n×k, ldb) as stored.
        // a's elements are lda apart when op(A) = Aᵀ (A is k×1), else contiguous.
        cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, Int32(transB ? n : k), Int32(transB ? k : n),
                    alpha, b, Int32(ldb), a, Int32(transA ? lda : 1), beta, c, 1)
        return
    }
    if n == 1 && k > 0 {
        // c[i, 0] = Σ_p op(A)[i, p] · b[p]: op(A) is A (m×k, lda) as stored, or A (k×m, lda) read transposed.
        // b's elements are ldb apart unless op(B) = Bᵀ (B is 1×k); c's are ldc apart.
        cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, Int32(transA ? k : m), Int32(transA ? m : k),
                    alpha, a, Int32(lda), b, Int32(transB ? 1 : ldb), beta, c, Int32(ldc))
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// y += alpha · x over `n` floats.
func saxpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    _ = Engine.singleThreadedBLAS
    if n > 0 { cblas_saxpy(Int32(n), alpha, x, 1, y, 1) }
}

/// Public access to the raw GEMM, for benchmarks that compare against the engine's own kernels.
public enum BLAS {
    /// Row-major C = A·B for packed m×k and k×n matrices.
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        SVQEngine.sgemm(m: m, n: n, k: k, a: a, b: b, c: c)
    }
}

/// OpenBLAS (Debian's 0.3.21, built for every x86 CPU) picks its kernels by CPU model at load, and a model it
/// does not know gets its Prescott (SSE3) kernels: on a 5th-generation Xeon (family 6, model 207) sgemm ran at
/// 26 GFLOP/s per core with them against 110 with its SkylakeX kernels. Where OpenBLAS fell back like that and
/// the user did not choose (`OPENBLAS_CORETYPE` unset), the kernels are chosen again from the CPU's features
/// through OpenBLAS's own dynamic-arch entry points, once, before the engine's first BLAS call.
enum BLASKernels {
    static func replaceFallback() {
        guard String(cString: openblas_get_corename()).lowercased() == "prescott",
              getenv("OPENBLAS_CORETYPE") == nil,
              let better = kernelsForThisCPU(),
              let quit = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initialise = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init")
        else { return }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", better, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialise, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// The OpenBLAS kernels the CPU's features allow (from /proc/cpuinfo, which lists what the kernel enabled).
    static func kernelsForThisCPU() -> String? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1 << 14)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
            if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
            return nil
        }
        return nil
    }
}
