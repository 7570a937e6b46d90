// conv2d forward by Winograd's minimal filtering, F(m×m, r×r), for inference.
//
// Why: the paper-sized encoder is four 5×5 convolutions over 512 channels; oneDNN's direct kernels already
// run them at the machine's sgemm rate, so only doing fewer multiplications makes them faster. F(2×2, 5×5)
// computes each 2×2 output tile from a 6×6 input tile with 36 products per channel pair instead of 100:
// the 36 products are 36 independent GEMMs [tiles × Cin] · [Cin × Cout], one per point of the transformed
// tile, between two cheap linear transforms. Inference only: training keeps the direct convolution, whose
// backward passes are exact.
//
// How: the input is copied once into a zero-padded channels-last buffer, so that every transform is a run of
// vector multiply-adds over channels. Tiles are processed in chunks of up to 256, one chunk per thread at a
// time. For each of the α² points of the transformed tile, the thread makes that point of Bᵀ·d·B for the
// chunk, multiplies it by the point's transformed filters (one sgemm on its own core) and folds the product
// into the chunk's output tiles (Aᵀ·M·A) at once, so only one point is held; then bias and ReLU, into a
// channels-last output that is finally transposed to NCHW. The filter transform G·g·Gᵀ is computed per
// call (weights can change between calls in training code).
//
// Accuracy: the transforms are built from the interpolation points 0, ±1, ±2 (and ∞), whose small integer
// coefficients keep float32 rounding close to the direct convolution's (ConvolutionTests.testWinogradForwardMatchesLoopReference measures it).

/// The 1-D transforms of F(m, r): y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)] for an input row d of α = m + r − 1 values and a
/// filter g of r taps gives the m outputs y_k = Σ_j g_j·d_{k+j}.
struct WinogradTransform {
    let m, r, alpha: Int
    /// α×α, input transform.
    let bt: [Float]
    /// α×r, filter transform.
    let g: [Float]
    /// m×α, output transform.
    let at: [Float]

    /// F(m, r) from the finite points 0, 1, −1, 2, −2, ½, −½ (the first α − 1 of them) and ∞.
    init(m: Int, r: Int) {
        let alpha = m + r - 1
        let candidates: [Double] = [0, 1, -1, 2, -2, 0.5, -0.5, 3, -3]
        precondition(alpha - 1 <= candidates.count, "Winograd F(\(m), \(r)) needs more interpolation points")
        let points = Array(candidates.prefix(alpha - 1))
        // Toom–Cook for the linear convolution c = g * h (h of m taps, c of α values): evaluate both at the
        // points (V rows: powers of the point; ∞ picks the leading coefficient), multiply, interpolate with
        // V⁻¹. Correlation is its transpose in h: Aᵀ = evaluation of h transposed, Bᵀ = (V⁻¹)ᵀ.
        func evaluation(_ taps: Int) -> [[Double]] {
            points.map { p in (0..<taps).map { e in (0..<e).reduce(1.0) { acc, _ in acc * p } } } + [(0..<taps).map { $0 == taps - 1 ? 1 : 0 }]
        }
        let v = evaluation(alpha)
        let inverse = invert(v)
        var bt = (0..<alpha).map { i in (0..<alpha).map { j in inverse[j][i] } }
        var g = evaluation(r)
        let a = evaluation(m)
        // Move each finite point's Lagrange denominator from Bᵀ into G: Bᵀ gets small integers, and the
        // filter (transformed once per call) takes the fractions.
        for (i, p) in points.enumerated() {
            let d = points.enumerated().filter { $0.offset != i }.reduce(1.0) { $0 * (p - $1.element) }
            bt[i] = bt[i].map { $0 * d }
            g[i] = g[i].map { $0 / d }
        }
        self.m = m
        self.r = r
        self.alpha = alpha
        self.bt = bt.flatMap { $0.map(Float.init) }
        self.g = g.flatMap { $0.map(Float.init) }
        self.at = (0..<m).flatMap { k in (0..<alpha).map { i in Float(a[i][k]) } }
    }

    /// The non-zero entries of row `row` of a `columns`-wide matrix, as (column, value).
    static func nonZeros(_ matrix: [Float], row: Int, columns: Int) -> [(Int, Float)] {
        (0..<columns).compactMap { j in matrix[row * columns + j] == 0 ? nil : (j, matrix[row * columns + j]) }
    }
}

/// Gauss–Jordan inverse with partial pivoting (tiny, well-conditioned matrices only).
private func invert(_ matrix: [[Double]]) -> [[Double]] {
    let n = matrix.count
    var a = matrix.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
        precondition(abs(a[pivot][col]) > 1e-12, "Winograd: singular interpolation matrix")
        a.swapAt(col, pivot)
        let scale = a[col][col]
        a[col] = a[col].map { $0 / scale }
        for row in 0..<n where row != col && a[row][col] != 0 {
            let f = a[row][col]
            for j in 0..<(2 * n) { a[row][j] -= f * a[col][j] }
        }
    }
    return a.map { Array($0[n...]) }
}

