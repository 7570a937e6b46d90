// Pixel shuffle and its inverse: depth to space and back, as the dVAE decoder upsamples.

/// PyTorch's `PixelShuffle`: `[B, C·r², H, W] → [B, C, H·r, W·r]` with
/// `out[b, c, h·r + i, w·r + j] = x[b, c·r² + i·r + j, h, w]`. Recorded.
public func pixelShuffle(_ x: Tensor, upscale r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelShuffle: input must be [B, C·r², H, W], got \(x.shape)")
    precondition(r >= 1 && x.shape[1] % (r * r) == 0,
                 "pixelShuffle: \(x.shape[1]) channels are not divisible by upscale² = \(r * r)")
    let b = x.shape[0], c = x.shape[1] / (r * r), h = x.shape[2], w = x.shape[3]
    return shuffled(x, b: b, c: c, h: h, w: w, r: r, toLarge: true)
}

/// The inverse of `pixelShuffle` (PyTorch's `PixelUnshuffle`): `[B, C, H·r, W·r] → [B, C·r², H, W]`. Recorded.
public func pixelUnshuffle(_ x: Tensor, downscale r: Int) -> Tensor {
    precondition(x.rank == 4, "pixelUnshuffle: input must be [B, C, H·r, W·r], got \(x.shape)")
    precondition(r >= 1 && x.shape[2] % r == 0 && x.shape[3] % r == 0,
                 "pixelUnshuffle: spatial size \(x.shape[2])×\(x.shape[3]) is not divisible by \(r)")
    let b = x.shape[0], c = x.shape[1], h = x.shape[2] / r, w = x.shape[3] / r
    return shuffled(x, b: b, c: c, h: h, w: w, r: r, toLarge: false)
}

/// `x` moved to the other layout (`toLarge`: from `[B, C·r², H, W]` to `[B, C, H·r, W·r]`), recorded: the
/// gradient moves back.
private func shuffled(_ x: Tensor, b: Int, c: Int, h: Int, w: Int, r: Int, toLarge: Bool) -> Tensor {
    let out = Tensor(zeros: toLarge ? [b, c, h * r, w * r] : [b, c * r * r, h, w], zeroed: false)
    move(from: x.data, to: out.data, b: b, c: c, h: h, w: w, r: r, toLarge: toLarge)
    if shouldRecord(x) {
        let inShape = x.shape
        record(out, inputs: [x]) { g in
            let gi = Tensor(zeros: inShape, zeroed: false)
            move(from: g.data, to: gi.data, b: b, c: c, h: h, w: w, r: r, toLarge: !toLarge)
            return [gi]
        }
    }
    return out
}

/// Copies `src` into `dst` between the `[B, C·r², H, W]` ("small") and `[B, C, H·r, W·r]` ("large") layouts:
/// small to large when `toLarge`, else large to small.
private func move(from src: UnsafeMutablePointer<Float>, to dst: UnsafeMutablePointer<Float>,
                  b: Int, c: Int, h: Int, w: Int, r: Int, toLarge: Bool) {
    let small = toLarge ? src : dst, large = toLarge ? dst : src
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
