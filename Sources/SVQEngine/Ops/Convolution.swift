// 2-D convolution (NCHW, PyTorch weight layout) and pixel shuffle.
//
// Without gradients, wide (≥ 128 channels) 3×3 and 5×5 stride-1 layers run Winograd F(2×2, r×r) (WinogradConvolution.swift).
// Otherwise conv2d runs on oneDNN's direct convolutions (DirectConvolution.swift) — forward with the bias and an optional
// ReLU fused, and both backward passes. Without oneDNN (or for a shape it refuses) it lowers to cblas_sgemm in
// one of three ways, chosen per call:
//  • pointwise — a 1×1, stride-1, unpadded kernel: each image [Cin, H·W] already is the GEMM operand.
//  • shifted   — stride 1 with enough channels: the input is copied once into a zero-padded buffer of row
//    width Wp = W + 2·padW, and the output is computed "wide" (rows of Wp columns, the last kw−1 discarded).
//    Then every kernel tap (ki, kj) is one GEMM  Y += W[:, :, ki, kj] · X[:, ki·Wp + kj ...]  whose B operand
//    is just the padded buffer at an offset, so no im2col matrix is ever built. The backward pass is the same
//    trick: dX_padded[shifted] += W[:, :, ki, kj]ᵀ · dY per tap, and dW[:, :, ki, :] = dY · X_foldedᵀ per kernel
//    row, over a copy of the padded input holding its kw column shifts.
//  • im2col    — everything else (strided, few channels): col [Cin·kh·kw, columns] built with contiguous row
//    copies, then W · col. Large images are cut into bands of output rows so that col stays cache-sized;
//    small images are grouped so that each GEMM has enough columns. Backward recomputes col (it is cheaper
//    than keeping it) and scatters dcol = Wᵀ·dY back with col2im.
// Buffer preparation (padding, im2col, col2im, extraction) is spread over the engine's threads; big GEMMs are
// called from the calling thread and `sgemm` splits them over the same threads, so the two never nest. The
// exception is thin layers (pointwise or im2col with Cout·Cin·kh·kw ≤ 8192, e.g. 3 → 64 first layers and
// 1×1 64 → 64): their GEMMs are too thin to split well, so they are cut into column chunks, and the chunks
// (with their im2col) are spread over the engine's threads instead, each GEMM then running on its thread.

/// How `conv2d` computes. `.automatic` uses oneDNN (or the GEMM lowering it would fall back to); the others
/// exist for tests and benchmarks (a choice that does not apply to the shape, like `.shifted` with stride 2,
/// falls back to im2col).
public enum Conv2dAlgorithm: Sendable {
    /// oneDNN's direct convolution, falling back to `.gemm` for a shape oneDNN cannot run.
    case automatic
    /// Explicit patch matrix (any stride and padding).
    case im2col
    /// One GEMM per kernel tap over a zero-padded copy of the input (stride 1 only).
    case shifted
    /// A single GEMM per image (1×1 kernel, stride 1, no padding only).
    case pointwise
    /// The GEMM lowering `.automatic` would pick without oneDNN (what it falls back to).
    case gemm
    /// oneDNN's direct convolution even where `.automatic` would pick Winograd (falls back like `.automatic`).
    case direct
    /// Winograd F(2×2, r×r) for the forward pass (3×3 or 5×5, stride 1; see WinogradConvolution.swift),
    /// `.automatic` otherwise. `.automatic` picks it itself for layers of ≥ 128 channels when no gradient
    /// is recorded.
    case winograd
}

/// 2-D cross-correlation, as `torch.nn.functional.conv2d`.
///
/// `x` is `[B, Cin, H, W]`, `weight` is `[Cout, Cin, kh, kw]`, `bias` is `[Cout]`. Zero padding of `padding` on
/// every side. The result is `[B, Cout, Ho, Wo]` with `Ho = (H + 2·padding − kh) / stride + 1` (likewise `Wo`).
/// Recorded for gradients of `x`, `weight` and `bias`.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
}

