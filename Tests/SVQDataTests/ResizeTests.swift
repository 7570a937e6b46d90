import SVQData
import XCTest

final class ResizeTests: XCTestCase {
    func testConstantImageStaysConstant() {
        let image = RGBImage(width: 40, height: 10, fill: (10, 200, 77))
        for (w, h) in [(17, 5), (64, 64), (13, 30), (40, 3), (1, 1)] {
            let resized = image.resized(width: w, height: h)
            XCTAssertEqual(resized, RGBImage(width: w, height: h, fill: (10, 200, 77)), "→ \(w)×\(h)")
        }
    }

    func testTwoTimesBoxDownsampleAveragesBlocks() {
        // 4×2 grey image; each 2×2 block averages to the hand-computed value.
        let grey: [UInt8] = [0, 10, 100, 100,
                             20, 30, 50, 51]
        let image = RGBImage(width: 4, height: 2, pixels: grey.flatMap { [$0, $0, $0] })
        let half = image.resized(width: 2, height: 1)
        // (0+10+20+30)/4 = 15; (100+100+50+51)/4 = 75.25 → 75.
        XCTAssertEqual(half.pixels, [15, 15, 15, 75, 75, 75])
    }

    func testNonIntegerBoxWeighsByArea() {
        // 3 → 2 pixels: output 0 covers source [0, 1.5), output 1 covers [1.5, 3).
        let image = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180])
        // (0·1 + 90·0.5) / 1.5 = 30; (90·0.5 + 180·1) / 1.5 = 150.
        XCTAssertEqual(image.resized(width: 2, height: 1).pixels, [30, 30, 30, 150, 150, 150])
    }

    func testBilinearUpsampleInterpolatesBetweenCentres() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 100, 100, 100])
        // Output centres map to source x = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let wide = image.resized(width: 4, height: 1)
        XCTAssertEqual(wide.pixels, [0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100])
        // Up in one axis and unchanged in the other keeps rows independent.
        let tall = RGBImage(width: 1, height: 2, pixels: [0, 40, 0, 200, 40, 0]).resized(width: 1, height: 4)
        XCTAssertEqual(tall.pixels, [0, 40, 0, 50, 40, 0, 150, 40, 0, 200, 40, 0])
    }

    func testSameSizeIsIdentity() {
        let image = randomImage(width: 7, height: 9, seed: 4)
        XCTAssertEqual(image.resized(width: 7, height: 9), image)
    }
}
