import SVQData
import XCTest

final class ImageGridTests: XCTestCase {
    func testComposeSizesAndPlacement() {
        let a = RGBImage(width: 4, height: 3, fill: (255, 0, 0))
        let b = RGBImage(width: 2, height: 5, fill: (0, 255, 0))
        let c = RGBImage(width: 3, height: 2, fill: (0, 0, 255))
        let grid = ImageGrid.compose(rows: [[a, b], [c]], padding: 2, background: (9, 9, 9))
        // Columns 4 and 2 wide, rows 5 and 2 tall, 2 px around and between: 2+4+2+2+2 by 2+5+2+2+2.
        XCTAssertEqual(grid.width, 12)
        XCTAssertEqual(grid.height, 13)
        XCTAssertTrue(grid.pixel(x: 2, y: 2) == (255, 0, 0) && grid.pixel(x: 5, y: 4) == (255, 0, 0))
        XCTAssertTrue(grid.pixel(x: 8, y: 2) == (0, 255, 0) && grid.pixel(x: 9, y: 6) == (0, 255, 0))
        XCTAssertTrue(grid.pixel(x: 2, y: 9) == (0, 0, 255) && grid.pixel(x: 4, y: 10) == (0, 0, 255))
        for (x, y) in [(0, 0), (1, 2), (6, 2), (2, 5), (5, 6), (10, 2), (5, 9), (2, 11), (11, 12)] {
            XCTAssertTrue(grid.pixel(x: x, y: y) == (9, 9, 9), "(\(x), \(y)) should be background")
        }
    }

    func testMaskOverlay() {
        let image = RGBImage(width: 3, height: 1, pixels: [200, 100, 40, 200, 100, 40, 200, 100, 40])
        let out = ImageGrid.maskOverlay(image: image, mask: [1, 0, 0.5])
        // Weight 0.25 + 0.75·mask: 1 → unchanged; 0 → a quarter (50, 25, 10); 0.5 → 0.625 (125, 62.5 → 63, 25).
        XCTAssertEqual(out.pixels, [200, 100, 40, 50, 25, 10, 125, 63, 25])
    }
}
