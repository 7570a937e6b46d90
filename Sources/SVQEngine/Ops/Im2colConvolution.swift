// conv2d lowered to cblas_sgemm through an explicit patch matrix: the fallback wherever oneDNN cannot run a
// shape (or has no CPU engine), so it handles every stride, padding and kernel size.
//
// Forward: col [Cin·kh·kw, columns] built with contiguous row copies, then Y = W · col. Large images are cut
// into bands of output rows so that col stays cache-sized; small images are grouped so that each GEMM has
// enough columns. Backward recomputes col (cheaper than keeping it): dW = dY · colᵀ, and dcol = Wᵀ · dY
// scattered back into dX (col2im).
// Buffer preparation (im2col, col2im, extraction) is spread over the engine's threads; big GEMMs are called
// from the calling thread and `sgemm` splits them over the same threads, so the two never nest. The
// exception is thin layers (Cout·Cin·kh·kw ≤ 8192, e.g. 3 → 64 first layers and 1×1 64 → 64): their GEMMs are
// too thin to split well, so they are cut into column chunks, and the chunks (with their im2col) are spread
// over the engine's threads instead, each GEMM then running on its thread.

enum Im2colConvolution {
    /// y[B, Cout, Ho, Wo] = conv(x, w) + bias.
    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if let chunk = smallGemmColumns(m: g.cout, k: g.kdim) {
            chunkedForward(g, chunk: chunk, x: x, w: w, bias: bias, y: y)
        } else {
            tiledForward(g, x: x, w: w, bias: bias, y: y)
        }
    }

    /// Overwrites `dx` and/or `dw` with the gradients for the output gradient `dy`.
    static func backward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?) {
        // Both schedules accumulate into dx (col2im) and the tiled one into dw.
        if let dx { parallelChunks(g.batch * g.cin * g.inPlane) { lo, hi in zeroFill(dx + lo, hi - lo) } }
        if let dw { zeroFill(dw, g.cout * g.kdim) }
        if g.batch >= Engine.threadCount, let chunk = smallGemmColumns(m: g.cout, k: g.kdim) {
            chunkedBackward(g, chunk: chunk, x: x, w: w, dy: dy, dx: dx, dw: dw)
        } else {
            tiledBackward(g, x: x, w: w, dy: dy, dx: dx, dw: dw)
        }
    }
}

@inline(__always) private func zeroFill(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n > 0 { p.update(repeating: 0, count: n) }
}

// MARK: - Patch rows

extension ConvGeometry {
    /// The output columns ox whose input column ox·sw − pw + kj lies inside [0, W), for kernel column `kj`.
    fileprivate func validOutputColumns(kernelColumn kj: Int) -> Range<Int> {
        let lo = max(0, (pw - kj + sw - 1) / sw)
        let last = w - 1 + pw - kj
        let hi = last < 0 ? 0 : min(wo, last / sw + 1)
        return lo..<max(lo, hi)
    }
}

/// Walks patch row `r` (channel, ki, kj) of one image over output positions n0..<n1 (flattened oy·Wo + ox), one
/// output row at a time: `body(offset, count, inside, input)` gets the run's offset from n0 and its length, the
/// part of it whose patch reads the image (empty where it reads only padding), and the offset in the image of
/// the first input element that part reads (the next ones are `sw` apart).
@inline(__always)
private func forEachPatchRun(_ g: ConvGeometry, _ r: Int, from n0: Int, to n1: Int,
                             _ body: (_ offset: Int, _ count: Int, _ inside: Range<Int>, _ input: Int) -> Void) {
    let wo = g.wo
    let c = r / g.taps, t = r % g.taps, ki = t / g.kw, kj = t % g.kw
    let valid = g.validOutputColumns(kernelColumn: kj)
    var n = n0
    while n < n1 {
        let oy = n / wo
        let a = n - oy * wo, e = min(wo, a + (n1 - n))   // this row's output columns a..<e
        let iy = oy * g.sh - g.ph + ki
        let vlo = max(a, valid.lowerBound), vhi = min(e, valid.upperBound)
        let reads = iy >= 0 && iy < g.h && vlo < vhi
        body(n - n0, e - a, reads ? (vlo - a)..<(vhi - a) : 0..<0,
             c * g.inPlane + iy * g.w + vlo * g.sw - g.pw + kj)
        n += e - a
    }
}

