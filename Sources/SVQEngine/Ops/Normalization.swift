// Softmax, log-softmax, layer normalisation and group normalisation, each a fused kernel with its own backward.

#if canImport(Glibc)
import Glibc
#endif

/// Calls `body(base, stride)` for each of the `outer·inner` lines of length `n` along an axis.
@inline(__always)
func forEachLine(outer: Int, n: Int, inner: Int, _ body: (_ base: Int, _ stride: Int) -> Void) {
    parallelItems(outer * inner, costPerItem: n * 4) { idx in
        let o = idx / inner, j = idx % inner
        body(o * n * inner + j, inner)
    }
}

extension Tensor {
    /// Softmax along `axis` (default: last), computed stably.
    public func softmax(axis: Int = -1) -> Tensor { softmaxAlong(axis, log: false) }

    /// Log-softmax along `axis` (default: last), computed stably.
    public func logSoftmax(axis: Int = -1) -> Tensor { softmaxAlong(axis, log: true) }

    /// Softmax or log-softmax of every line along `axis`: both subtract the line's maximum before `exp`.
    private func softmaxAlong(_ axis: Int, log: Bool) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        let (outer, n, inner) = splitAround(shape, ax)
        let out = Tensor(zeros: shape, zeroed: false)
        let pi = data, po = out.data
        forEachLine(outer: outer, n: n, inner: inner) { base, s in
            var m = -Float.infinity
            for k in 0..<n { m = Swift.max(m, pi[base + k * s]) }
            var z: Float = 0
            if log {
                for k in 0..<n { z += expf(pi[base + k * s] - m) }
                let lse = m + logf(z)
                for k in 0..<n { po[base + k * s] = pi[base + k * s] - lse }
            } else {
                for k in 0..<n { let e = expf(pi[base + k * s] - m); po[base + k * s] = e; z += e }
                let inv = 1 / z
                for k in 0..<n { po[base + k * s] *= inv }
            }
        }
        if shouldRecord(self) {
            let yd = out.detached()
            record(out, inputs: [self]) { g in
                let gi = Tensor(zeros: yd.shape, zeroed: false)
                let py = yd.data, pg = g.data, pr = gi.data
                forEachLine(outer: outer, n: n, inner: inner) { base, s in
                    if log {
                        // dx = g − softmax ⊙ Σ g
                        var total: Float = 0
                        for k in 0..<n { total += pg[base + k * s] }
                        for k in 0..<n { pr[base + k * s] = pg[base + k * s] - expf(py[base + k * s]) * total }
                    } else {
                        // dx = y ⊙ (g − Σ g⊙y)
                        var dot: Float = 0
                        for k in 0..<n { dot += pg[base + k * s] * py[base + k * s] }
                        for k in 0..<n { pr[base + k * s] = py[base + k * s] * (pg[base + k * s] - dot) }
                    }
                }
                return [gi]
            }
        }
        return out
    }
}

