// Moves over the positions of NCHW feature maps that are not convolutions: zero padding by a different amount
// on each side, nearest-neighbour ×2 upsampling and 2×2 max-pooling, each with its backward.

/// `x` `[B, C, H, W]` surrounded by zeros: `top` rows above, `bottom` below, `left` columns before, `right`
/// after → `[B, C, top + H + bottom, left + W + right]`, as `torch.nn.functional.pad(x, (left, right, top,
/// bottom))`. The taming-transformers downsampling pads (0, 1, 0, 1) before a stride-2 convolution. Recorded.
public func zeroPadded(_ x: Tensor, top: Int, bottom: Int, left: Int, right: Int) -> Tensor {
    precondition(x.rank == 4, "zeroPadded: input must be [B, C, H, W], got \(x.shape)")
    precondition(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
                 "zeroPadded: padding must be non-negative, got top \(top), bottom \(bottom), left \(left), right \(right)")
    let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    let ho = top + h + bottom, wo = left + w + right
    let out = Tensor(zeros: [x.shape[0], x.shape[1], ho, wo])
    let px = x.data, po = out.data
    parallelItems(planes, costPerItem: ho * wo) { p in
        for i in 0..<h { (po + (p * ho + top + i) * wo + left).update(from: px + (p * h + i) * w, count: w) }
    }
    if shouldRecord(x) {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape, zeroed: false)
            let pg = g.data, pi = gi.data
            parallelItems(planes, costPerItem: h * w) { p in
                for i in 0..<h { (pi + (p * h + i) * w).update(from: pg + (p * ho + top + i) * wo + left, count: w) }
            }
            return [gi]
        }
    }
    return out
}

/// Nearest-neighbour upsampling by 2: `[B, C, H, W]` → `[B, C, 2H, 2W]`, each value copied into a 2×2 square
/// (`torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")`). Recorded: the gradient sums each
/// square.
public func upsampledNearest2x(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "upsampledNearest2x: input must be [B, C, H, W], got \(x.shape)")
    let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    let out = Tensor(zeros: [x.shape[0], x.shape[1], 2 * h, 2 * w], zeroed: false)
    let px = x.data, po = out.data
    parallelItems(planes, costPerItem: 4 * h * w) { p in
        let src = px + p * h * w, dst = po + p * 4 * h * w
        for i in 0..<h {
            let row = dst + 2 * i * 2 * w, s = src + i * w
            for j in 0..<w { row[2 * j] = s[j]; row[2 * j + 1] = s[j] }
            (row + 2 * w).update(from: row, count: 2 * w)
        }
    }
    if shouldRecord(x) {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape, zeroed: false)
            let pg = g.data, pi = gi.data
            parallelItems(planes, costPerItem: 4 * h * w) { p in
                let src = pg + p * 4 * h * w, dst = pi + p * h * w
                for i in 0..<h {
                    let top = src + 2 * i * 2 * w, below = top + 2 * w
                    for j in 0..<w { dst[i * w + j] = (top[2 * j] + top[2 * j + 1]) + (below[2 * j] + below[2 * j + 1]) }
                }
            }
            return [gi]
        }
    }
    return out
}

/// 2×2 max-pooling with stride 2: `[B, C, H, W]` → `[B, C, H/2, W/2]` (an odd last row or column is dropped,
/// as `torch.nn.MaxPool2d(2, 2)` does). Recorded: the gradient goes to the window's maximum, the first in
/// row-major order on ties (as PyTorch's CPU kernel).
public func maxPooled2x2(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "maxPooled2x2: input must be [B, C, H, W], got \(x.shape)")
    let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    let ho = h / 2, wo = w / 2
    let out = Tensor(zeros: [x.shape[0], x.shape[1], ho, wo], zeroed: false)
    let recording = shouldRecord(x)
    // Where each maximum came from (0 ..< 4 within its window), for backward only.
    var winners = [UInt8](repeating: 0, count: recording ? out.count : 0)
    let px = x.data, po = out.data
    winners.withUnsafeMutableBufferPointer { which in
        let keep = recording ? which.baseAddress : nil
        parallelItems(planes, costPerItem: h * w) { p in
            for i in 0..<ho {
                let r0 = px + (p * h + 2 * i) * w, r1 = r0 + w
                for j in 0..<wo {
                    let candidates = (r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1])
                    var best = candidates.0, at: UInt8 = 0
                    // A NaN wins and stays, as in PyTorch.
                    if candidates.1 > best || candidates.1.isNaN && !best.isNaN { best = candidates.1; at = 1 }
                    if candidates.2 > best || candidates.2.isNaN && !best.isNaN { best = candidates.2; at = 2 }
                    if candidates.3 > best || candidates.3.isNaN && !best.isNaN { best = candidates.3; at = 3 }
                    let o = (p * ho + i) * wo + j
                    po[o] = best
                    keep?[o] = at
                }
            }
        }
    }
    if recording {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape)
            let pg = g.data, pi = gi.data
            winners.withUnsafeBufferPointer { which in
                parallelItems(planes, costPerItem: ho * wo) { p in
                    for i in 0..<ho {
                        for j in 0..<wo {
                            let o = (p * ho + i) * wo + j, at = Int(which[o])
                            pi[(p * h + 2 * i + at / 2) * w + 2 * j + at % 2] = pg[o]
                        }
                    }
                }
            }
            return [gi]
        }
    }
    return out
}
