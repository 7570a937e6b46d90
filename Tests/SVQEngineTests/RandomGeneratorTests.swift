// The placeholder generator that model loading builds with: its tensor draws are zeros (nothing is drawn only
// to be overwritten by the file), and it never leaks into what checkpoints store.

import Foundation
import SVQEngine
import XCTest

final class RandomGeneratorTests: XCTestCase {
    func testPlaceholderTensorDrawsAreZeros() {
        var placeholder = RandomGenerator.placeholder
        for t in [placeholder.uniform([3, 5], low: -1, high: 1), placeholder.normal([7]), placeholder.gumbel([2, 2])] {
            XCTAssertEqual(t.scalars, [Float](repeating: 0, count: t.count))
        }
        var drawing = RandomGenerator(seed: 0)
        XCTAssertTrue(drawing.normal([7]).scalars.contains { $0 != 0 })
    }

    func testCheckpointsStoreOnlyTheStreamState() throws {
        var rng = RandomGenerator(seed: 9, stream: 2)
        _ = rng.uniform([10])
        let json = try JSONEncoder().encode(rng)
        let keys = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), ["seed", "streamID", "blockIndex"])
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: json)
        XCTAssertEqual(restored, rng)
        XCTAssertFalse(restored.drawsZeros)
        XCTAssertEqual(restored.uniform([4]).scalars, rng.uniform([4]).scalars)
    }
}