/// Layer normalisation over the last axis: (x − mean) / sqrt(var + eps), then `· weight + bias` when given.
/// Variance is the biased (population) one, as in PyTorch.
public func layerNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    let d = x.shape.last ?? 1
    precondition(weight == nil || weight!.count == d, "layerNorm: weight \(weight!.shape) for last axis \(d)")
    precondition(bias == nil || bias!.count == d, "layerNorm: bias \(bias!.shape) for last axis \(d)")
    let rows = d == 0 ? 0 : x.count / d
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let recording = shouldRecord(inputs)
    let out = Tensor(zeros: x.shape, zeroed: false)
    // The normalised input is kept for backward only when recording; inference writes it into `out`.
    let xhat = recording ? Tensor(zeros: x.shape, zeroed: false) : out
    let rstd = Tensor(zeros: [rows], zeroed: false)
    let px = x.data, po = out.data, ph = xhat.data, pr = rstd.data
    let pw = weight?.data, pb = bias?.data
    parallelItems(rows, costPerItem: d * 3) { r in
        let xr = px + r * d, hr = ph + r * d, yr = po + r * d
        let mean = vectorSum(xr, d) / Float(d)
        let inv = 1 / (vectorSumOfSquaredDeviations(xr, d, from: mean) / Float(d) + eps).squareRoot()
        pr[r] = inv
        // Separate loops per case keep the optionals out of the vectorised loop.
        if recording {
            for j in 0..<d { hr[j] = (xr[j] - mean) * inv }
        }
        switch (pw, pb) {
        case let (w?, b?): for j in 0..<d { yr[j] = (xr[j] - mean) * inv * w[j] + b[j] }
        case let (w?, nil): for j in 0..<d { yr[j] = (xr[j] - mean) * inv * w[j] }
        case let (nil, b?): for j in 0..<d { yr[j] = (xr[j] - mean) * inv + b[j] }
        case (nil, nil): if !recording { for j in 0..<d { yr[j] = (xr[j] - mean) * inv } } else { yr.update(from: hr, count: d) }
        }
    }
    if recording {
        let wd = weight?.detached()
        let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let hasW = weight != nil, hasB = bias != nil
        record(out, inputs: inputs) { g in
            // Take pointers from the captured tensors so they stay alive as long as this closure.
            let pg = g.data, ph = xhat.data, pr = rstd.data
            var gx: Tensor? = nil
            if needX {
                let t = Tensor(zeros: xhat.shape, zeroed: false)
                let pt = t.data
                let pwd = wd?.data
                // Scratch row for dxhat = g·w, one per thread's share of rows.
                parallelChunks(rows, grain: Swift.max(1, parallelGrain / Swift.max(d, 1))) { lo, hi in
                    let scaled = UnsafeMutablePointer<Float>.allocate(capacity: d)
                    defer { scaled.deallocate() }
                    for r in lo..<hi {
                        let gr = pg + r * d, hr = ph + r * d, tr = pt + r * d
                        // dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat ⊙ xhat))
                        let dh: UnsafePointer<Float>
                        if let pwd {
                            for j in 0..<d { scaled[j] = gr[j] * pwd[j] }
                            dh = UnsafePointer(scaled)
                        } else {
                            dh = UnsafePointer(gr)
                        }
                        let m1 = vectorSum(dh, d) / Float(d), m2 = vectorDot(dh, hr, d) / Float(d)
                        let inv = pr[r]
                        for j in 0..<d { tr[j] = inv * (dh[j] - m1 - hr[j] * m2) }
                    }
                }
                gx = t
            }
            var result: [Tensor?] = [gx]
            if hasW {
                var gw: Tensor? = nil
                if needW {
                    let t = Tensor(zeros: [d])
                    let pt = t.data
                    for r in 0..<rows { for j in 0..<d { pt[j] += pg[r * d + j] * ph[r * d + j] } }
                    gw = t.reshaped(wd!.shape)
                }
                result.append(gw)
            }
            if hasB {
                var gb: Tensor? = nil
                if needB {
                    let t = Tensor(zeros: [d])
                    let pt = t.data
                    for r in 0..<rows { for j in 0..<d { pt[j] += pg[r * d + j] } }
                    gb = t.reshaped(bias!.shape)
                }
                result.append(gb)
            }
            return result
        }
    }
    return out
}

