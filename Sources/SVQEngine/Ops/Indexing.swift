// Gathers, scatters and data movement: embedding lookup, concatenation, slicing, permutation,
// argmax and top-k, one-hot.

/// Rows of `table` (`[V, D]`) picked by `indices` (any shape) → `[indices.shape..., D]`.
/// The backward scatter-adds into the table (repeated indices accumulate). Indices must lie in `0..<V`.
public func embedding(_ indices: IntTensor, table: Tensor) -> Tensor {
    precondition(table.rank == 2, "embedding table must be [V, D], got \(table.shape)")
    let v = table.shape[0], d = table.shape[1]
    for i in indices.values { precondition(i >= 0 && Int(i) < v, "embedding index \(i) out of range 0..<\(v)") }
    let out = Tensor(zeros: indices.shape + [d], zeroed: false)
    let pt = table.data, po = out.data
    indices.values.withUnsafeBufferPointer { idx in
        parallelItems(idx.count, costPerItem: d) { r in
            (po + r * d).update(from: pt + Int(idx[r]) * d, count: d)
        }
    }
    if shouldRecord(table) {
        let tableShape = table.shape
        record(out, inputs: [table]) { g in
            let gt = Tensor(zeros: tableShape)
            let pg = g.data, pd = gt.data
            for (r, i) in indices.values.enumerated() {
                let dst = pd + Int(i) * d, src = pg + r * d
                for j in 0..<d { dst[j] += src[j] }
            }
            return [gt]
        }
    }
    return out
}

/// One-hot float vectors: `[indices.shape..., classes]`.
public func oneHot(_ indices: IntTensor, classes: Int) -> Tensor {
    let out = Tensor(zeros: indices.shape + [classes])
    for (r, i) in indices.values.enumerated() {
        precondition(i >= 0 && Int(i) < classes, "oneHot index \(i) out of range 0..<\(classes)")
        out.data[r * classes + Int(i)] = 1
    }
    return out
}

/// Joins tensors along `axis`; all other dimensions must match.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat of no tensors")
    let first = tensors[0]
    let ax = normalizeAxis(axis, rank: first.rank)
    for t in tensors {
        precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == ax || $0.element == first.shape[$0.offset] },
                     "concat: \(t.shape) does not match \(first.shape) outside axis \(ax)")
    }
    let outer = first.shape[..<ax].reduce(1, *)
    let inner = first.shape[(ax + 1)...].reduce(1, *)
    let sizes = tensors.map { $0.shape[ax] }
    let total = sizes.reduce(0, +)
    var outShape = first.shape
    outShape[ax] = total
    let out = Tensor(zeros: outShape, zeroed: false)
    var start = 0
    for (t, n) in zip(tensors, sizes) {
        let src = t.data, dst = out.data
        let len = n * inner
        for o in 0..<outer { (dst + o * total * inner + start * inner).update(from: src + o * len, count: len) }
        start += n
    }
    if shouldRecord(tensors) {
        record(out, inputs: tensors) { g in
            var pos = 0
            return sizes.map { n in
                defer { pos += n }
                return g.narrow(axis: ax, start: pos, length: n)
            }
        }
    }
    return out
}

/// Stacks same-shaped tensors along a new axis.
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    precondition(!tensors.isEmpty, "stack of no tensors")
    let rank = tensors[0].rank
    let ax = axis < 0 ? axis + rank + 1 : axis
    precondition(ax >= 0 && ax <= rank, "stack axis \(axis) out of range")
    let expanded = tensors.map { t -> Tensor in
        var s = t.shape
        s.insert(1, at: ax)
        return t.reshaped(s)
    }
    return concat(expanded, axis: ax)
}