/// dst[k] = src[k·stride] for k < count.
@inline(__always)
private func gather(_ src: UnsafePointer<Float>, stride: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
    if stride == 1 {
        dst.update(from: src, count: count)
    } else {
        for k in 0..<count { dst[k] = src[k * stride] }
    }
}

/// dst[k·stride] += src[k] for k < count.
@inline(__always)
private func scatterAdd(_ src: UnsafePointer<Float>, stride: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
    if stride == 1 {
        for k in 0..<count { dst[k] += src[k] }
    } else {
        for k in 0..<count { dst[k * stride] += src[k] }
    }
}

/// Writes patch row `r` of one image for output positions n0..<n1 into `dst[0 ..< n1−n0]`: shifted input row
/// segments, zeros where the patch reads padding.
@inline(__always)
private func im2colRow(_ g: ConvGeometry, _ r: Int, image: UnsafePointer<Float>, from n0: Int, to n1: Int,
                       into dst: UnsafeMutablePointer<Float>) {
    forEachPatchRun(g, r, from: n0, to: n1) { offset, count, inside, input in
        let d = dst + offset
        if inside.isEmpty {
            zeroFill(d, count)
            return
        }
        zeroFill(d, inside.lowerBound)
        gather(image + input, stride: g.sw, count: inside.count, into: d + inside.lowerBound)
        zeroFill(d + inside.upperBound, count - inside.upperBound)
    }
}

/// The transpose of `im2colRow`: adds `src[0 ..< n1−n0]` (patch row `r` for output positions n0..<n1) back into
/// the input-gradient image `image`.
@inline(__always)
private func col2imRow(_ g: ConvGeometry, _ r: Int, image: UnsafeMutablePointer<Float>, from n0: Int, to n1: Int,
                       adding src: UnsafePointer<Float>) {
    forEachPatchRun(g, r, from: n0, to: n1) { offset, _, inside, input in
        guard !inside.isEmpty else { return }
        scatterAdd(src + offset + inside.lowerBound, stride: g.sw, count: inside.count, into: image + input)
    }
}

// MARK: - Small GEMMs on every core

/// OpenBLAS runs a GEMM of at most 4·65536 multiply-adds on the calling thread (above that it threads it), and
/// for small row-major products it even has a direct AVX-512 kernel without packing. Layers with few input
/// channels make GEMMs too thin for OpenBLAS's own threading to pay off (K of 48–75: ~130 GFLOP/s on 2 cores);
/// cutting the output into column chunks below that limit and running the chunks on the engine's threads keeps
/// every core busy instead (~200 GFLOP/s), with each chunk's patch matrix built in L1 right before its product.
private let singleThreadGemmLimit = 4 * 65536

/// The chunk width for an [m, k] · [k, chunk] product, or nil when the chunks would be too narrow to be
/// efficient.
private func smallGemmColumns(m: Int, k: Int) -> Int? {
    let c = (singleThreadGemmLimit / max(1, m * k)) & ~15
    return c >= 32 ? c : nil
}

