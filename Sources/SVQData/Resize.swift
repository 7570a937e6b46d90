// Resizing so that any folder of PNGs can feed a fixed-size model. Each axis is resampled on its own:
// shrinking averages the source area under each output pixel (box filter, no aliasing), enlarging
// interpolates bilinearly between pixel centres (half-pixel convention, edges clamped).

extension RGBImage {
    /// This image resampled to `width`×`height`: area averaging along an axis that shrinks, bilinear
    /// interpolation along one that grows, a plain copy when the size is unchanged.
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resized: target \(newWidth)×\(newHeight) must be positive")
        precondition(width > 0 && height > 0, "resized: cannot resample an empty image")
        if newWidth == width && newHeight == height { return self }
        let columns = resamplingTaps(from: width, to: newWidth)
        let rows = resamplingTaps(from: height, to: newHeight)

        // Horizontal pass into floats (height × newWidth × 3), then vertical pass with rounding.
        var horizontal = [Float](repeating: 0, count: height * newWidth * 3)
        for y in 0..<height {
            for (x, taps) in columns.enumerated() {
                var acc: (Float, Float, Float) = (0, 0, 0)
                for tap in taps {
                    let i = 3 * (y * width + tap.index)
                    acc.0 += tap.weight * Float(pixels[i])
                    acc.1 += tap.weight * Float(pixels[i + 1])
                    acc.2 += tap.weight * Float(pixels[i + 2])
                }
                let o = 3 * (y * newWidth + x)
                horizontal[o] = acc.0; horizontal[o + 1] = acc.1; horizontal[o + 2] = acc.2
            }
        }
        var out = [UInt8](repeating: 0, count: newHeight * newWidth * 3)
        for (y, taps) in rows.enumerated() {
            for x in 0..<newWidth {
                for c in 0..<3 {
                    var acc: Float = 0
                    for tap in taps { acc += tap.weight * horizontal[3 * (tap.index * newWidth + x) + c] }
                    out[3 * (y * newWidth + x) + c] = quantize(acc / 255)
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }
}

/// One source sample contributing to an output sample.
struct ResamplingTap {
    let index: Int
    let weight: Float
}

/// For each of `outputCount` samples along an axis of `inputCount`, the source samples and weights
/// (summing to 1) that produce it.
func resamplingTaps(from inputCount: Int, to outputCount: Int) -> [[ResamplingTap]] {
    let scale = Double(inputCount) / Double(outputCount)
    if outputCount < inputCount {
        // Box: output pixel o covers source interval [o·scale, (o+1)·scale); weight = overlap / scale.
        return (0..<outputCount).map { o in
            let lo = Double(o) * scale, hi = Double(o + 1) * scale
            var taps: [ResamplingTap] = []
            for i in Int(lo.rounded(.down))..<min(inputCount, Int(hi.rounded(.up))) {
                let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                if overlap > 1e-9 { taps.append(ResamplingTap(index: i, weight: Float(overlap / scale))) }
            }
            return taps
        }
    }
    // Bilinear: output centre (o + ½) maps to source coordinate (o + ½)·scale − ½, clamped to the edge pixels.
    return (0..<outputCount).map { o in
        let position = min(max((Double(o) + 0.5) * scale - 0.5, 0), Double(inputCount - 1))
        let left = Int(position.rounded(.down))
        let right = min(left + 1, inputCount - 1)
        let t = Float(position - Double(left))
        return t == 0 || left == right
            ? [ResamplingTap(index: left, weight: 1)]
            : [ResamplingTap(index: left, weight: 1 - t), ResamplingTap(index: right, weight: t)]
    }
}