/// `conv2d` with separate vertical and horizontal strides and paddings: `stride: (sh, sw)`, `padding: (ph, pw)`.
/// With `relu`, the result is `max(conv, 0)`, fused into the convolution where the algorithm allows.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int), padding: (Int, Int),
                   relu: Bool = false, algorithm: Conv2dAlgorithm = .automatic) -> Tensor {
    precondition(x.rank == 4, "conv2d: input must be [B, Cin, H, W], got \(x.shape)")
    precondition(weight.rank == 4, "conv2d: weight must be [Cout, Cin, kh, kw], got \(weight.shape)")
    precondition(weight.shape[1] == x.shape[1],
                 "conv2d: weight \(weight.shape) expects \(weight.shape[1]) input channels, input \(x.shape) has \(x.shape[1])")
    precondition(stride.0 >= 1 && stride.1 >= 1, "conv2d: stride must be positive, got \(stride)")
    precondition(padding.0 >= 0 && padding.1 >= 0, "conv2d: padding must be non-negative, got \(padding)")
    if let bias {
        precondition(bias.count == weight.shape[0] && bias.rank == 1,
                     "conv2d: bias \(bias.shape) does not match \(weight.shape[0]) output channels")
    }
    let geo = ConvGeometry(batch: x.shape[0], cin: x.shape[1], h: x.shape[2], w: x.shape[3],
                           cout: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3],
                           sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1)
    precondition(geo.ho >= 1 && geo.wo >= 1,
                 "conv2d: kernel \(geo.kh)×\(geo.kw) does not fit input \(geo.h)×\(geo.w) with padding \(padding)")
    let plan = geo.plan(algorithm)
    let direct = algorithm == .automatic || algorithm == .winograd || algorithm == .direct
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let recording = shouldRecord(inputs)
    // Winograd's forward differs from the direct convolution by rounding, so training (which needs the
    // backward of exactly what it ran) keeps the direct kernels.
    let winograd = algorithm == .winograd ? WinogradConvolution.supports(geo)
        : algorithm == .automatic && !recording && WinogradConvolution.isFaster(geo)

    let out = Tensor(zeros: [geo.batch, geo.cout, geo.ho, geo.wo], zeroed: false)
    if out.count > 0 && winograd {
        WinogradConvolution.forward(geo, x: x.data, w: weight.data, bias: bias?.data, y: out.data, relu: relu)
    } else if out.count > 0 {
        let done = direct && DirectConvolution.forward(geo, x: x.data, w: weight.data, bias: bias?.data,
                                                       y: out.data, relu: relu)
        if !done {
            convForward(geo, plan, x: x.data, w: weight.data, bias: bias?.data, y: out.data)
            if relu { reluInPlace(out.data, count: out.count) }
        }
    }

    if recording {
        let xd = x.detached(), wd = weight.detached()
        let yd = relu ? out.detached() : nil     // the ReLU's gradient mask (a view without the graph node)
        let needX = x.requiresGrad, needW = weight.requiresGrad, needB = bias?.requiresGrad ?? false
        let hasBias = bias != nil
        record(out, inputs: inputs) { g in
            let dy = yd.map { reluGradient(g, output: $0) } ?? g
            // im2col accumulates into the gradients; the other lowerings (and oneDNN) write every element.
            let accumulates = plan == .im2col || dy.count == 0
            let gx = needX ? Tensor(zeros: xd.shape, zeroed: accumulates) : nil
            let gw = needW ? Tensor(zeros: wd.shape, zeroed: accumulates) : nil
            if dy.count > 0 && (needX || needW) {
                let doneX = direct && gx != nil && DirectConvolution.backwardData(geo, w: wd.data, dy: dy.data, dx: gx!.data)
                let doneW = direct && gw != nil && DirectConvolution.backwardWeights(geo, x: xd.data, dy: dy.data, dw: gw!.data)
                let restX = doneX ? nil : gx, restW = doneW ? nil : gw
                if restX != nil || restW != nil {
                    convBackward(geo, plan, x: xd.data, w: wd.data, dy: dy.data, dx: restX?.data, dw: restW?.data)
                }
            }
            var grads: [Tensor?] = [gx, gw]
            if hasBias {
                var gb: Tensor? = nil
                if needB {
                    let t = Tensor(zeros: [geo.cout])
                    biasGradient(geo, dy: dy.data, db: t.data)
                    gb = t
                }
                grads.append(gb)
            }
            return grads
        }
    }
    return out
}

private func reluInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
    parallelChunks(count) { lo, hi in
        for i in lo..<hi { p[i] = max(p[i], 0) }
    }
}

/// dy where the ReLU's output was positive, 0 elsewhere.
private func reluGradient(_ g: Tensor, output y: Tensor) -> Tensor {
    let r = Tensor(zeros: g.shape, zeroed: false)
    let gp = g.data, yp = y.data, rp = r.data
    parallelChunks(g.count) { lo, hi in
        for i in lo..<hi { rp[i] = yp[i] > 0 ? gp[i] : 0 }
    }
    return r
}

// MARK: - Geometry and plan

struct ConvGeometry: Hashable {
    let batch, cin, h, w, cout, kh, kw, sh, sw, ph, pw: Int