/// Group normalisation of `x` `[B, C, ...]`, as `torch.nn.GroupNorm(groups, C, eps)`: the C channels fall into
/// `groups` consecutive groups, each (sample, group) is normalised over its channels and positions with the
/// biased variance, then channel c is scaled by `weight[c]` and shifted by `bias[c]` when given.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 2, "groupNorm: input must be [B, C, ...], got \(x.shape)")
    let batch = x.shape[0], channels = x.shape[1]
    precondition(groups >= 1 && channels % groups == 0, "groupNorm: \(channels) channels do not split into \(groups) groups")
    precondition(weight == nil || weight!.count == channels, "groupNorm: weight \(weight!.shape) for \(channels) channels")
    precondition(bias == nil || bias!.count == channels, "groupNorm: bias \(bias!.shape) for \(channels) channels")
    let spatial = channels == 0 || batch == 0 ? 0 : x.count / (batch * channels)
    let perGroup = channels / groups, n = perGroup * spatial
    let rows = batch * groups
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    let recording = shouldRecord(inputs)
    let out = Tensor(zeros: x.shape, zeroed: false)
    // The normalised input is kept for backward only when recording.
    let xhat = recording ? Tensor(zeros: x.shape, zeroed: false) : nil
    let rstd = Tensor(zeros: [rows], zeroed: false)
    let px = x.data, po = out.data, ph = xhat?.data, pr = rstd.data
    let pw = weight?.data, pb = bias?.data
    parallelItems(rows, costPerItem: n * 3) { r in
        // Group r = (sample r / groups, group r % groups) is one contiguous run of n values.
        let xr = px + r * n, yr = po + r * n
        let mean = vectorSum(xr, n) / Float(Swift.max(n, 1))
        let inv = 1 / (vectorSumOfSquaredDeviations(xr, n, from: mean) / Float(Swift.max(n, 1)) + eps).squareRoot()
        pr[r] = inv
        if let ph { for j in 0..<n { ph[r * n + j] = (xr[j] - mean) * inv } }
        let firstChannel = (r % groups) * perGroup
        for c in 0..<perGroup {
            let scale = inv * (pw?[firstChannel + c] ?? 1), shift = pb?[firstChannel + c] ?? 0
            let xc = xr + c * spatial, yc = yr + c * spatial
            // y = (x − mean)·inv·w + b, as one multiply-add per element.
            let offset = shift - mean * scale
            for j in 0..<spatial { yc[j] = xc[j] * scale + offset }
        }
    }
    if recording, let xhat {
        let wd = weight?.detached()
        let needX = x.requiresGrad, needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let hasW = weight != nil, biasShape = bias?.shape
        record(out, inputs: inputs) { g in
            let pg = g.data, ph = xhat.data, pr = rstd.data
            var gx: Tensor? = nil
            if needX {
                // Per group: dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat ⊙ xhat)), dxhat = g · w[c].
                let t = Tensor(zeros: x.shape, zeroed: false)
                let pt = t.data, pwd = wd?.data
                parallelItems(rows, costPerItem: n * 4) { r in
                    let gr = pg + r * n, hr = ph + r * n, tr = pt + r * n
                    let firstChannel = (r % groups) * perGroup
                    var sum: Float = 0, dot: Float = 0
                    for c in 0..<perGroup {
                        let w = pwd?[firstChannel + c] ?? 1
                        let gc = gr + c * spatial, hc = hr + c * spatial
                        sum += w * vectorSum(gc, spatial)
                        dot += w * vectorDot(gc, hc, spatial)
                    }
                    let m1 = sum / Float(n), m2 = dot / Float(n), inv = pr[r]
                    for c in 0..<perGroup {
                        let w = pwd?[firstChannel + c] ?? 1
                        let gc = gr + c * spatial, hc = hr + c * spatial, tc = tr + c * spatial
                        for j in 0..<spatial { tc[j] = inv * (gc[j] * w - m1 - hc[j] * m2) }
                    }
                }
                gx = t
            }
            var result: [Tensor?] = [gx]
            // dw[c] = Σ g·xhat, db[c] = Σ g over the samples and positions of channel c.
            func perChannel(_ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Float) -> Tensor {
                let t = Tensor(zeros: [channels])
                let pt = t.data
                parallelItems(channels, costPerItem: batch * spatial) { c in
                    var total: Float = 0
                    for b in 0..<batch {
                        let at = (b * channels + c) * spatial
                        total += body(pg + at, ph + at)
                    }
                    pt[c] = total
                }
                return t
            }
            if hasW { result.append(needW ? perChannel { vectorDot($0, $1, spatial) }.reshaped(wd!.shape) : nil) }
            if let biasShape { result.append(needB ? perChannel { g, _ in vectorSum(g, spatial) }.reshaped(biasShape) : nil) }
            return result
        }
    }
    return out
}
