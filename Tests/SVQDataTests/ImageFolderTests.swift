import Foundation
import SVQData
import SVQTestSupport
import XCTest

final class ImageFolderTests: XCTestCase {
    func testListsOnlyPNGFilesSortedByName() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = RGBImage(width: 2, height: 2, fill: (1, 2, 3))
        for name in ["b.png", "a.png", "B.png", "10.png", "9.png", ".hidden.png", "notes.json", "photo.PNG"] {
            try PNG.write(image, to: dir.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("folder.png"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: false)
        try PNG.write(image, to: dir.appendingPathComponent("sub/c.png"))
        // Like Python's sorted(glob("*.png")): case-sensitive suffix, no hidden files, byte order.
        let folder = try ImageFolder(directory: dir)
        XCTAssertEqual(folder.files.map(\.lastPathComponent), ["10.png", "9.png", "B.png", "a.png", "b.png"])
    }

    func testSplitMatchesPythonIntOfProducts() {
        // Expected values computed with Python: int(n * 0.7), int(n * 0.85).
        XCTAssertEqual(ImageFolder.range(of: .train, count: 10), 0..<7)
        XCTAssertEqual(ImageFolder.range(of: .validation, count: 10), 7..<8)
        XCTAssertEqual(ImageFolder.range(of: .test, count: 10), 8..<10)
        // 90 · 0.7 = 62.99999999999999 in double precision, so Python's train split has 62 images, not 63.
        XCTAssertEqual(ImageFolder.range(of: .train, count: 90), 0..<62)
        XCTAssertEqual(ImageFolder.range(of: .validation, count: 90), 62..<76)
        XCTAssertEqual(ImageFolder.range(of: .test, count: 3), 2..<3)
        XCTAssertEqual(ImageFolder.range(of: .train, count: 0), 0..<0)
    }

    func testLoadAllResizesAndKeepsOrder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let colours: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9), (70, 80, 90)]
        let sizes = [(8, 8), (16, 16), (5, 3), (8, 8), (30, 12)]
        for (i, (colour, size)) in zip(colours, sizes).enumerated() {
            try PNG.write(RGBImage(width: size.0, height: size.1, fill: colour), to: dir.appendingPathComponent("img\(i).png"))
        }
        let folder = try ImageFolder(directory: dir)
        let images = try folder.loadAll(size: 8)
        XCTAssertEqual(images, colours.map { RGBImage(width: 8, height: 8, fill: $0) })
        XCTAssertEqual(try folder.loadAll(size: 8, threads: 1), images)
        XCTAssertEqual(try folder.loadAll().map(\.width), sizes.map(\.0))
        XCTAssertEqual(folder.split(.train).files.map(\.lastPathComponent), ["img0.png", "img1.png", "img2.png"])
        XCTAssertEqual(folder.split(.test).files.map(\.lastPathComponent), ["img4.png"])
    }

    func testUnreadableImageIsNamed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try PNG.write(RGBImage(width: 2, height: 2), to: dir.appendingPathComponent("good.png"))
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("broken.png"))
        XCTAssertThrowsError(try ImageFolder(directory: dir).loadAll()) { error in
            XCTAssertTrue("\(error)".contains("broken.png"), "\(error)")
            XCTAssertTrue("\(error)".contains("not a PNG"), "\(error)")
        }
        XCTAssertThrowsError(try ImageFolder(directory: dir.appendingPathComponent("missing")))
    }
}
