// The image type of the data pipeline: 8-bit RGB in memory (a quarter of a float tensor's size, so whole
// datasets stay loaded), converted to float tensors in [0, 1] only when a batch is formed.

import SVQEngine

/// An 8-bit RGB image: `pixels` holds R, G, B interleaved, row-major, top row first (3·width·height bytes).
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(pixels.count == 3 * width * height,
                     "\(pixels.count) bytes do not hold a \(width)×\(height) RGB image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = fill.0; pixels[i + 1] = fill.1; pixels[i + 2] = fill.2
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The colour at column `x`, row `y`.
    public func pixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = 3 * (y * width + x)
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    public mutating func setPixel(x: Int, y: Int, _ rgb: (UInt8, UInt8, UInt8)) {
        let i = 3 * (y * width + x)
        pixels[i] = rgb.0; pixels[i + 1] = rgb.1; pixels[i + 2] = rgb.2
    }
}

// MARK: - Tensors

extension RGBImage {
    /// The image as a `[3, height, width]` tensor in [0, 1] (channel-first, like torchvision's `ToTensor`).
    public func tensor() -> Tensor {
        let out = Tensor(zeros: [3, height, width], zeroed: false)
        write(into: out.data)
        return out
    }

    /// Writes the planar float form (3 planes of height·width values) to `destination`.
    func write(into destination: UnsafeMutablePointer<Float>) {
        let plane = width * height
        pixels.withUnsafeBufferPointer { src in
            for i in 0..<plane {
                destination[i] = Float(src[3 * i]) / 255
                destination[plane + i] = Float(src[3 * i + 1]) / 255
                destination[2 * plane + i] = Float(src[3 * i + 2]) / 255
            }
        }
    }

    /// An image from a `[3, H, W]` tensor (or `[1, 3, H, W]`): values are clamped to [0, 1] and rounded
    /// to the nearest of 256 levels; NaN becomes 0.
    public init(tensor: Tensor) {
        let s = tensor.shape
        precondition((s.count == 3 && s[0] == 3) || (s.count == 4 && s[0] == 1 && s[1] == 3),
                     "RGBImage(tensor:) needs [3, H, W] or [1, 3, H, W], got \(s)")
        self.init(planes: tensor.data, height: s[s.count - 2], width: s[s.count - 1])
    }

    /// Reads 3 planes of height·width floats.
    init(planes source: UnsafePointer<Float>, height: Int, width: Int) {
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            pixels[3 * i] = quantize(source[i])
            pixels[3 * i + 1] = quantize(source[plane + i])
            pixels[3 * i + 2] = quantize(source[2 * plane + i])
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Stacks equally sized images into a `[B, 3, H, W]` tensor.
    public static func batch(_ images: [RGBImage]) -> Tensor {
        images.batch(indices: Array(images.indices))
    }

    /// Splits a `[B, 3, H, W]` tensor (e.g. a batch of reconstructions) into images.
    public static func images(fromBatch batch: Tensor) -> [RGBImage] {
        precondition(batch.rank == 4 && batch.shape[1] == 3, "images(fromBatch:) needs [B, 3, H, W], got \(batch.shape)")
        let (h, w) = (batch.shape[2], batch.shape[3])
        return (0..<batch.shape[0]).map { RGBImage(planes: batch.data + $0 * 3 * h * w, height: h, width: w) }
    }
}

extension Array where Element == RGBImage {
    /// The images at `indices`, stacked into a `[B, 3, H, W]` tensor in [0, 1]. All must share one size.
    public func batch(indices: [Int]) -> Tensor {
        precondition(!indices.isEmpty, "batch(indices:) needs at least one index")
        let first = self[indices[0]]
        let (h, w) = (first.height, first.width)
        let out = Tensor(zeros: [indices.count, 3, h, w], zeroed: false)
        for (slot, index) in indices.enumerated() {
            let image = self[index]
            precondition(image.width == w && image.height == h,
                         "batch: image \(index) is \(image.width)×\(image.height), expected \(w)×\(h)")
            image.write(into: out.data + slot * 3 * h * w)
        }
        return out
    }
}

/// A float in [0, 1] to the nearest 8-bit level (clamped; NaN → 0).
@inline(__always)
func quantize(_ value: Float) -> UInt8 {
    guard value > 0 else { return 0 }
    guard value < 1 else { return 255 }
    return UInt8((value * 255).rounded())
}