enum WinogradConvolution {
    /// Output tile side: F(2×2, r×r). Larger tiles save more products but lose float32 accuracy quickly
    /// (their transforms need the points ±½, whose coefficients grow).
    static let tileSide = 2

    /// Square kernels of 3 or 5 taps, stride 1, the same padding on both axes.
    static func supports(_ g: ConvGeometry) -> Bool {
        g.kh == g.kw && (g.kh == 3 || g.kh == 5) && g.sh == 1 && g.sw == 1 && g.ph == g.pw
            && g.ho >= tileSide && g.wo >= tileSide
    }

    /// Where it beats oneDNN's direct kernels here (`svq-bench --all-algorithms --filter wide`): from 128
    /// channels in and out (5×5: 1.2× at 128, 1.8× at 512; 3×3: 1.06× at 128, 1.23× at 256). At 64 channels
    /// the GEMMs are too thin and the direct kernels win by ~10%.
    static func isFaster(_ g: ConvGeometry) -> Bool {
        supports(g) && min(g.cin, g.cout) >= 128
    }

    private static let transforms: [Int: WinogradTransform] = [
        3: WinogradTransform(m: tileSide, r: 3), 5: WinogradTransform(m: tileSide, r: 5),
    ]

    /// y[B, Cout, Ho, Wo] = conv(x, w) + bias, then ReLU when asked. The caller checks `supports`.
    static func forward(_ geo: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, relu: Bool) {
        let tf = transforms[geo.kh]!
        let m = tf.m, r = tf.r, alpha = tf.alpha, points = alpha * alpha
        let cin = geo.cin, cout = geo.cout, pad = geo.ph
        let tilesY = (geo.ho + m - 1) / m, tilesX = (geo.wo + m - 1) / m
        let tilesPerImage = tilesY * tilesX, tiles = geo.batch * tilesPerImage
        // Padded channels-last input, large enough that every tile's α×α window is inside it.
        let hp = tilesY * m + r - 1, wp = tilesX * m + r - 1

        let u = Tensor(zeros: [points, cout, cin], zeroed: false)        // G·g·Gᵀ per point, [Cout, Cin] each
        transformFilters(tf, w: w, cin: cin, cout: cout, u: u.data)

        let padded = Tensor(zeros: [geo.batch, hp, wp, cin])
        let xp = padded.data
        parallelItems(geo.batch * geo.h, costPerItem: cin * geo.w) { item in
            let b = item / geo.h, row = item % geo.h
            let dst = xp + ((b * hp + row + pad) * wp + pad) * cin
            let src = x + b * cin * geo.inPlane + row * geo.w
            for c in 0..<cin {
                let s = src + c * geo.inPlane
                for col in 0..<geo.w { dst[col * cin + c] = s[col] }
            }
        }

        // Chunks of tiles: up to 256 tiles, and 16 chunks or more once there are 128 tiles, so that 16 threads
        // have work. The chunks follow from the tile count alone, never from the thread count: each chunk's
        // sgemm has the chunk's rows, and OpenBLAS may sum another row count in another order, so chunks cut
        // per thread made results depend on the thread count. A chunk's scratch is ~6 MB at 512 channels and
        // 256 tiles: the transformed input is made one point at a time and each point's product is folded into
        // the output tile straight away, so only α partial rows and the m×m outputs are held.
        let chunk = min(256, max(8, ((tiles + 15) / 16 + 7) & ~7))
        let chunks = (tiles + chunk - 1) / chunk
        let threads = min(max(1, Engine.threadCount), chunks)
        let channelsLast = Tensor(zeros: [geo.batch, geo.ho, geo.wo, cout], zeroed: false)
        let yl = channelsLast.data
        let scratchPerThread = chunk * ((alpha + 1) * cin + (m * m + 1) * cout)
        let scratch = Tensor(zeros: [threads, scratchPerThread], zeroed: false)
        let bRows = (0..<alpha).map { WinogradTransform.nonZeros(tf.bt, row: $0, columns: alpha) }
        let at = tf.at

        func origin(_ tile: Int) -> UnsafeMutablePointer<Float> {
            let b = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
            return xp + ((b * hp + ty * m) * wp + tx * m) * cin
        }
        func work(_ thread: Int) {
            let rows = scratch.data + thread * scratchPerThread        // [α, chunk, Cin]: Σ_i Bᵀ[ii][i]·d[i][j]
            let v = rows + alpha * chunk * cin                         // [chunk, Cin]: one point of Bᵀ·d·B
            let product = v + chunk * cin                              // [chunk, Cout]: that point's product
            let outputs = product + chunk * cout                       // [m·m, chunk, Cout]: Aᵀ·M·A so far
            var c = thread
            while c < chunks {
                let t0 = c * chunk, count = min(chunk, tiles - t0)
                outputs.update(repeating: 0, count: m * m * chunk * cout)
                for ii in 0..<alpha {
                    for t in 0..<count {
                        let d = origin(t0 + t)
                        for j in 0..<alpha {
                            combine(bRows[ii], cin, into: rows + (j * chunk + t) * cin) { d + ($0 * wp + j) * cin }
                        }
                    }
                    for jj in 0..<alpha {
                        for t in 0..<count {
                            combine(bRows[jj], cin, into: v + t * cin) { rows + ($0 * chunk + t) * cin }
                        }
                        // One OpenBLAS call on this thread: the chunks are the work the threads share, and
                        // sgemm's pieces would repack v for each (22% of a paper-sized encode).
                        cblasSgemm(false, true, count, cout, cin, 1, v, cin,
                                   u.data + (ii * alpha + jj) * cout * cin, cin, 0, product, cout)
                        for kk in 0..<m where at[kk * alpha + ii] != 0 {
                            for k in 0..<m where at[k * alpha + jj] != 0 {
                                let coefficient = at[kk * alpha + ii] * at[k * alpha + jj]
                                let out = outputs + (kk * m + k) * chunk * cout
                                for i in 0..<(count * cout) { out[i] += coefficient * product[i] }
                            }
                        }
                    }
                }
                // Bias and ReLU into the channels-last output (edge tiles keep what lies inside).
                for t in 0..<count {
                    let tile = t0 + t, b = tile / tilesPerImage
                    let ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
                    for kk in 0..<m where ty * m + kk < geo.ho {
                        for k in 0..<m where tx * m + k < geo.wo {
                            let out = yl + ((b * geo.ho + ty * m + kk) * geo.wo + tx * m + k) * cout
                            let src = outputs + ((kk * m + k) * chunk + t) * cout
                            for i in 0..<cout { out[i] = src[i] + (bias?[i] ?? 0) }
                            if relu { for i in 0..<cout { out[i] = max(out[i], 0) } }
                        }
                    }
                }
                c += threads
            }
        }
        if threads > 1 && !ParallelRegion.isInside {
            ParallelRegion.perform(threads) { work($0) }
        } else {
            for t in 0..<threads { work(t) }
        }

        // Channels-last → NCHW.
        batchedTranspose(yl, y, batches: geo.batch, rows: geo.outPlane, cols: cout)
    }