    var ho: Int { (h + 2 * ph - kh) / sh + 1 }
    var wo: Int { (w + 2 * pw - kw) / sw + 1 }
    /// Rows of the patch matrix: Cin·kh·kw.
    var kdim: Int { cin * kh * kw }
    var taps: Int { kh * kw }
    var inPlane: Int { h * w }
    var outPlane: Int { ho * wo }
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 }

    /// The same layer over `n` images.
    func withBatch(_ n: Int) -> ConvGeometry {
        ConvGeometry(batch: n, cin: cin, h: h, w: w, cout: cout, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw)
    }

    // Shifted-GEMM layout: padded image planes of hp × wp.
    var hp: Int { h + 2 * ph }
    var wp: Int { w + 2 * pw }

    func plan(_ requested: Conv2dAlgorithm) -> ConvPlan {
        let stride1 = sh == 1 && sw == 1
        switch requested {
        case .pointwise where isPointwise: return .pointwise
        case .shifted where stride1: return .shifted
        case .im2col, .pointwise, .shifted: return .im2col
        case .automatic, .gemm, .winograd, .direct:
            if isPointwise { return .pointwise }
            // One GEMM per tap has inner size Cin (forward) and Cout (dX): both must be wide enough to keep the
            // GEMM efficient, and the wasted columns of the wide layout must stay a small fraction.
            guard stride1 && cin >= 16 && cout >= 16 else { return .im2col }
            let perImage = hp * wp <= shiftedBudget ? hp * wp : ho * wp
            return 2 * perImage <= 3 * outPlane ? .shifted : .im2col
        }
    }

    /// Target GEMM columns per piece of the shifted schedule: the output (Cout or Cin rows) stays ~1.5 MB (L2).
    var shiftedBudget: Int { max(wp, (3 << 19) / (4 * max(cout, cin))) }

    /// Target GEMM columns per piece of the im2col schedule: the patch matrix stays around 6 MB (L3-resident).
    var im2colBudget: Int {
        let byBytes = (6 << 20) / (4 * max(kdim, 1))
        return max(wo, min(8192, byBytes))
    }
}

enum ConvPlan { case pointwise, shifted, im2col }

/// Unit of work for the banded schedules: `images` consecutive images starting at `b0`, output rows oy0..<oy1
/// (all rows when `images > 1`).
struct ConvTile {
    let b0, images, oy0, oy1: Int
}

/// Splits the batch into GEMM-sized pieces: several whole images when an image is small, bands of output rows
/// of one image when it is large. `rowCost` is the number of GEMM columns one output row contributes,
/// `imageCost` one whole image's, `budget` the target number of columns per piece, `groupBudget` the most
/// columns worth grouping whole images into.
func convTiles(batch: Int, rows: Int, rowCost: Int, imageCost: Int, budget: Int, groupBudget: Int) -> [ConvTile] {
    var tiles: [ConvTile] = []
    if imageCost <= budget {
        let group = max(1, min(batch, groupBudget / max(imageCost, 1)))
        var b = 0
        while b < batch {
            let n = min(group, batch - b)
            tiles.append(ConvTile(b0: b, images: n, oy0: 0, oy1: rows))
            b += n
        }
    } else {
        let band = max(1, budget / max(rowCost, 1))
        // Even bands: 64 rows with a budget of 20 become 4×16, not 3×20 + 4.
        let bands = (rows + band - 1) / band
        let per = (rows + bands - 1) / bands
        for b in 0..<batch {
            var r = 0
            while r < rows {
                let e = min(rows, r + per)
                tiles.append(ConvTile(b0: b, images: 1, oy0: r, oy1: e))
                r = e
            }
        }
    }
    return tiles
}

@inline(__always) private func zeroFill(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n > 0 { p.update(repeating: 0, count: n) }
}

// MARK: - Forward

func convForward(_ g: ConvGeometry, _ plan: ConvPlan, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                 bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    switch plan {
    case .pointwise: pointwiseForward(g, x: x, w: w, bias: bias, y: y)
    case .shifted: shiftedForward(g, x: x, w: w, bias: bias, y: y)
    case .im2col: im2colForward(g, x: x, w: w, bias: bias, y: y)
    }
}

/// Fills each output plane with its channel's bias (so the GEMMs can accumulate with beta = 1).
private func fillBias(_ g: ConvGeometry, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let plane = g.outPlane
    parallelItems(g.batch * g.cout, costPerItem: plane) { item in
        (y + item * plane).update(repeating: bias[item % g.cout], count: plane)
    }
}

// MARK: Small GEMMs on every core

/// OpenBLAS runs a GEMM of at most 4·65536 multiply-adds on the calling thread (above that it threads it), and
/// for small row-major products it even has a direct AVX-512 kernel without packing. Layers with few input
/// channels make GEMMs too thin for OpenBLAS's own threading to pay off (K of 48–75: ~130 GFLOP/s on 2 cores);
/// cutting the output into column chunks below that limit and running the chunks on the engine's threads keeps
/// every core busy instead (~200 GFLOP/s), with each chunk's patch matrix built in L1 right before its product.
/// Returns the chunk width, or nil when the chunks would be too narrow to be efficient.
private let singleThreadGemmLimit = 4 * 65536

private func smallGemmColumns(m: Int, k: Int) -> Int? {
    let c = (singleThreadGemmLimit / max(1, m * k)) & ~15
    return c >= 32 ? c : nil
}

