import SVQData
import SVQEngine
import XCTest

final class RGBImageTests: XCTestCase {
    func testTensorIsChannelFirstInUnitRange() {
        // 2×1 image: pixel 0 = (255, 0, 51), pixel 1 = (0, 102, 255).
        let image = RGBImage(width: 2, height: 1, pixels: [255, 0, 51, 0, 102, 255])
        let t = image.tensor()
        XCTAssertEqual(t.shape, [3, 1, 2])
        XCTAssertEqual(t.scalars, [1, 0, 0, 0.4, 0.2, 1], accuracy: 1e-7)
        XCTAssertEqual(RGBImage(tensor: t), image)
    }

    func testTensorToImageClampsAndRounds() {
        let t = Tensor([-0.2, 1.7, 0.5, .nan, 0.499 / 255, 0.501 / 255], shape: [3, 1, 2])
        // 0.5·255 = 127.5 rounds half away from zero to 128; channel planes interleave per pixel.
        XCTAssertEqual(RGBImage(tensor: t).pixels, [0, 128, 0, 255, 0, 1])
    }

    func testBatchStacksAndSplits() {
        let images = (0..<3).map { randomImage(width: 4, height: 5, seed: UInt64($0)) }
        let batch = RGBImage.batch(images)
        XCTAssertEqual(batch.shape, [3, 3, 5, 4])
        // Element [b, c, y, x] is image b's channel c at (x, y).
        XCTAssertEqual(batch.data[((2 * 3 + 1) * 5 + 3) * 4 + 2], Float(images[2].pixel(x: 2, y: 3).1) / 255)
        XCTAssertEqual(RGBImage.images(fromBatch: batch), images)
        let picked = images.batch(indices: [2, 0])
        XCTAssertEqual(RGBImage.images(fromBatch: picked), [images[2], images[0]])
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
