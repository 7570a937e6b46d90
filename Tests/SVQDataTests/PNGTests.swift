import Foundation
import SVQData
import SVQEngine
import SVQTestSupport
import XCTest

final class PNGTests: XCTestCase {
    func testRoundTripIsBitExact() throws {
        for (i, (w, h)) in [(1, 1), (7, 3), (64, 64), (100, 37), (3, 200)].enumerated() {
            let image = randomImage(width: w, height: h, seed: UInt64(i))
            XCTAssertEqual(try PNG.decode(PNG.encode(image)), image, "\(w)×\(h)")
        }
    }

    func testWriteAndReadFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x.png")
        let image = randomImage(width: 9, height: 5, seed: 42)
        try PNG.write(image, to: url)
        XCTAssertEqual(try PNG.read(contentsOf: url), image)
        XCTAssertThrowsError(try PNG.read(contentsOf: dir.appendingPathComponent("missing.png"))) { error in
            XCTAssertTrue("\(error)".contains("missing.png"), "\(error)")
        }
    }

    /// 8-bit RGB from the independent encoder: checks the decoder against a writer other than libpng.
    func testDecodesIndependentlyEncodedRGB() throws {
        let image = randomImage(width: 5, height: 4, seed: 7)
        let rows = (0..<4).map { Array(image.pixels[(15 * $0)..<(15 * $0 + 15)]) }
        let png = TestPNGEncoder.encode(width: 5, height: 4, colourType: .rgb, bitDepth: 8, rows: rows)
        XCTAssertEqual(try PNG.decode(png), image)
    }

    func testGreyBecomesEqualRGB() throws {
        let png = TestPNGEncoder.encode(width: 3, height: 2, colourType: .grey, bitDepth: 8,
                                        rows: [[0, 17, 255], [128, 200, 3]])
        XCTAssertEqual(try PNG.decode(png).pixels,
                       [0, 0, 0, 17, 17, 17, 255, 255, 255, 128, 128, 128, 200, 200, 200, 3, 3, 3])
    }

    func testOneBitGrey() throws {
        // Row bits 1,0,1,1,0 (padded): 0b1011_0000.
        let png = TestPNGEncoder.encode(width: 5, height: 1, colourType: .grey, bitDepth: 1, rows: [[0b1011_0000]])
        XCTAssertEqual(try PNG.decode(png).pixels, [255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0])
    }

    func testSixteenBitGreyAndRGBScaleTo8Bits() throws {
        // Multiples of 257 are exact 8-bit levels (v16 = 257·v8).
        let grey = TestPNGEncoder.encode(width: 3, height: 1, colourType: .grey, bitDepth: 16,
                                         rows: [[0x00, 0x00, 0x80, 0x80, 0xFF, 0xFF]])
        XCTAssertEqual(try PNG.decode(grey).pixels, [0, 0, 0, 128, 128, 128, 255, 255, 255])
        // Other values round to the nearest level: 0x1234 = 4660 → 4660/257 = 18.13 → 18; 0xABCD = 43981 → 171.1 → 171.
        let rgb = TestPNGEncoder.encode(width: 1, height: 1, colourType: .rgb, bitDepth: 16,
                                        rows: [[0x12, 0x34, 0xAB, 0xCD, 0x40, 0x40]])
        XCTAssertEqual(try PNG.decode(rgb).pixels, [18, 171, 64])
    }

    func testAlphaIsCompositedOnBlack() throws {
        // RGBA: opaque, transparent, and half (128/255) alpha: 200·128/255 = 100.4 → 100, 51·128/255 = 25.6 → 26.
        let rgba = TestPNGEncoder.encode(width: 3, height: 1, colourType: .rgba, bitDepth: 8,
                                         rows: [[10, 20, 30, 255, 90, 90, 90, 0, 200, 51, 255, 128]])
        XCTAssertEqual(try PNG.decode(rgba).pixels, [10, 20, 30, 0, 0, 0, 100, 26, 128])
        // Grey + alpha: 255 at alpha 64 → 64; 100 at 255 → 100.
        let greyAlpha = TestPNGEncoder.encode(width: 2, height: 1, colourType: .greyAlpha, bitDepth: 8,
                                              rows: [[255, 64, 100, 255]])
        XCTAssertEqual(try PNG.decode(greyAlpha).pixels, [64, 64, 64, 100, 100, 100])
    }

    func testPaletteWithTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 40, 80, 120]
        let transparency: [UInt8] = [255, 0, 255]   // entry 1 transparent; entry 3 opaque by omission
        let png = TestPNGEncoder.encode(width: 4, height: 1, colourType: .palette, bitDepth: 8,
                                        rows: [[0, 1, 2, 3]], palette: palette, transparency: transparency)
        XCTAssertEqual(try PNG.decode(png).pixels, [255, 0, 0, 0, 0, 0, 0, 0, 255, 40, 80, 120])
        // The same picture at 2 bits per index: 00 01 10 11.
        let packed = TestPNGEncoder.encode(width: 4, height: 1, colourType: .palette, bitDepth: 2,
                                           rows: [[0b0001_1011]], palette: palette, transparency: transparency)
        XCTAssertEqual(try PNG.decode(packed).pixels, [255, 0, 0, 0, 0, 0, 0, 0, 255, 40, 80, 120])
    }

    func testRejectsEmptyAndNonPNGData() {
        XCTAssertThrowsError(try PNG.decode(Data())) { XCTAssertEqual($0 as? PNGError, .empty) }
        XCTAssertThrowsError(try PNG.decode(Data("GIF89a".utf8))) { XCTAssertEqual($0 as? PNGError, .notPNG) }
        var rng = RandomGenerator(seed: 3)
        for length in [1, 7, 8, 100, 5000] {
            XCTAssertThrowsError(try PNG.decode(Data(randomBytes(length, &rng))), "\(length) random bytes")
            // The signature followed by garbage must be rejected by libpng, not crash it.
            let signed = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + randomBytes(length, &rng))
            XCTAssertThrowsError(try PNG.decode(signed), "signature + \(length) random bytes") { error in
                guard case .libpng(let message)? = error as? PNGError else { return XCTFail("\(error)") }
                XCTAssertFalse(message.isEmpty)
            }
        }
    }

    func testRejectsEveryTruncation() throws {
        let png = try PNG.encode(randomImage(width: 6, height: 5, seed: 11))
        // IEND is the last 12 bytes; every cut before it loses pixel data or the header.
        for length in 0..<(png.count - 12) {
            XCTAssertThrowsError(try PNG.decode(png.prefix(length)), "truncated to \(length) of \(png.count) bytes")
        }
    }

    func testCorruptedBytesNeverCrash() throws {
        let png = try PNG.encode(randomImage(width: 16, height: 16, seed: 5))
        var rng = RandomGenerator(seed: 9)
        var rejected = 0
        for _ in 0..<300 {
            var bytes = [UInt8](png)
            for _ in 0..<(1 + rng.nextInt(below: 4)) {
                bytes[8 + rng.nextInt(below: bytes.count - 8)] = UInt8(truncatingIfNeeded: rng.nextUInt32())
            }
            // Either outcome is fine as long as there is no trap; a decoded image must have its stated size.
            if let image = try? PNG.decode(Data(bytes)) {
                XCTAssertEqual(image.pixels.count, 3 * image.width * image.height)
            } else {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 200, "CRC checks should catch most corruptions")
    }

    func testBadHeaderCRCIsRejected() throws {
        var bytes = [UInt8](try PNG.encode(randomImage(width: 2, height: 2, seed: 1)))
        bytes[29] ^= 0xFF   // last byte of IHDR's CRC (8 signature + 8 length/type + 13 data = 29)
        XCTAssertThrowsError(try PNG.decode(Data(bytes)))
    }

    func testRejectsAbsurdDimensionsBeforeAllocating() {
        XCTAssertThrowsError(try PNG.decode(TestPNGEncoder.claiming(width: 100_000, height: 100_000))) {
            XCTAssertEqual($0 as? PNGError, .tooLarge(width: 100_000, height: 100_000))
        }
        XCTAssertThrowsError(try PNG.decode(TestPNGEncoder.claiming(width: 20_000, height: 1))) {
            XCTAssertEqual($0 as? PNGError, .tooLarge(width: 20_000, height: 1))
        }
        XCTAssertThrowsError(try PNG.decode(TestPNGEncoder.claiming(width: 0, height: 10)))
    }
}
