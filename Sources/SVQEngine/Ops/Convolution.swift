// 2-D convolution (NCHW, PyTorch weight layout): the API, the choice of kernels, and what they share.
//
// Without gradients, wide (≥ 128 channels) 3×3 and 5×5 stride-1 layers run Winograd F(2×2, r×r)
// (WinogradConvolution.swift). Otherwise conv2d runs on oneDNN's direct convolutions (DirectConvolution.swift)
// — forward with the bias and an optional ReLU fused, and both backward passes. Where oneDNN is missing or
// refuses a shape, every pass falls back to one GEMM lowering, im2col (Im2colConvolution.swift), which handles
// every shape.

/// How `conv2d` computes. `.automatic` is the choice for use; the others exist for tests and benchmarks.
public enum Conv2dAlgorithm: Sendable {
    /// Winograd where it is faster and nothing is recorded, else oneDNN's direct convolution, falling back to
    /// `.im2col` for a shape oneDNN cannot run.
    case automatic
    /// The GEMM lowering `.automatic` falls back to: an explicit patch matrix, then sgemm (any shape).
    case im2col
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
    let direct = algorithm != .im2col
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
            Im2colConvolution.forward(geo, x: x.data, w: weight.data, bias: bias?.data, y: out.data)
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
            // Every kernel writes every element of the gradients it computes.
            let empty = dy.count == 0
            let gx = needX ? Tensor(zeros: xd.shape, zeroed: empty) : nil
            let gw = needW ? Tensor(zeros: wd.shape, zeroed: empty) : nil
            if dy.count > 0 && (needX || needW) {
                let doneX = direct && gx != nil && DirectConvolution.backwardData(geo, w: wd.data, dy: dy.data, dx: gx!.data)
                let doneW = direct && gw != nil && DirectConvolution.backwardWeights(geo, x: xd.data, dy: dy.data, dw: gw!.data)
                let restX = doneX ? nil : gx, restW = doneW ? nil : gw
                if restX != nil || restW != nil {
                    Im2colConvolution.backward(geo, x: xd.data, w: wd.data, dy: dy.data, dx: restX?.data,
                                               dw: restW?.data)
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

// MARK: - Geometry

/// One convolution's sizes, shared by every kernel (and the key of oneDNN's primitive cache).
struct ConvGeometry: Hashable {
    let batch, cin, h, w, cout, kh, kw, sh, sw, ph, pw: Int

    var ho: Int { (h + 2 * ph - kh) / sh + 1 }
    var wo: Int { (w + 2 * pw - kw) / sw + 1 }
    /// Rows of the patch matrix: Cin·kh·kw.
    var kdim: Int { cin * kh * kw }
    var taps: Int { kh * kw }
    var inPlane: Int { h * w }
    var outPlane: Int { ho * wo }

    /// The same layer over `n` images.
    func withBatch(_ n: Int) -> ConvGeometry {
        ConvGeometry(batch: n, cin: cin, h: h, w: w, cout: cout, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw)
    }
}

/// db[co] = Σ over batch and positions of dy.
private func biasGradient(_ g: ConvGeometry, dy: UnsafePointer<Float>, db: UnsafeMutablePointer<Float>) {
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