/// Forward pass by column chunks spread over the cores: for each chunk of one image's output positions, build
/// its patch matrix and multiply.
private func chunkedForward(_ g: ConvGeometry, chunk: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                            bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    let n = g.outPlane, k = g.kdim
    let perImage = (n + chunk - 1) / chunk
    let items = g.batch * perImage
    let workers = max(1, min(Engine.threadCount, items))
    let scratch = TensorStorage(count: workers * k * chunk, zeroed: false)
    let imageSize = g.cin * g.inPlane
    parallelItems(workers, costPerItem: (items / workers) * chunk * k * g.cout / 8) { wk in
        let col = scratch.pointer + wk * k * chunk
        let lo = wk * items / workers, hi = (wk + 1) * items / workers
        for item in lo..<hi {
            let b = item / perImage
            let n0 = (item % perImage) * chunk, n1 = min(n, n0 + chunk), cols = n1 - n0
            let out = y + b * g.cout * n + n0
            let image = x + b * imageSize
            for r in 0..<k { im2colRow(g, r, image: image, from: n0, to: n1, into: col + r * cols) }
            sgemm(m: g.cout, n: cols, k: k, a: w, b: col, c: out, ldc: n)
            if let bias {
                for co in 0..<g.cout {
                    let row = out + co * n, bv = bias[co]
                    for j in 0..<cols { row[j] += bv }
                }
            }
        }
    }
}

/// Backward pass by column chunks, with at least one image per worker. Each worker owns whole images, so its
/// col2im never touches another worker's rows, and accumulates its own partial dW; the partials are added at
/// the end. Per chunk: dW[Cout, K] += dY · colᵀ and dcol = Wᵀ · dY (scattered back by col2im), both
/// single-threaded.
private func chunkedBackward(_ g: ConvGeometry, chunk: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                             dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                             dw: UnsafeMutablePointer<Float>?) {
    let n = g.outPlane, k = g.kdim, cout = g.cout
    let perImage = (n + chunk - 1) / chunk
    let workers = max(1, min(Engine.threadCount, g.batch))
    let colSize = k * chunk
    let perWorker = colSize + (dw != nil ? k * cout : 0)
    let scratch = TensorStorage(count: workers * perWorker, zeroed: false)
    let imageIn = g.cin * g.inPlane
    let needW = dw != nil
    parallelItems(workers, costPerItem: (g.batch / workers) * n * k * cout / 4) { wk in
        let col = scratch.pointer + wk * perWorker
        let partial = col + colSize
        if needW { zeroFill(partial, k * cout) }
        for b in (wk * g.batch / workers)..<((wk + 1) * g.batch / workers) {
            let image = x + b * imageIn
            let dyb = dy + b * cout * n
            for piece in 0..<perImage {
                let n0 = piece * chunk, n1 = min(n, n0 + chunk), cols = n1 - n0
                if needW {
                    for r in 0..<k { im2colRow(g, r, image: image, from: n0, to: n1, into: col + r * cols) }
                    sgemm(transB: true, m: cout, n: k, k: cols, a: dyb + n0, lda: n, b: col, ldb: cols,
                          beta: 1, c: partial)
                }
                if let dx {
                    sgemm(transA: true, m: k, n: cols, k: cout, a: w, b: dyb + n0, ldb: n, c: col)
                    for r in 0..<k { col2imRow(g, r, image: dx + b * imageIn, from: n0, to: n1, adding: col + r * cols) }
                }
            }
        }
    }
    if let dw {
        let base = scratch.pointer + colSize
        for co in 0..<cout {
            for kk in 0..<k {
                var total: Float = 0
                for wk in 0..<workers { total += base[wk * perWorker + co * k + kk] }
                dw[co * k + kk] = total
            }
        }
    }
}

// MARK: - Big GEMMs over bands or groups of images

/// Unit of work: `images` consecutive images starting at `b0`, output rows oy0..<oy1 (all rows when
/// `images > 1`).
private struct ConvTile {
    let b0, images, oy0, oy1: Int

    func columns(_ g: ConvGeometry) -> Int { images * (oy1 - oy0) * g.wo }
}