extension Tensor {
    /// Elements `start ..< start+length` along `axis` (a copy unless the axis is the leading one).
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        let ax = normalizeAxis(axis, rank: rank)
        precondition(start >= 0 && length >= 0 && start + length <= shape[ax],
                     "narrow(axis: \(ax), start: \(start), length: \(length)) of \(shape)")
        if ax == 0 || shape[..<ax].allSatisfy({ $0 == 1 }) {
            let lead = shape[..<ax].count
            let flat = reshaped(Array(shape[ax...]))
            let part = flat.narrowFirst(start, length)
            return part.reshaped(Array(repeating: 1, count: lead) + part.shape)
        }
        let outer = shape[..<ax].reduce(1, *)
        let inner = shape[(ax + 1)...].reduce(1, *)
        let n = shape[ax]
        var outShape = shape
        outShape[ax] = length
        let out = Tensor(zeros: outShape, zeroed: false)
        let src = data, dst = out.data
        for o in 0..<outer {
            (dst + o * length * inner).update(from: src + (o * n + start) * inner, count: length * inner)
        }
        if shouldRecord(self) {
            let full = shape
            record(out, inputs: [self]) { g in
                let gi = Tensor(zeros: full)
                for o in 0..<outer {
                    (gi.data + (o * n + start) * inner).update(from: g.data + o * length * inner, count: length * inner)
                }
                return [gi]
            }
        }
        return out
    }

    /// Splits along `axis` into pieces of the given sizes.
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        precondition(sizes.reduce(0, +) == dim(axis), "split sizes \(sizes) do not sum to \(dim(axis))")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return narrow(axis: axis, start: start, length: n)
        }
    }

    /// Reorders axes: output axis i is input axis `order[i]`. Copies.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let srcStrides = order.map { inStrides[$0] }   // stride in the input for each output axis
        let out = Tensor(zeros: outShape, zeroed: false)
        let cols = outShape.last ?? 1
        let cs = srcStrides.last ?? 1
        let pi = data, po = out.data
        let swapsLastTwo = rank >= 2 && order[rank - 2] == rank - 1 && order[rank - 1] == rank - 2
            && order.prefix(rank - 2).elementsEqual(0..<(rank - 2))
        if swapsLastTwo {
            let rows = shape[rank - 2], columns = shape[rank - 1]
            batchedTranspose(pi, po, batches: rows * columns == 0 ? 0 : count / (rows * columns), rows: rows, cols: columns)
        } else {
            forEachBroadcastRow(outShape, srcStrides, srcStrides) { row, off, _ in
                let o = po + row * cols
                let s = pi + off
                for j in 0..<cols { o[j] = s[j * cs] }
            }
        }
        if shouldRecord(self) {
            var inverse = [Int](repeating: 0, count: rank)
            for (i, o) in order.enumerated() { inverse[o] = i }
            record(out, inputs: [self]) { g in [g.permuted(inverse)] }
        }
        return out
    }

    /// Swaps two axes. Copies.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizeAxis(a, rank: rank), normalizeAxis(b, rank: rank))
        return permuted(order)
    }

    /// Index of the largest value along the last axis (the first one on ties, as PyTorch does on CPU).
    public func argmax() -> IntTensor {
        let n = shape.last ?? 1
        let rows = n == 0 ? 0 : count / n
        var out = [Int32](repeating: 0, count: rows)
        let p = data
        for r in 0..<rows {
            let row = p + r * n
            var best = 0
            for j in 1..<Swift.max(n, 1) where row[j] > row[best] || (row[best].isNaN && !row[j].isNaN) { best = j }
            out[r] = Int32(best)
        }
        return IntTensor(out, shape: Array(shape.dropLast()))
    }

    /// The `k` largest values along the last axis and their indices, in descending order
    /// (ties keep the lower index first). Not recorded.
    public func topK(_ k: Int) -> (values: Tensor, indices: IntTensor) {
        let n = shape.last ?? 1
        precondition(k >= 1 && k <= n, "topK(\(k)) of last axis \(n)")
        let rows = count / n
        let values = Tensor(zeros: Array(shape.dropLast()) + [k], zeroed: false)
        var indices = [Int32](repeating: 0, count: rows * k)
        let p = data
        var taken = [Bool](repeating: false, count: n)
        for r in 0..<rows {
            let row = p + r * n
            for j in 0..<n { taken[j] = false }
            // k passes of selection, O(k·n): each takes the largest value not yet taken, the lowest index on ties
            // (scanning upward with a strict comparison keeps the first of equal values).
            for i in 0..<k {
                var best = -1
                for j in 0..<n where !taken[j] && (best < 0 || row[j] > row[best]) { best = j }
                taken[best] = true
                values.data[r * k + i] = row[best]
                indices[r * k + i] = Int32(best)
            }
        }
        return (values, IntTensor(indices, shape: Array(shape.dropLast()) + [k]))
    }
}

/// dst[b] = src[b]ᵀ for `batches` row-major `rows × cols` matrices, in square tiles so that both the reads
/// and the writes stay within a few cache lines (a row-by-row gather touches a new line per element).
func batchedTranspose(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                              batches: Int, rows: Int, cols: Int) {
    let tile = 16
    let bands = (rows + tile - 1) / tile
    parallelItems(batches * bands, costPerItem: tile * cols) { item in
        let b = item / bands, r0 = (item % bands) * tile, r1 = min(rows, r0 + tile)
        let s = src + b * rows * cols, d = dst + b * rows * cols
        var c0 = 0
        while c0 < cols {
            let c1 = min(cols, c0 + tile)
            for r in r0..<r1 {
                for c in c0..<c1 { d[c * rows + r] = s[r * cols + c] }
            }
            c0 = c1
        }
    }
}