    /// U[p][co][ci] = (G·g·Gᵀ)[p] for every filter g = w[co, ci], vectorised over input channels.
    private static func transformFilters(_ tf: WinogradTransform, w: UnsafePointer<Float>, cin: Int, cout: Int,
                                         u: UnsafeMutablePointer<Float>) {
        let r = tf.r, alpha = tf.alpha, taps = r * r
        let gRows = (0..<alpha).map { WinogradTransform.nonZeros(tf.g, row: $0, columns: r) }
        let perThread = (taps + alpha * r) * cin
        let threads = ParallelRegion.isInside ? 1 : max(1, min(Engine.threadCount, cout / 8))
        let scratch = Tensor(zeros: [threads, perThread], zeroed: false)
        func work(_ thread: Int) {
            let taps0 = scratch.data + thread * perThread              // [r·r, Cin]: w[co] with taps outermost
            let mid = taps0 + taps * cin                               // [α, r, Cin]: G·g
            var co = thread
            while co < cout {
                let src = w + co * cin * taps
                for ci in 0..<cin {
                    for k in 0..<taps { taps0[k * cin + ci] = src[ci * taps + k] }
                }
                for i in 0..<alpha {
                    for b in 0..<r {
                        combine(gRows[i], cin, into: mid + (i * r + b) * cin) { taps0 + ($0 * r + b) * cin }
                    }
                }
                for i in 0..<alpha {
                    for j in 0..<alpha {
                        combine(gRows[j], cin, into: u + ((i * alpha + j) * cout + co) * cin) { mid + (i * r + $0) * cin }
                    }
                }
                co += threads
            }
        }
        if threads > 1 {
            ParallelRegion.perform(threads) { work($0) }
        } else {
            work(0)
        }
    }
}

/// out[0..<n] = Σ coefficient · row(index)[0..<n] over the (index, coefficient) terms.
@inline(__always)
private func combine(_ terms: [(Int, Float)], _ n: Int, into out: UnsafeMutablePointer<Float>,
                     _ row: (Int) -> UnsafeMutablePointer<Float>) {
    guard let first = terms.first else {
        out.update(repeating: 0, count: n)
        return
    }
    let s0 = row(first.0), c0 = first.1
    for i in 0..<n { out[i] = c0 * s0[i] }
    for (index, c) in terms.dropFirst() {
        let s = row(index)
        for i in 0..<n { out[i] += c * s[i] }
    }
}