/// The pieces of the tiled schedule and their buffers. The batch is split into GEMM-sized pieces: bands of
/// output rows of one image when an image is large, several whole images when it is small (grouping costs a
/// transposing copy of the output, so only images too small to make a good GEMM on their own are grouped).
/// The target is a patch matrix of about 6 MB (L3-resident).
private struct TiledSchedule {
    var tiles: [ConvTile] = []
    /// The patch matrix of the largest piece.
    let col: TensorStorage
    /// Whether images are grouped, and then room for a piece's output (or output gradient) as one matrix.
    let grouped: Bool
    let staging: TensorStorage

    init(_ g: ConvGeometry) {
        let budget = max(g.wo, min(8192, (6 << 20) / (4 * max(g.kdim, 1))))
        if g.outPlane <= budget {
            let group = max(1, min(g.batch, min(budget, 2048) / max(g.outPlane, 1)))
            var b = 0
            while b < g.batch {
                let n = min(group, g.batch - b)
                tiles.append(ConvTile(b0: b, images: n, oy0: 0, oy1: g.ho))
                b += n
            }
        } else {
            let band = max(1, budget / max(g.wo, 1))
            // Even bands: 64 rows with a budget of 20 become 4×16, not 3×20 + 4.
            let bands = (g.ho + band - 1) / band
            let per = (g.ho + bands - 1) / bands
            for b in 0..<g.batch {
                var r = 0
                while r < g.ho {
                    let e = min(g.ho, r + per)
                    tiles.append(ConvTile(b0: b, images: 1, oy0: r, oy1: e))
                    r = e
                }
            }
        }
        let maxCols = tiles.map { $0.columns(g) }.max() ?? 0
        col = TensorStorage(count: g.kdim * maxCols, zeroed: false)
        grouped = tiles.contains { $0.images > 1 }
        staging = TensorStorage(count: grouped ? g.cout * maxCols : 0, zeroed: false)
    }
}

/// Writes the patch matrix of `tile` into `col` ([kdim, columns], row stride `ld`): column
/// `i·rows·Wo + (oy−oy0)·Wo + ox` holds image b0+i's patch for output (oy, ox).
private func im2col(_ g: ConvGeometry, _ tile: ConvTile, x: UnsafePointer<Float>,
                    col: UnsafeMutablePointer<Float>, ld: Int) {
    let rows = tile.oy1 - tile.oy0
    let wo = g.wo, imageSize = g.cin * g.inPlane
    parallelItems(g.kdim, costPerItem: tile.images * rows * wo) { r in
        for i in 0..<tile.images {
            im2colRow(g, r, image: x + (tile.b0 + i) * imageSize, from: tile.oy0 * wo, to: tile.oy1 * wo,
                      into: col + r * ld + i * rows * wo)
        }
    }
}

/// The transpose of `im2col`: adds every patch column of `col` back into the images of `tile` in `dx`.
/// Organised as a gather per input row, so that rows (of every image and channel) are independent items that
/// spread evenly over the cores even when there are only a few channels.
private func col2im(_ g: ConvGeometry, _ tile: ConvTile, col: UnsafePointer<Float>, ld: Int,
                    dx: UnsafeMutablePointer<Float>) {
    let rows = tile.oy1 - tile.oy0
    let wo = g.wo
    // Input rows this piece's output rows read from.
    let iyLo = max(0, tile.oy0 * g.sh - g.ph)
    let iyHi = min(g.h, (tile.oy1 - 1) * g.sh - g.ph + g.kh)
    let nRows = iyHi - iyLo
    if nRows <= 0 { return }
    parallelItems(tile.images * g.cin * nRows, costPerItem: g.kw * wo * max(1, g.kh / g.sh)) { item in
        let iy = iyLo + item % nRows
        let ic = item / nRows
        let i = ic / g.cin, c = ic % g.cin
        let dstRow = dx + ((tile.b0 + i) * g.cin + c) * g.inPlane + iy * g.w
        for ki in 0..<g.kh {
            let t = iy + g.ph - ki
            if t < 0 || t % g.sh != 0 { continue }
            let oy = t / g.sh
            if oy < tile.oy0 || oy >= tile.oy1 { continue }
            for kj in 0..<g.kw {
                let valid = g.validOutputColumns(kernelColumn: kj)
                if valid.isEmpty { continue }
                let r = (c * g.kh + ki) * g.kw + kj
                let s = col + r * ld + i * rows * wo + (oy - tile.oy0) * wo + valid.lowerBound
                scatterAdd(s, stride: g.sw, count: valid.count, into: dstRow + (valid.lowerBound * g.sw - g.pw + kj))
            }
        }
    }
}