/// Forward pass by column chunks spread over the cores (see `singleThreadGemmLimit`): for each chunk of one
/// image's output positions, build its patch matrix (not for pointwise kernels) and multiply.
private func chunkedForward(_ g: ConvGeometry, pointwise: Bool, chunk: Int, x: UnsafePointer<Float>,
                            w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    let n = g.outPlane, k = g.kdim
    let perImage = (n + chunk - 1) / chunk
    let items = g.batch * perImage
    let workers = max(1, min(Engine.threadCount, items))
    let scratch = TensorStorage(count: pointwise ? 0 : workers * k * chunk, zeroed: false)
    let imageSize = g.cin * g.inPlane
    parallelItems(workers, costPerItem: (items / workers) * chunk * k * g.cout / 8) { wk in
        let col = scratch.pointer + wk * k * chunk
        let lo = wk * items / workers, hi = (wk + 1) * items / workers
        for item in lo..<hi {
            let b = item / perImage
            let n0 = (item % perImage) * chunk, n1 = min(n, n0 + chunk), cols = n1 - n0
            let out = y + b * g.cout * n + n0
            if pointwise {
                sgemm(m: g.cout, n: cols, k: k, a: w, b: x + b * imageSize + n0, ldb: n, c: out, ldc: n)
            } else {
                let image = x + b * imageSize
                for r in 0..<k { im2colRow(g, r, image: image, from: n0, to: n1, into: col + r * cols) }
                sgemm(m: g.cout, n: cols, k: k, a: w, b: col, c: out, ldc: n)
            }
            if let bias {
                for co in 0..<g.cout {
                    let row = out + co * n, bv = bias[co]
                    for j in 0..<cols { row[j] += bv }
                }
            }
        }
    }
}

/// Backward pass by column chunks (see `singleThreadGemmLimit`). Each worker owns whole images, so its col2im
/// never touches another worker's rows, and accumulates its own partial dW; the partials are added at the end.
/// Per chunk: dW[Cout, K] += dY · colᵀ and dcol = Wᵀ · dY (scattered back by col2im), both single-threaded.
private func chunkedBackward(_ g: ConvGeometry, pointwise: Bool, chunk: Int, x: UnsafePointer<Float>,
                             w: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                             dw: UnsafeMutablePointer<Float>?) {
    let n = g.outPlane, k = g.kdim, cout = g.cout
    let perImage = (n + chunk - 1) / chunk
    let workers = max(1, min(Engine.threadCount, g.batch))
    let colSize = pointwise ? 0 : k * chunk
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
                    if pointwise {
                        sgemm(transB: true, m: cout, n: k, k: cols, a: dyb + n0, lda: n, b: image + n0, ldb: n,
                              beta: 1, c: partial)
                    } else {
                        for r in 0..<k { im2colRow(g, r, image: image, from: n0, to: n1, into: col + r * cols) }
                        sgemm(transB: true, m: cout, n: k, k: cols, a: dyb + n0, lda: n, b: col, ldb: cols,
                              beta: 1, c: partial)
                    }
                }
                if let dx {
                    let dxb = dx + b * imageIn
                    if pointwise {
                        sgemm(transA: true, m: k, n: cols, k: cout, a: w, b: dyb + n0, ldb: n, c: dxb + n0, ldc: n)
                    } else {
                        sgemm(transA: true, m: k, n: cols, k: cout, a: w, b: dyb + n0, ldb: n, c: col)
                        for r in 0..<k { col2imRow(g, r, image: dxb, from: n0, to: n1, adding: col + r * cols) }
                    }
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

/// Whether the chunked backward pass applies: thin products, and at least one image per worker.
private func chunkedBackwardColumns(_ g: ConvGeometry, k: Int) -> Int? {
    guard g.batch >= Engine.threadCount else { return nil }
    return smallGemmColumns(m: g.cout, k: k)
}

private func pointwiseForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    if let chunk = smallGemmColumns(m: g.cout, k: g.cin) {
        chunkedForward(g, pointwise: true, chunk: chunk, x: x, w: w, bias: bias, y: y)
        return
    }
    if let bias { fillBias(g, bias: bias, y: y) }
    let n = g.inPlane
    for b in 0..<g.batch {
        sgemm(m: g.cout, n: n, k: g.cin, a: w, b: x + b * g.cin * n,
              beta: bias == nil ? 0 : 1, c: y + b * g.cout * n)
    }
}

// MARK: im2col

