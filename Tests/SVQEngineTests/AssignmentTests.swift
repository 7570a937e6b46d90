// The assignment solver against brute force over every injective assignment.

import XCTest
import SVQEngine

final class AssignmentTests: XCTestCase {
    /// The best total over all injective maps rows → columns, by exhaustive search.
    func bruteForceBest(_ s: [[Double]]) -> Double {
        var best = -Double.infinity, used = [Bool](repeating: false, count: s[0].count)
        func go(_ r: Int, _ total: Double) {
            if r == s.count { best = max(best, total); return }
            for c in used.indices where !used[c] {
                used[c] = true; go(r + 1, total + s[r][c]); used[c] = false
            }
        }
        go(0, 0)
        return best
    }

    func testMatchesBruteForceOnRandomSquareAndWideMatrices() {
        var rng = RandomGenerator(seed: 3)
        for trial in 0..<200 {
            let rows = 1 + trial % 6, cols = rows + (trial / 6) % 3
            // Small integer scores make ties common, which is where a solver goes wrong.
            let s = (0..<rows).map { _ in (0..<cols).map { _ in Double(rng.nextInt(below: 5)) } }
            let match = Assignment.maximizing(s)
            XCTAssertEqual(match.count, rows)
            XCTAssertEqual(Set(match).count, rows, "not injective: \(match)")
            XCTAssertTrue(match.allSatisfy { (0..<cols).contains($0) })
            let total = match.enumerated().reduce(0.0) { $0 + s[$1.offset][$1.element] }
            XCTAssertEqual(total, bruteForceBest(s), "scores \(s)")
        }
    }

    func testMinimizingAndKnownAnswer() {
        // The diagonal costs 1 + 1 + 1; the anti-diagonal pattern below costs 0.
        let cost: [[Double]] = [[1, 0, 5], [5, 1, 0], [0, 5, 1]]
        XCTAssertEqual(Assignment.minimizing(cost), [1, 2, 0])
        XCTAssertEqual(Assignment.maximizing(cost.map { $0.map { -$0 } }), [1, 2, 0])
        XCTAssertEqual(Assignment.maximizing([]), [])
    }
}