/// Fills each output plane with its channel's bias (so the GEMMs can accumulate with beta = 1).
private func fillBias(_ g: ConvGeometry, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let plane = g.outPlane
    parallelItems(g.batch * g.cout, costPerItem: plane) { item in
        (y + item * plane).update(repeating: bias[item % g.cout], count: plane)
    }
}

private func tiledForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    let n = g.outPlane
    let schedule = TiledSchedule(g)
    let col = schedule.col, staging = schedule.staging
    if let bias, !schedule.grouped { fillBias(g, bias: bias, y: y) }

    for tile in schedule.tiles {
        let cols = tile.columns(g)
        im2col(g, tile, x: x, col: col.pointer, ld: cols)
        if tile.images == 1 {
            // Straight into the output band: rows co of y[b] starting at oy0, row stride Ho·Wo.
            sgemm(m: g.cout, n: cols, k: g.kdim, a: w, b: col.pointer, beta: bias == nil ? 0 : 1,
                  c: y + tile.b0 * g.cout * n + tile.oy0 * g.wo, ldc: n)
        } else {
            // [Cout, images·Ho·Wo] → [images, Cout, Ho·Wo], adding the bias on the way.
            let st = staging.pointer
            sgemm(m: g.cout, n: cols, k: g.kdim, a: w, b: col.pointer, c: st)
            parallelItems(tile.images * g.cout, costPerItem: n) { item in
                let i = item / g.cout, co = item % g.cout
                let src = st + co * cols + i * n
                let dst = y + ((tile.b0 + i) * g.cout + co) * n
                if let bias {
                    let bv = bias[co]
                    for k in 0..<n { dst[k] = src[k] + bv }
                } else {
                    dst.update(from: src, count: n)
                }
            }
        }
    }
}

/// Accumulates into `dx` and `dw` (zeroed by the caller).
private func tiledBackward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                           dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                           dw: UnsafeMutablePointer<Float>?) {
    let n = g.outPlane
    let schedule = TiledSchedule(g)
    let col = schedule.col, staging = schedule.staging

    for tile in schedule.tiles {
        let cols = tile.columns(g)
        // The output gradient of this piece as a [Cout, cols] matrix.
        let dyt: UnsafePointer<Float>
        let ldy: Int
        if tile.images == 1 {
            dyt = dy + tile.b0 * g.cout * n + tile.oy0 * g.wo
            ldy = n
        } else {
            let st = staging.pointer
            parallelItems(tile.images * g.cout, costPerItem: n) { item in
                let i = item / g.cout, co = item % g.cout
                (st + co * cols + i * n).update(from: dy + ((tile.b0 + i) * g.cout + co) * n, count: n)
            }
            dyt = UnsafePointer(st)
            ldy = cols
        }
        if let dw {
            // dW[Cout, K] += dY · colᵀ
            im2col(g, tile, x: x, col: col.pointer, ld: cols)
            sgemm(transB: true, m: g.cout, n: g.kdim, k: cols, a: dyt, lda: ldy, b: col.pointer, ldb: cols,
                  beta: 1, c: dw)
        }
        if let dx {
            // dcol[K, cols] = Wᵀ · dY, scattered back into dx.
            sgemm(transA: true, m: g.kdim, n: cols, k: g.cout, a: w, b: dyt, ldb: ldy, c: col.pointer)
            col2im(g, tile, col: col.pointer, ld: cols, dx: dx)
        }
    }
}