/// Pieces of the im2col schedule. Grouping images costs a transposing copy of the output, so only images
/// too small to make a good GEMM on their own are grouped.
private func im2colTiles(_ g: ConvGeometry) -> [ConvTile] {
    let budget = g.im2colBudget
    return convTiles(batch: g.batch, rows: g.ho, rowCost: g.wo, imageCost: g.outPlane, budget: budget,
                     groupBudget: min(budget, 2048))
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

/// Writes patch row `r` (channel, ki, kj) of one image for output positions n0..<n1 (flattened oy·Wo + ox)
/// into `dst[0 ..< n1−n0]`: shifted input row segments, zeros where the patch reads padding.
@inline(__always)
private func im2colRow(_ g: ConvGeometry, _ r: Int, image: UnsafePointer<Float>, from n0: Int, to n1: Int,
                       into dst: UnsafeMutablePointer<Float>) {
    let wo = g.wo, taps = g.taps
    let c = r / taps, t = r % taps, ki = t / g.kw, kj = t % g.kw
    let plane = image + c * g.inPlane
    // Output columns whose input column ox·sw − pw + kj lies inside [0, W).
    let lo = max(0, (g.pw - kj + g.sw - 1) / g.sw)
    let hiNum = g.w - 1 + g.pw - kj
    let hi = hiNum < 0 ? 0 : min(wo, hiNum / g.sw + 1)
    var d = dst
    var n = n0
    while n < n1 {
        let oy = n / wo
        let a = n - oy * wo, e = min(wo, a + (n1 - n))   // this row's output columns a..<e
        let iy = oy * g.sh - g.ph + ki
        let vlo = max(a, lo), vhi = min(e, hi)
        if iy < 0 || iy >= g.h || vlo >= vhi {
            zeroFill(d, e - a)
        } else {
            zeroFill(d, vlo - a)
            let src = plane + iy * g.w + (vlo * g.sw - g.pw + kj)
            let out = d + (vlo - a)
            let count = vhi - vlo
            if g.sw == 1 {
                out.update(from: src, count: count)
            } else if g.sw == 2 {
                for k in 0..<count { out[k] = src[2 * k] }
            } else {
                let sw = g.sw
                for k in 0..<count { out[k] = src[k * sw] }
            }
            zeroFill(d + (vhi - a), e - vhi)
        }
        d += e - a
        n += e - a
    }
}

/// The transpose of `im2colRow`: adds `src[0 ..< n1−n0]` (patch row `r` for output positions n0..<n1) back into
/// the input-gradient image `image`.
@inline(__always)
private func col2imRow(_ g: ConvGeometry, _ r: Int, image: UnsafeMutablePointer<Float>, from n0: Int, to n1: Int,
                       adding src: UnsafePointer<Float>) {
    let wo = g.wo, taps = g.taps
    let c = r / taps, t = r % taps, ki = t / g.kw, kj = t % g.kw
    let plane = image + c * g.inPlane
    let lo = max(0, (g.pw - kj + g.sw - 1) / g.sw)
    let hiNum = g.w - 1 + g.pw - kj
    let hi = hiNum < 0 ? 0 : min(wo, hiNum / g.sw + 1)
    var s = src
    var n = n0
    while n < n1 {
        let oy = n / wo
        let a = n - oy * wo, e = min(wo, a + (n1 - n))
        let iy = oy * g.sh - g.ph + ki
        let vlo = max(a, lo), vhi = min(e, hi)
        if iy >= 0 && iy < g.h && vlo < vhi {
            let dst = plane + iy * g.w + (vlo * g.sw - g.pw + kj)
            let sp = s + (vlo - a)
            let count = vhi - vlo
            if g.sw == 1 {
                for k in 0..<count { dst[k] += sp[k] }
            } else {
                let sw = g.sw
                for k in 0..<count { dst[k * sw] += sp[k] }
            }
        }
        s += e - a
        n += e - a
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
                let r = (c * g.kh + ki) * g.kw + kj
                let lo = max(0, (g.pw - kj + g.sw - 1) / g.sw)
                let hiNum = g.w - 1 + g.pw - kj
                let hi = hiNum < 0 ? 0 : min(wo, hiNum / g.sw + 1)
                if lo >= hi { continue }
                let n = hi - lo
                let s = col + r * ld + i * rows * wo + (oy - tile.oy0) * wo + lo
                let dst = dstRow + (lo * g.sw - g.pw + kj)
                if g.sw == 1 {
                    for k in 0..<n { dst[k] += s[k] }
                } else if g.sw == 2 {
                    for k in 0..<n { dst[2 * k] += s[k] }
                } else {
                    let sw = g.sw
                    for k in 0..<n { dst[k * sw] += s[k] }
                }
            }
        }
    }
}

