// The dendrogram order of a codebook's prototypes: alike prototypes get neighbouring ranks, so a slot sort
// keyed on those ranks groups the several codes of one value.

import Foundation
import SVQEngine
import SVQModel
import XCTest

final class PrototypeOrderTests: XCTestCase {
    private func unit(_ degrees: Double) -> [Float] {
        [Float(cos(degrees * .pi / 180)), Float(sin(degrees * .pi / 180))]
    }

    func testMergesTheMostAlikePairsFirstAndListsTheLowerIdFirst() {
        // Directions 0°, 90°, 10°, 85°: 1–3 (5° apart) merge first, then 0–2 (10°); the last merge lists
        // the cluster holding id 0 first. Worked by hand: [0, 2, 1, 3].
        let vectors = [0.0, 90, 10, 85].flatMap(unit)
        XCTAssertEqual(dendrogramOrder(vectors: vectors, count: 4, width: 2), [0, 2, 1, 3])
        // Length does not matter, only direction (cosine similarity).
        let scaled = zip(vectors, [3, 3, 0.5, 0.5, 7, 7, 2, 2] as [Float]).map { $0 * $1 }
        XCTAssertEqual(dendrogramOrder(vectors: scaled, count: 4, width: 2), [0, 2, 1, 3])
    }

    func testEveryGroupOfAlikePrototypesIsAContiguousRun() {
        // Five centres in 16 dimensions, three noisy copies of each under shuffled ids.
        var rng = RandomGenerator(seed: 7)
        let width = 16, groups = 5, copies = 3
        let centres = (0..<groups).map { _ in rng.normal([width]).scalars }
        let ids = rng.permutation(groups * copies)
        var vectors = [Float](repeating: 0, count: groups * copies * width)
        var group = [Int](repeating: 0, count: groups * copies)
        for (k, id) in ids.enumerated() {
            group[id] = k / copies
            let noise = rng.normal([width], std: 0.1).scalars
            for c in 0..<width { vectors[id * width + c] = centres[k / copies][c] + noise[c] }
        }
        let order = dendrogramOrder(vectors: vectors, count: ids.count, width: width)
        XCTAssertEqual(order.sorted(), Array(0..<ids.count), "not a permutation")
        // Walking the order, each group is entered once.
        var entered = [order.first.map { group[$0] }!]
        for (a, b) in zip(order, order.dropFirst()) where group[a] != group[b] { entered.append(group[b]) }
        XCTAssertEqual(entered.count, groups, "groups split: \(order.map { group[$0] })")
    }

    func testZeroAndSingleVectorsAreHandled() {
        XCTAssertEqual(dendrogramOrder(vectors: [], count: 0, width: 3), [])
        XCTAssertEqual(dendrogramOrder(vectors: [1, 2, 3], count: 1, width: 3), [0])
        // A never-used (zero) prototype is alike to nothing, and the result is still a permutation.
        let order = dendrogramOrder(vectors: [1, 0, 0, 0, 0.9, 0.1], count: 3, width: 2)
        XCTAssertEqual(order, [0, 2, 1])
    }

    func testQuantizerRanksArePermutationsThatFollowItsCodebook() throws {
        var rng = RandomGenerator(seed: 3)
        let q = BlockVectorQuantizer(blocks: 2, prototypes: 4, width: 2, rng: &rng)
        // Block 1: directions 0°, 90°, 8°, 20°. 0–2 merge first (8°); {0, 2}–3 (mean of cos 20°, cos 12°,
        // 0.96) next; then 1. Order [0, 2, 3, 1], so ranks (code → place) are [0, 3, 1, 2]: not the order
        // itself, which a mix-up of the two would return.
        let rows = [0.0, 90, 8, 20].flatMap(unit)
        XCTAssertEqual(dendrogramOrder(vectors: rows, count: 4, width: 2), [0, 2, 3, 1])
        for (i, v) in rows.enumerated() { q.codebooks.data[4 * 2 + i] = v }
        XCTAssertEqual(q.prototypeRanks(block: 1), [0, 3, 1, 2])
        XCTAssertEqual(Set(q.prototypeRanks(block: 0)), Set(0..<4))
    }
}
