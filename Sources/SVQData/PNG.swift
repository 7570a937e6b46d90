// PNG reading and writing through libpng's simplified API (`png_image_*`). That API catches libpng's
// errors itself and reports them by return value and `image.message`, so no longjmp ever crosses Swift
// frames; the classic png_create_read_struct/setjmp API must not be used here.

import CPNG
import Foundation

/// Why a PNG could not be read or written.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// The data is zero bytes long.
    case empty
    /// The data does not start with the PNG signature.
    case notPNG
    /// The header declares a size beyond `PNG.maxSide` per side or `PNG.maxPixels` in all.
    case tooLarge(width: Int, height: Int)
    /// libpng rejected the data (its message is included).
    case libpng(String)
    /// A file could not be read or written.
    case io(String)

    public var description: String {
        switch self {
        case .empty: return "PNG data is empty"
        case .notPNG: return "not a PNG file (bad signature)"
        case .tooLarge(let w, let h):
            return "PNG of \(w)×\(h) exceeds the limit of \(PNG.maxSide) pixels per side and \(PNG.maxPixels) pixels"
        case .libpng(let message): return "invalid PNG: \(message)"
        case .io(let message): return message
        }
    }
}

public enum PNG {
    /// Largest accepted side, checked before any pixel memory is allocated.
    public static let maxSide = 16384
    /// Largest accepted pixel count.
    public static let maxPixels = 1 << 28

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads a PNG file (see `decode`).
    public static func read(contentsOf url: URL) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw PNGError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data)
    }

    /// Decodes any PNG (grey, palette, 1–16 bit, with or without alpha) to 8-bit RGB.
    /// 16-bit samples are taken as sRGB-encoded and scaled to 8 bits; alpha is composited on black
    /// (each channel times alpha / 255, in the stored sRGB values; PIL's `convert("RGB")` would instead drop alpha).
    public static func decode(_ data: Data) throws -> RGBImage {
        guard !data.isEmpty else { throw PNGError.empty }
        guard data.count >= signature.count, data.prefix(signature.count).elementsEqual(signature) else {
            throw PNGError.notPNG
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> RGBImage in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }   // safe whether or not libpng already released it
            guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
                throw PNGError.libpng(message(of: &image))
            }
            let (width, height) = (Int(image.width), Int(image.height))
            guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
                throw PNGError.tooLarge(width: width, height: height)
            }
            // Without this flag libpng takes 16-bit samples as linear light and gamma-encodes them on the way
            // to 8 bits; PNGs in the wild store sRGB-encoded values at 16 bits too, so just rescale them.
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            // 8-bit RGBA out (libpng expands grey, palettes and low bit depths); alpha is removed below.
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            var rgba = [UInt8](repeating: 0, count: 4 * width * height)
            let ok = rgba.withUnsafeMutableBytes {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(4 * width), nil)
            }
            guard ok != 0 else { throw PNGError.libpng(message(of: &image)) }
            return RGBImage(width: width, height: height, pixels: compositeOnBlack(rgba))
        }
    }

    /// Encodes an image as an 8-bit RGB PNG.
    public static func encode(_ rgb: RGBImage) throws -> Data {
        guard rgb.width > 0, rgb.height > 0, rgb.width <= maxSide, rgb.height <= maxSide else {
            throw PNGError.tooLarge(width: rgb.width, height: rgb.height)
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(rgb.width)
        image.height = UInt32(rgb.height)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR)
        defer { png_image_free(&image) }
        let stride = Int32(3 * rgb.width)
        return try rgb.pixels.withUnsafeBytes { pixels -> Data in
            // First call measures, second writes (libpng's documented two-step use of write_to_memory).
            var size: png_alloc_size_t = 0
            guard png_image_write_to_memory(&image, nil, &size, 0, pixels.baseAddress, stride, nil) != 0 else {
                throw PNGError.libpng(message(of: &image))
            }
            var out = Data(count: Int(size))
            let ok = out.withUnsafeMutableBytes {
                png_image_write_to_memory(&image, $0.baseAddress, &size, 0, pixels.baseAddress, stride, nil)
            }
            guard ok != 0 else { throw PNGError.libpng(message(of: &image)) }
            return out.prefix(Int(size))
        }
    }

    /// Writes an image as a PNG file, atomically (a reader never sees a half-written file).
    public static func write(_ image: RGBImage, to url: URL) throws {
        let data = try encode(image)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw PNGError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// libpng's NUL-terminated message from a failed call.
    private static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    /// RGBA → RGB with each channel scaled by alpha / 255 (rounded).
    private static func compositeOnBlack(_ rgba: [UInt8]) -> [UInt8] {
        let n = rgba.count / 4
        var rgb = [UInt8](repeating: 0, count: 3 * n)
        for i in 0..<n {
            let alpha = UInt32(rgba[4 * i + 3])
            for c in 0..<3 {
                rgb[3 * i + c] = UInt8((UInt32(rgba[4 * i + c]) * alpha + 127) / 255)
            }
        }
        return rgb
    }
}