private func im2colForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                           bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    if let chunk = smallGemmColumns(m: g.cout, k: g.kdim) {
        chunkedForward(g, pointwise: false, chunk: chunk, x: x, w: w, bias: bias, y: y)
        return
    }
    let n = g.outPlane
    let tiles = im2colTiles(g)
    let maxCols = tiles.map { $0.images * ($0.oy1 - $0.oy0) * g.wo }.max() ?? 0
    let col = TensorStorage(count: g.kdim * maxCols, zeroed: false)
    let grouped = tiles.contains { $0.images > 1 }
    let staging = TensorStorage(count: grouped ? g.cout * maxCols : 0, zeroed: false)
    if let bias, !grouped { fillBias(g, bias: bias, y: y) }

    for tile in tiles {
        let cols = tile.images * (tile.oy1 - tile.oy0) * g.wo
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

// MARK: Shifted GEMMs

/// Buffers and geometry of the shifted schedule.
private struct ShiftedLayout {
    let tiles: [ConvTile]
    /// Padded plane size hp·wp; image i of a group starts at column i·plane.
    let plane: Int
    /// Row stride of the padded buffer (one row per channel, holding a whole group plus slack).
    let stride: Int
    let maxCols: Int

    init(_ g: ConvGeometry) {
        plane = g.hp * g.wp
        let budget = g.shiftedBudget
        tiles = convTiles(batch: g.batch, rows: g.ho, rowCost: g.wp, imageCost: plane, budget: budget,
                          groupBudget: budget)
        let groupMax = tiles.map { $0.images }.max() ?? 1
        // Reads run up to (kh−1)·wp + kw − 1 past a piece's last column: kw − 1 beyond the group.
        var s = (groupMax * plane + g.kw - 1 + 15) & ~15
        if (s * 4) % 4096 == 0 { s += 16 }  // avoid a power-of-two row stride (cache-set conflicts)
        stride = s
        let p = plane
        maxCols = tiles.map { Self.columns($0, g, p) }.max() ?? 0
    }

    /// Wide columns of a piece: whole padded planes for the leading images, then its output rows at width wp.
    static func columns(_ t: ConvTile, _ g: ConvGeometry, _ plane: Int) -> Int {
        (t.images - 1) * plane + (t.oy1 - t.oy0) * g.wp
    }
}

/// Copies the images of `tile` into the padded buffer (channel-major: row c holds the group's padded planes).
private func padImages(_ g: ConvGeometry, _ L: ShiftedLayout, _ tile: ConvTile, x: UnsafePointer<Float>,
                       into buf: UnsafeMutablePointer<Float>, channelStride: Int? = nil) {
    let cs = channelStride ?? L.stride
    let wp = g.wp, plane = L.plane
    parallelItems(g.cin * tile.images, costPerItem: plane) { item in
        let c = item / tile.images, i = item % tile.images
        let src = x + ((tile.b0 + i) * g.cin + c) * g.inPlane
        let dst = buf + c * cs + i * plane
        zeroFill(dst, g.ph * wp + g.pw)
        for iy in 0..<g.h {
            let row = dst + (iy + g.ph) * wp
            row.update(repeating: 0, count: g.pw)
            (row + g.pw).update(from: src + iy * g.w, count: g.w)
            (row + g.pw + g.w).update(repeating: 0, count: g.pw)
        }
        zeroFill(dst + (g.ph + g.h) * wp, g.ph * wp)
        if i == tile.images - 1 {
            zeroFill(dst + plane, L.stride - (tile.images * plane))
        }
    }
}

/// Weight [Cout, Cin, kh, kw] → per-tap matrices [kh·kw][Cout, Cin].
private func packTaps(_ g: ConvGeometry, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
    let taps = g.taps, cc = g.cout * g.cin
    for oc in 0..<cc {
        let src = w + oc * taps
        for t in 0..<taps { out[t * cc + oc] = src[t] }
    }
}

private func shiftedForward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                            bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
    let L = ShiftedLayout(g)
    let padded = TensorStorage(count: g.cin * L.stride, zeroed: false)
    let wide = TensorStorage(count: g.cout * L.maxCols, zeroed: false)
    let taps = TensorStorage(count: g.taps * g.cout * g.cin, zeroed: false)
    packTaps(g, w, taps.pointer)
    let wp = g.wp, wo = g.wo, n = g.outPlane, cc = g.cout * g.cin

    var lastGroup = -1
    for tile in L.tiles {
        if tile.b0 != lastGroup {
            padImages(g, L, tile, x: x, into: padded.pointer)
            lastGroup = tile.b0
        }
        let cols = ShiftedLayout.columns(tile, g, L.plane)
        let base = tile.oy0 * wp
        for t in 0..<g.taps {
            let shift = (t / g.kw) * wp + t % g.kw
            sgemm(m: g.cout, n: cols, k: g.cin, a: taps.pointer + t * cc, b: padded.pointer + base + shift,
                  ldb: L.stride, beta: t == 0 ? 0 : 1, c: wide.pointer)
        }
        // Keep the first wo of every wide row; add the bias.
        let wd = wide.pointer, plane = L.plane
        parallelItems(tile.images * g.cout, costPerItem: (tile.oy1 - tile.oy0) * wo) { item in
            let i = item / g.cout, co = item % g.cout
            let bv = bias?[co] ?? 0
            var src = wd + co * cols + i * plane
            var dst = y + ((tile.b0 + i) * g.cout + co) * n + tile.oy0 * wo
            for _ in tile.oy0..<tile.oy1 {
                for k in 0..<wo { dst[k] = src[k] + bv }
                src += wp
                dst += wo
            }
        }
    }
}

// MARK: - Backward

/// Fills `dx` and/or `dw` from the output gradient `dy` (the caller zeroes them for the im2col lowering, which
/// accumulates; the others overwrite every element).
func convBackward(_ g: ConvGeometry, _ plan: ConvPlan, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                  dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?) {
    switch plan {
    case .pointwise: pointwiseBackward(g, x: x, w: w, dy: dy, dx: dx, dw: dw)
    case .shifted: shiftedBackward(g, x: x, w: w, dy: dy, dx: dx, dw: dw)
    case .im2col: im2colBackward(g, x: x, w: w, dy: dy, dx: dx, dw: dw)
    }
}

/// db[co] = Σ over batch and positions of dy.
func biasGradient(_ g: ConvGeometry, dy: UnsafePointer<Float>, db: UnsafeMutablePointer<Float>) {
    let n = g.outPlane
    parallelItems(g.cout, costPerItem: g.batch * n) { co in
        var total = 0.0
        for b in 0..<g.batch {
            let p = dy + (b * g.cout + co) * n
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var k = 0
            while k + 4 <= n {
                s0 += p[k]; s1 += p[k + 1]; s2 += p[k + 2]; s3 += p[k + 3]
                k += 4
            }
            while k < n { s0 += p[k]; k += 1 }
            total += Double((s0 + s1) + (s2 + s3))
        }
        db[co] = Float(total)
    }
}

