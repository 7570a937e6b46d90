// Optimal one-to-one matching (the assignment problem), for matching slots to slots or objects: the
// Hungarian method with potentials, O(rows² · columns).

public enum Assignment {
    /// For a score matrix `scores[r][c]` with rows ≤ columns, the column of each row in an injective
    /// assignment that maximises the total score. Empty input gives an empty result.
    public static func maximizing(_ scores: [[Double]]) -> [Int] {
        minimizing(scores.map { $0.map { -$0 } })
    }

    /// The same, minimising the total cost.
    public static func minimizing(_ costs: [[Double]]) -> [Int] {
        let rows = costs.count
        guard rows > 0 else { return [] }
        let cols = costs[0].count
        precondition(costs.allSatisfy { $0.count == cols }, "Assignment: rows of unequal length")
        precondition(rows <= cols, "Assignment: more rows (\(rows)) than columns (\(cols))")
        precondition(costs.allSatisfy { $0.allSatisfy(\.isFinite) }, "Assignment: costs must be finite")
        // 1-based arrays; column 0 is the virtual start of each augmenting path.
        var u = [Double](repeating: 0, count: rows + 1), v = [Double](repeating: 0, count: cols + 1)
        var rowOf = [Int](repeating: 0, count: cols + 1)    // row matched to each column (0: none)
        var way = [Int](repeating: 0, count: cols + 1)
        for r in 1...rows {
            rowOf[0] = r
            var col0 = 0
            var minSlack = [Double](repeating: .infinity, count: cols + 1)
            var used = [Bool](repeating: false, count: cols + 1)
            repeat {
                used[col0] = true
                let r0 = rowOf[col0]
                var delta = Double.infinity, col1 = 0
                for c in 1...cols where !used[c] {
                    let slack = costs[r0 - 1][c - 1] - u[r0] - v[c]
                    if slack < minSlack[c] { minSlack[c] = slack; way[c] = col0 }
                    if minSlack[c] < delta { delta = minSlack[c]; col1 = c }
                }
                for c in 0...cols {
                    if used[c] { u[rowOf[c]] += delta; v[c] -= delta } else { minSlack[c] -= delta }
                }
                col0 = col1
            } while rowOf[col0] != 0
            repeat {   // flip the augmenting path
                let prev = way[col0]
                rowOf[col0] = rowOf[prev]
                col0 = prev
            } while col0 != 0
        }
        var colOf = [Int](repeating: -1, count: rows)
        for c in 1...cols where rowOf[c] > 0 { colOf[rowOf[c] - 1] = c - 1 }
        return colOf
    }
}
