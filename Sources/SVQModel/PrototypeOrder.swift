// An ordering of each codebook's prototypes that keeps similar prototypes together: one factor value
// (one shape) is often spread over several codes whose ids are far apart, and a slot sort that should
// group equal values needs ranks in which those codes are neighbours.

/// Average-linkage agglomerative clustering of `vectors` (`count` rows of `width`) by cosine similarity,
/// merged all the way to one cluster; returns the leaves in dendrogram order. Every cluster the merging
/// forms is a contiguous run of the result, so codes that cluster at any similarity sit together.
/// Deterministic: the most similar pair merges first (ties: the pair met first), and a merged cluster lists
/// the one holding the lower id first.
public func dendrogramOrder(vectors: [Float], count: Int, width: Int) -> [Int] {
    precondition(count >= 0 && width >= 1 && vectors.count == count * width,
                 "vectors must hold \(count) × \(width) values, got \(vectors.count)")
    guard count > 1 else { return Array(0..<count) }
    // Unit rows; a zero row (a never-used prototype) has similarity 0 to everything.
    var unit = vectors
    for i in 0..<count {
        let row = (i * width)..<((i + 1) * width)
        let norm = unit[row].reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for j in row { unit[j] /= norm } }
    }
    var similarity = [Double](repeating: 0, count: count * count)
    for i in 0..<count {
        for j in 0..<count {
            var s = 0.0
            for c in 0..<width { s += Double(unit[i * width + c]) * Double(unit[j * width + c]) }
            similarity[i * count + j] = s
        }
    }
    // Clusters kept in order of their lowest id (merging keeps the lower slot), each with its leaves.
    var members: [[Int]] = (0..<count).map { [$0] }
    var alive = Array(0..<count)  // alive[k]: the similarity-matrix row of the k-th live cluster
    while alive.count > 1 {
        var best = -Double.infinity, pair = (0, 1)
        for a in 0..<alive.count {
            for b in (a + 1)..<alive.count where similarity[alive[a] * count + alive[b]] > best {
                best = similarity[alive[a] * count + alive[b]]
                pair = (a, b)
            }
        }
        let (ra, rb) = (alive[pair.0], alive[pair.1])
        let (na, nb) = (Double(members[ra].count), Double(members[rb].count))
        // Lance–Williams update for average linkage: the mean similarity over all member pairs.
        for k in alive where k != ra && k != rb {
            let s = (na * similarity[ra * count + k] + nb * similarity[rb * count + k]) / (na + nb)
            similarity[ra * count + k] = s
            similarity[k * count + ra] = s
        }
        members[ra] += members[rb]
        members[rb] = []
        alive.remove(at: pair.1)
    }
    return members[alive[0]]
}

extension BlockVectorQuantizer {
    /// Rank of each code of `block` (`[P]`, a permutation of 0..<P) in the dendrogram order of its
    /// prototypes (`dendrogramOrder`): codes whose prototypes are alike get neighbouring ranks.
    public func prototypeRanks(block: Int) -> [Int] {
        precondition((0..<blocks).contains(block), "block \(block) outside 0..<\(blocks)")
        let p = prototypes, w = width
        let rows = Array(UnsafeBufferPointer(start: codebooks.data + block * p * w, count: p * w))
        var ranks = [Int](repeating: 0, count: p)
        for (rank, code) in dendrogramOrder(vectors: rows, count: p, width: w).enumerated() { ranks[code] = rank }
        return ranks
    }
}