private func pointwiseBackward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                               dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                               dw: UnsafeMutablePointer<Float>?) {
    if let chunk = chunkedBackwardColumns(g, k: g.cin) {
        chunkedBackward(g, pointwise: true, chunk: chunk, x: x, w: w, dy: dy, dx: dx, dw: dw)
        return
    }
    let n = g.inPlane
    for b in 0..<g.batch {
        let dyb = dy + b * g.cout * n
        if let dw {
            // dW[Cout, Cin] += dY_b · X_bᵀ
            sgemm(transB: true, m: g.cout, n: g.cin, k: n, a: dyb, b: x + b * g.cin * n,
                  beta: b == 0 ? 0 : 1, c: dw)
        }
        if let dx {
            // dX_b[Cin, HW] = Wᵀ · dY_b
            sgemm(transA: true, m: g.cin, n: n, k: g.cout, a: w, b: dyb, c: dx + b * g.cin * n)
        }
    }
}

private func im2colBackward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                            dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                            dw: UnsafeMutablePointer<Float>?) {
    if let chunk = chunkedBackwardColumns(g, k: g.kdim) {
        chunkedBackward(g, pointwise: false, chunk: chunk, x: x, w: w, dy: dy, dx: dx, dw: dw)
        return
    }
    let n = g.outPlane
    let tiles = im2colTiles(g)
    let maxCols = tiles.map { $0.images * ($0.oy1 - $0.oy0) * g.wo }.max() ?? 0
    let col = TensorStorage(count: g.kdim * maxCols, zeroed: false)
    let grouped = tiles.contains { $0.images > 1 }
    let staging = TensorStorage(count: grouped ? g.cout * maxCols : 0, zeroed: false)

    for tile in tiles {
        let cols = tile.images * (tile.oy1 - tile.oy0) * g.wo
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

private func shiftedBackward(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                             dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                             dw: UnsafeMutablePointer<Float>?) {
    let L = ShiftedLayout(g)
    let wp = g.wp, wo = g.wo, n = g.outPlane, cc = g.cout * g.cin, plane = L.plane
    // For dW the padded input is stored "kw-folded": row ci·kw + kj is channel ci shifted left by kj, so that
    // the kw taps of a kernel row share one GEMM  dW[:, :, ki, :] = dY · X_foldedᵀ  of Cin·kw columns
    // (a far better GEMM shape than kh·kw products of only Cin columns each).
    let kw = g.kw, foldRows = g.cin * kw
    let folded = TensorStorage(count: dw != nil ? foldRows * L.stride : 0, zeroed: false)
    let paddedGrad = TensorStorage(count: dx != nil ? g.cin * L.stride : 0, zeroed: false)
    let wide = TensorStorage(count: g.cout * L.maxCols, zeroed: false)
    let taps = TensorStorage(count: dx != nil ? g.taps * cc : 0, zeroed: false)
    let tapGrads = TensorStorage(count: dw != nil ? g.taps * cc : 0, zeroed: false)
    if dx != nil { packTaps(g, w, taps.pointer) }
    if dw != nil { zeroFill(tapGrads.pointer, g.taps * cc) }

    var i0 = 0
    while i0 < L.tiles.count {
        // All pieces of one group (one image cut in bands, or one group of whole images).
        let first = L.tiles[i0]
        var i1 = i0
        while i1 < L.tiles.count && L.tiles[i1].b0 == first.b0 { i1 += 1 }
        if dw != nil {
            let f = folded.pointer, stride = L.stride
            padImages(g, L, first, x: x, into: f, channelStride: kw * stride)
            if kw > 1 {
                parallelItems(g.cin * (kw - 1), costPerItem: stride) { item in
                    let c = item / (kw - 1), kj = item % (kw - 1) + 1
                    let src = f + c * kw * stride
                    let dst = src + kj * stride
                    dst.update(from: src + kj, count: stride - kj)
                    zeroFill(dst + stride - kj, kj)
                }
            }
        }
        if dx != nil {
            let pg = paddedGrad.pointer, stride = L.stride
            parallelItems(g.cin, costPerItem: stride) { c in zeroFill(pg + c * stride, stride) }
        }

        for tile in L.tiles[i0..<i1] {
            let cols = ShiftedLayout.columns(tile, g, plane)
            let base = tile.oy0 * wp
            // dY in the wide layout, zero in the discarded columns and in the rows between images.
            let wd = wide.pointer
            let rows = tile.oy1 - tile.oy0
            parallelItems(g.cout, costPerItem: cols) { co in
                let rowBase = wd + co * cols
                for i in 0..<tile.images {
                    var dst = rowBase + i * plane
                    var src = dy + ((tile.b0 + i) * g.cout + co) * n + tile.oy0 * wo
                    for _ in 0..<rows {
                        dst.update(from: src, count: wo)
                        zeroFill(dst + wo, wp - wo)
                        dst += wp
                        src += wo
                    }
                    if i < tile.images - 1 { zeroFill(dst, plane - rows * wp) }
                }
            }
            if dw != nil {
                for ki in 0..<g.kh {
                    // dW[:, :, ki, :] as [Cout, Cin·kw] += dYw · X_folded[ki·wp …]ᵀ
                    sgemm(transB: true, m: g.cout, n: foldRows, k: cols, a: wd,
                          b: folded.pointer + base + ki * wp, ldb: L.stride, beta: 1,
                          c: tapGrads.pointer + ki * cc * kw)
                }
            }
            for t in 0..<g.taps {
                let shift = base + (t / g.kw) * wp + t % g.kw
                if dx != nil {
                    // dX_padded[:, shifted] += W_tᵀ · dYw
                    sgemm(transA: true, m: g.cin, n: cols, k: g.cout, a: taps.pointer + t * cc, b: wd,
                          beta: 1, c: paddedGrad.pointer + shift, ldc: L.stride)
                }
            }
        }

        if let dx {
            let pg = paddedGrad.pointer, stride = L.stride
            parallelItems(g.cin * first.images, costPerItem: g.inPlane) { item in
                let c = item / first.images, i = item % first.images
                let src = pg + c * stride + i * plane + g.ph * wp + g.pw
                let dst = dx + ((first.b0 + i) * g.cin + c) * g.inPlane
                for iy in 0..<g.h { (dst + iy * g.w).update(from: src + iy * wp, count: g.w) }
            }
        }
        i0 = i1
    }

    if let dw {
        // [kh][Cout, Cin, kw] → [Cout, Cin, kh, kw]
        let tg = tapGrads.pointer, kh = g.kh
        for oc in 0..<cc {
            for ki in 0..<kh {
                let src = tg + ki * cc * kw + oc * kw
                let dst = dw + (oc * kh + ki) * kw
                for kj in 0..<kw { dst[kj] = src[kj] }
            }
        }
    }
}

// MARK: - Pixel shuffle

/// PyTorch's `PixelShuffle`: `[B, C·r², H, W] → [B, C, H·r, W·r]` with
/// `out[b, c, h·r + i, w·r + j] = x[b, c·r² + i·r + j, h, w]`. Recorded.
public func pixelShuffle(_ x: Tensor, upscale r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelShuffle: input must be [B, C·r², H, W], got \(x.shape)")
    precondition(r >= 1 && x.shape[1] % (r * r) == 0,
                 "pixelShuffle: \(x.shape[1]) channels are not divisible by upscale² = \(r * r)")
    let b = x.shape[0], c = x.shape[1] / (r * r), h = x.shape[2], w = x.shape[3]
    let out = Tensor(zeros: [b, c, h * r, w * r], zeroed: false)
    shufflePixels(b: b, c: c, h: h, w: w, r: r, small: x.data, large: out.data, toLarge: true)
    if shouldRecord(x) {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape, zeroed: false)
            shufflePixels(b: b, c: c, h: h, w: w, r: r, small: gi.data, large: g.data, toLarge: false)
            return [gi]
        }
    }
    return out
}

