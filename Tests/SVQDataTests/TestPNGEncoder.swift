// A minimal PNG encoder written for the tests only, independent of libpng: it makes fixtures in formats our
// writer never produces (grey, palette, 16-bit, alpha, sub-byte depths). The zlib stream uses stored
// (uncompressed) deflate blocks, so it needs nothing but CRC-32 and Adler-32, both implemented here.

import Foundation

enum TestPNGEncoder {
    /// PNG colour types (PNG spec §11.2.2).
    enum ColourType: UInt8 {
        case grey = 0, rgb = 2, palette = 3, greyAlpha = 4, rgba = 6
    }

    /// A PNG whose scanlines are `rows` (raw bytes without the filter byte; filter 0 is prepended).
    static func encode(width: Int, height: Int, colourType: ColourType, bitDepth: UInt8, rows: [[UInt8]],
                       palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> Data {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(bigEndian: UInt32(width))
        header.append(bigEndian: UInt32(height))
        header.append(contentsOf: [bitDepth, colourType.rawValue, 0, 0, 0])   // deflate, filter 0, no interlace
        png.append(chunk: "IHDR", header)
        if let palette { png.append(chunk: "PLTE", Data(palette)) }
        if let transparency { png.append(chunk: "tRNS", Data(transparency)) }
        let raw: [UInt8] = rows.flatMap { [UInt8(0)] + $0 }
        png.append(chunk: "IDAT", zlibStored(raw))
        png.append(chunk: "IEND", Data())
        return png
    }

    /// A well-formed file claiming `width`×`height` RGB, with far too little pixel data (one empty row):
    /// the header alone must get it rejected.
    static func claiming(width: UInt32, height: UInt32) -> Data {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(bigEndian: width)
        header.append(bigEndian: height)
        header.append(contentsOf: [8, 2, 0, 0, 0])
        png.append(chunk: "IHDR", header)
        png.append(chunk: "IDAT", zlibStored([0]))
        png.append(chunk: "IEND", Data())
        return png
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ bytes: [UInt8]) -> Data {
        var out = Data([0x78, 0x01])
        var start = 0
        repeat {
            let length = min(65_535, bytes.count - start)
            let final = start + length == bytes.count
            out.append(final ? 1 : 0)                              // BFINAL, BTYPE = 00 (stored), padding
            out.append(littleEndian: UInt16(length))
            out.append(littleEndian: ~UInt16(length))
            out.append(contentsOf: bytes[start..<(start + length)])
            start += length
        } while start < bytes.count
        out.append(bigEndian: adler32(bytes))
        return out
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    static func crc32<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

extension Data {
    mutating func append(bigEndian value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    mutating func append(littleEndian value: UInt16) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Appends a PNG chunk: length, type, data, CRC-32 of type + data.
    mutating func append(chunk type: String, _ data: Data) {
        append(bigEndian: UInt32(data.count))
        let typed = Data(type.utf8) + data
        append(typed)
        append(bigEndian: TestPNGEncoder.crc32(typed))
    }
}
