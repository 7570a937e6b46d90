// Keys and values kept between the steps of autoregressive decoding, and attention over them: a step attends
// the one new query of each sequence and head to every position stored so far, so that decoding T positions
// costs T steps of one position each instead of recomputing the prefix. The image decoder (self- and
// cross-attention) and the semantic prior decode through this one cache and this one attention.

/// Per-layer keys and values of an attention stack, preallocated for `capacity` positions:
/// `[batch, heads, capacity, headDim]` each, positions `0..<length` filled.
///
/// A decoding step `store`s its position (index `length`) in every layer, `attend`s to it and the earlier
/// ones (`positions: length + 1`), and after the last layer the caller `advance`s the cache. A cache made from
/// fixed keys and values (cross-attention to a memory) is full from the start.
///
/// Queries, keys and values come and go one row per sequence with the heads side by side — head h in features
/// h·headDim ..< (h+1)·headDim — as a linear projection produces them, so no head split or merge is needed.
/// Disjoint ranges of sequences (`rows`) may be stored and attended from different threads at once.
/// Inference only: nothing is recorded for gradients.
public final class KeyValueCache {
    public let layers: Int
    public let batch: Int
    public let heads: Int
    public let headDim: Int
    public let capacity: Int
    /// Positions stored in every layer: the next step stores position `length`.
    public private(set) var length: Int
    let keys: [Tensor]
    let values: [Tensor]

    /// An empty cache.
    public init(layers: Int, batch: Int, heads: Int, headDim: Int, capacity: Int) {
        precondition(layers >= 1 && batch >= 1 && heads >= 1 && headDim >= 1 && capacity >= 1,
                     "KeyValueCache sizes must be positive: layers \(layers), batch \(batch), heads \(heads), head size \(headDim), capacity \(capacity)")
        (self.layers, self.batch, self.heads, self.headDim, self.capacity) = (layers, batch, heads, headDim, capacity)
        length = 0
        // Not zeroed: a position is read only after it was stored.
        keys = (0..<layers).map { _ in Tensor(zeros: [batch, heads, capacity, headDim], zeroed: false) }
        values = (0..<layers).map { _ in Tensor(zeros: [batch, heads, capacity, headDim], zeroed: false) }
    }

    /// A full cache of fixed keys and values, one `[batch, T, heads·headDim]` tensor each per layer (what a
    /// projection of a memory of T vectors gives): cross-attention to that memory.
    public init(heads: Int, fixedKeys: [Tensor], values fixedValues: [Tensor]) {
        precondition(heads >= 1 && !fixedKeys.isEmpty && fixedKeys.count == fixedValues.count,
                     "KeyValueCache needs one keys and one values tensor per layer and at least one head")
        let shape = fixedKeys[0].shape
        precondition(shape.count == 3 && shape[0] >= 1 && shape[1] >= 1 && shape[2] % heads == 0 && shape[2] >= heads,
                     "fixed keys must be [batch, positions, heads·headDim] with \(heads) heads, got \(shape)")
        precondition((fixedKeys + fixedValues).allSatisfy { $0.shape == shape },
                     "fixed keys and values must all be \(shape): \((fixedKeys + fixedValues).map(\.shape))")
        let (b, t, hd) = (shape[0], shape[1], shape[2] / heads)
        (layers, batch, self.heads, headDim, capacity, length) = (fixedKeys.count, b, heads, hd, t, t)
        // [B, T, H, hd] → [B, H, T, hd]
        func split(_ x: Tensor) -> Tensor {
            let out = Tensor(zeros: [b, heads, t, hd], zeroed: false)
            for i in 0..<b { for j in 0..<t { for h in 0..<heads {
                (out.data + ((i * heads + h) * t + j) * hd).update(from: x.data + (i * t + j) * heads * hd + h * hd, count: hd)
            } } }
            return out
        }
        keys = fixedKeys.map(split)
        values = fixedValues.map(split)
    }

    /// Features of one sequence's queries, keys or values (all heads).
    public var width: Int { heads * headDim }