/// The inverse of `pixelShuffle` (PyTorch's `PixelUnshuffle`): `[B, C, H·r, W·r] → [B, C·r², H, W]`. Recorded.
public func pixelUnshuffle(_ x: Tensor, downscale r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelUnshuffle: input must be [B, C, H·r, W·r], got \(x.shape)")
    precondition(r >= 1 && x.shape[2] % r == 0 && x.shape[3] % r == 0,
                 "pixelUnshuffle: spatial size \(x.shape[2])×\(x.shape[3]) is not divisible by \(r)")
    let b = x.shape[0], c = x.shape[1], h = x.shape[2] / r, w = x.shape[3] / r
    let out = Tensor(zeros: [b, c * r * r, h, w], zeroed: false)
    shufflePixels(b: b, c: c, h: h, w: w, r: r, small: out.data, large: x.data, toLarge: false)
    if shouldRecord(x) {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape, zeroed: false)
            shufflePixels(b: b, c: c, h: h, w: w, r: r, small: g.data, large: gi.data, toLarge: true)
            return [gi]
        }
    }
    return out
}

/// Moves data between the `[B, C·r², H, W]` ("small") and `[B, C, H·r, W·r]` ("large") layouts.
private func shufflePixels(b: Int, c: Int, h: Int, w: Int, r: Int, small: UnsafeMutablePointer<Float>,
                           large: UnsafeMutablePointer<Float>, toLarge: Bool) {
    let plane = h * w, wr = w * r
    parallelItems(b * c, costPerItem: r * r * plane) { bc in
        let s0 = small + bc * r * r * plane
        let l0 = large + bc * r * r * plane
        for i in 0..<r {
            for j in 0..<r {
                let s = s0 + (i * r + j) * plane
                for hh in 0..<h {
                    let sr = s + hh * w
                    let lr = l0 + (hh * r + i) * wr + j
                    if toLarge {
                        for ww in 0..<w { lr[ww * r] = sr[ww] }
                    } else {
                        for ww in 0..<w { sr[ww] = lr[ww * r] }
                    }
                }
            }
        }
    }
}
