// Between the API's image layout (NHWC: pixels interleaved, as image files and numpy hold them) and the
// model's (NCHW tensors), and between float pixels in [0, 1] and bytes.

import SVQEngine

/// An NCHW tensor `[B, C, H, W]` of NHWC `pixels` (`[B, H, W, C]`, row-major), each mapped by `value`.
func nchwTensor<Pixel>(nhwc pixels: [Pixel], batch b: Int, height h: Int, width w: Int, channels c: Int,
                       _ value: (Pixel) -> Float) -> Tensor {
    let out = Tensor(zeros: [b, c, h, w], zeroed: false)
    let o = out.data
    pixels.withUnsafeBufferPointer { src in
        for i in 0..<b {
            for y in 0..<h {
                for x in 0..<w {
                    let from = ((i * h + y) * w + x) * c
                    for ch in 0..<c {
                        o[((i * c + ch) * h + y) * w + x] = value(src[from + ch])
                    }
                }
            }
        }
    }
    return out
}

/// The NHWC values of an NCHW tensor `[B, C, H, W]`, each mapped by `value`.
func nhwcValues<Pixel>(nchw t: Tensor, _ value: (Float) -> Pixel) -> [Pixel] {
    let b = t.shape[0], c = t.shape[1], h = t.shape[2], w = t.shape[3]
    let p = t.data
    var out = [Pixel]()
    out.reserveCapacity(t.count)
    for i in 0..<b {
        for y in 0..<h {
            for x in 0..<w {
                for ch in 0..<c { out.append(value(p[((i * c + ch) * h + y) * w + x])) }
            }
        }
    }
    return out
}

/// A byte 0…255 as a pixel in [0, 1].
@inline(__always)
func unitPixel(_ byte: UInt8) -> Float { Float(byte) / 255 }   // as numpy's `x / 255` computes it

/// A pixel in [0, 1] as the nearest byte; out-of-range values clamp and NaN gives 0 (a plain `UInt8(_:)`
/// conversion would trap on either).
@inline(__always)
func bytePixel(_ x: Float) -> UInt8 {
    let v = x * 255
    guard v > 0 else { return 0 }
    guard v < 255 else { return 255 }
    return UInt8(v.rounded())
}