    /// Checks that `x` holds `perRow` rows per sequence of `rows`, with `width` features from `column` on.
    private func rowStride(_ x: Tensor, column: Int, rows: Range<Int>, perRow: Int, _ what: String) -> Int {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= batch && !rows.isEmpty,
                     "rows \(rows) outside the cache's batch 0..<\(batch)")
        let stride = x.shape.last ?? 0
        precondition(x.rank >= 2 && x.count == rows.count * perRow * stride && column >= 0 && column + width <= stride,
                     "\(what) \(x.shape) must hold \(perRow) row(s) for each of \(rows.count) sequences with \(width) features from column \(column)")
        return stride
    }

    /// Stores the keys and values of positions `length ..< length + count` of `layer` for the sequences `rows`
    /// (default: all). `keys` and `values` hold `count` rows per sequence of `rows` (`[rows, count, W]`, or
    /// `[rows, W]` for one position), heads side by side in features `keyColumn ..< keyColumn + heads·headDim`
    /// (and from `valueColumn`).
    public func store(layer: Int, keys k: Tensor, keyColumn: Int = 0, values v: Tensor, valueColumn: Int = 0,
                      count: Int = 1, rows: Range<Int>? = nil) {
        let rows = rows ?? 0..<batch
        precondition(layer >= 0 && layer < layers, "layer \(layer) outside 0..<\(layers)")
        precondition(count >= 1 && length + count <= capacity,
                     "the key/value cache holds \(length) of \(capacity) positions: \(count) more do not fit")
        let ks = rowStride(k, column: keyColumn, rows: rows, perRow: count, "keys")
        let vs = rowStride(v, column: valueColumn, rows: rows, perRow: count, "values")
        let hd = headDim, t = length
        let kc = keys[layer].data, vc = values[layer].data
        for (i, sequence) in rows.enumerated() {
            for p in 0..<count {
                let row = i * count + p
                for h in 0..<heads {
                    let at = ((sequence * heads + h) * capacity + t + p) * hd
                    (kc + at).update(from: k.data + row * ks + keyColumn + h * hd, count: hd)
                    (vc + at).update(from: v.data + row * vs + valueColumn + h * hd, count: hd)
                }
            }
        }
    }

    /// Marks positions `length ..< length + count` as stored in every layer.
    public func advance(by count: Int = 1) {
        precondition(count >= 1 && length + count <= capacity,
                     "the key/value cache holds \(length) of \(capacity) positions: \(count) more do not fit")
        length += count
    }

    /// softmax(q·kᵀ/√headDim)·v of one query per sequence of `rows` (default: all) and head over positions
    /// `0..<positions` of `layer` — a step's own position included once stored (`positions` = `length` + 1).
    /// `queries` holds one row per sequence, heads side by side from `queryColumn` (as `store` takes keys).
    /// Returns `[rows, 1, heads·headDim]`, heads side by side (ready for the output projection).
    public func attend(layer: Int, queries q: Tensor, queryColumn: Int = 0, positions: Int,
                       rows: Range<Int>? = nil) -> Tensor {
        attend(layer: layer, queries: q, queryColumn: queryColumn, visiblePositions: [positions], rows: rows)
    }

    /// Attention of several queries per sequence: query i of each sequence of `rows` attends to positions
    /// `0..<visiblePositions[i]` of `layer` (for a block of queries continuing the stored prefix causally,
    /// `length + 1 + i` once the block is stored). `queries` holds `visiblePositions.count` rows per sequence
    /// (`[rows, n, W]`), heads side by side from `queryColumn`. Returns `[rows, n, heads·headDim]`.
    public func attend(layer: Int, queries q: Tensor, queryColumn: Int = 0, visiblePositions: [Int],
                       rows: Range<Int>? = nil) -> Tensor {
        let rows = rows ?? 0..<batch
        let n = visiblePositions.count
        precondition(layer >= 0 && layer < layers, "layer \(layer) outside 0..<\(layers)")
        let limit = min(length + n, capacity)
        precondition(n >= 1 && visiblePositions.allSatisfy { $0 >= 1 && $0 <= limit },
                     "attend to \(visiblePositions) positions of a cache holding \(length) (capacity \(capacity))")
        let qs = rowStride(q, column: queryColumn, rows: rows, perRow: n, "queries")
        let (heads, hd, capacity, d) = (heads, headDim, capacity, width)
        let out = Tensor(zeros: [rows.count, n, d], zeroed: false)
        let qp = q.data + queryColumn, op = out.data
        let kc = keys[layer].data + rows.lowerBound * heads * capacity * hd
        let vc = values[layer].data + rows.lowerBound * heads * capacity * hd
        let scale = 1 / Float(hd).squareRoot()
        let longest = visiblePositions.max()!
        // One query against at most a few hundred keys: dot products and a weighted sum of value rows, written
        // out, beat two matrix products per (sequence, head). The prior had its own copy of this loop for that
        // reason; the image decoder decodes ~17% faster on it (without a head split and merge) than on GEMMs.
        visiblePositions.withUnsafeBufferPointer { visible in
            parallelItems(rows.count * heads * n, costPerItem: 2 * longest * hd) { item in
                let sequenceHead = item / n, i = sequenceHead / heads, h = sequenceHead % heads, p = item % n
                let positions = visible[p]
                let query = qp + (i * n + p) * qs + h * hd
                let ks = kc + sequenceHead * capacity * hd, vs = vc + sequenceHead * capacity * hd
                let o = op + (i * n + p) * d + h * hd
                withUnsafeTemporaryAllocation(of: Float.self, capacity: positions) { buffer in
                    let scores = buffer.baseAddress!
                    for j in 0..<positions { scores[j] = vectorDot(query, ks + j * hd, hd) }
                    softmaxRow(scores, count: positions, scale: scale)
                    o.update(repeating: 0, count: hd)
                    for j in 0..<positions {
                        let pj = scores[j], vj = vs + j * hd
                        for c in 0..<hd { o[c] += pj * vj[c] }
                    }
                }
            }
        }
        return out
    }
}
