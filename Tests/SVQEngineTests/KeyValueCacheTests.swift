// The key/value cache and its attention (KeyValueCache.attend) against attention computed naively in Double
// over whole sequences: decoding step by step must equal full causal attention, and a cache of fixed keys and
// values must equal plain attention to them.

import Foundation
import XCTest
import SVQEngine
import SVQTestSupport

final class KeyValueCacheTests: XCTestCase {
    /// Attention of the queries `[B, Tq, H·hd]` to keys and values `[B, Tk, H·hd]` (heads side by side), in
    /// Double with explicit loops; with `causal`, query i sees keys 0...i.
    private func naive(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, causal: Bool) -> [Float] {
        let b = q.shape[0], tq = q.shape[1], tk = k.shape[1], d = q.shape[2], hd = d / heads
        var out = [Float](repeating: 0, count: b * tq * d)
        for s in 0..<b { for h in 0..<heads { for i in 0..<tq {
            let visible = causal ? i + 1 : tk
            var scores = [Double](repeating: 0, count: visible)
            for j in 0..<visible {
                var dot = 0.0
                for c in 0..<hd { dot += Double(q.data[(s * tq + i) * d + h * hd + c]) * Double(k.data[(s * tk + j) * d + h * hd + c]) }
                scores[j] = dot / Double(hd).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
            for c in 0..<hd {
                var acc = 0.0
                for j in 0..<visible { acc += e[j] / z * Double(v.data[(s * tk + j) * d + h * hd + c]) }
                out[(s * tq + i) * d + h * hd + c] = Float(acc)
            }
        } } }
        return out
    }

    /// Row t of every sequence of `x` `[B, T, W]`: `[B, 1, W]`.
    private func position(_ x: Tensor, _ t: Int, rows: Range<Int>? = nil) -> Tensor {
        let b = x.shape[0], n = x.shape[1], w = x.shape[2], rows = rows ?? 0..<b
        let out = Tensor(zeros: [rows.count, 1, w])
        for (i, s) in rows.enumerated() { (out.data + i * w).update(from: x.data + (s * n + t) * w, count: w) }
        return out
    }

    /// Decodes the sequences step by step: store position t's keys and values, attend its queries to 0...t.
    private func decode(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, splitAt split: Int? = nil) -> [Float] {
        let b = q.shape[0], t = q.shape[1], d = q.shape[2]
        let cache = KeyValueCache(layers: 2, batch: b, heads: heads, headDim: d / heads, capacity: t)
        var out = [Float](repeating: 0, count: b * t * d)
        let parts = split.map { [0..<$0, $0..<b] } ?? [0..<b]
        for pos in 0..<t {
            XCTAssertEqual(cache.length, pos)
            for rows in parts {
                // Layer 1 holds other keys: attending to layer 0 must not see them.
                cache.store(layer: 1, keys: position(v, pos, rows: rows), values: position(k, pos, rows: rows), rows: rows)
                cache.store(layer: 0, keys: position(k, pos, rows: rows), values: position(v, pos, rows: rows), rows: rows)
                let attended = cache.attend(layer: 0, queries: position(q, pos, rows: rows), positions: pos + 1, rows: rows)
                XCTAssertEqual(attended.shape, [rows.count, 1, d])
                for (i, s) in rows.enumerated() {
                    for c in 0..<d { out[(s * t + pos) * d + c] = attended.data[i * d + c] }
                }
            }
            cache.advance()
        }
        XCTAssertEqual(cache.length, t)
        XCTAssertEqual(cache.capacity, t)
        return out
    }

    func testStepByStepEqualsFullCausalAttention() {
        let q = testTensor([3, 7, 10], seed: 1, requiresGrad: false)
        let k = testTensor([3, 7, 10], seed: 2, requiresGrad: false)
        let v = testTensor([3, 7, 10], seed: 3, requiresGrad: false)
        let expected = naive(q, k, v, heads: 2, causal: true)
        assertClose(decode(q, k, v, heads: 2), expected, tol: 1e-5, "whole batch")
        // Sequences 0..<2 and 2..<3 stored and attended separately (as the prior's parallel parts do).
        assertClose(decode(q, k, v, heads: 2, splitAt: 2), expected, tol: 1e-5, "rows in two parts")
    }

    /// A prefix of several positions stored and attended as one block, then the rest one by one (as the IRIS
    /// world model feeds a frame's tokens and then each next token): equal to full causal attention.
    func testBlockOfPositionsThenSingleStepsEqualsFullCausalAttention() {
        let (b, t, d, heads, prefix) = (2, 9, 8, 2, 5)
        let q = testTensor([b, t, d], seed: 31, requiresGrad: false)
        let k = testTensor([b, t, d], seed: 32, requiresGrad: false)
        let v = testTensor([b, t, d], seed: 33, requiresGrad: false)
        let cache = KeyValueCache(layers: 1, batch: b, heads: heads, headDim: d / heads, capacity: t)
        func positions(_ x: Tensor, _ range: Range<Int>) -> Tensor {
            let out = Tensor(zeros: [b, range.count, d])
            for s in 0..<b { (out.data + s * range.count * d).update(from: x.data + (s * t + range.lowerBound) * d, count: range.count * d) }
            return out
        }
        var out = [Float](repeating: 0, count: b * t * d)
        var start = 0
        for n in [prefix] + Array(repeating: 1, count: t - prefix) {
            let range = start..<(start + n)
            cache.store(layer: 0, keys: positions(k, range), values: positions(v, range), count: n)
            let attended = cache.attend(layer: 0, queries: positions(q, range), visiblePositions: range.map { $0 + 1 })
            XCTAssertEqual(attended.shape, [b, n, d])
            for s in 0..<b { for i in 0..<(n * d) { out[(s * t + start) * d + i] = attended.data[s * n * d + i] } }
            cache.advance(by: n)
            start += n
        }
        assertClose(out, naive(q, k, v, heads: heads, causal: true), tol: 1e-5)
    }

    func testLargeBatchSpreadOverThreadsEqualsFullCausalAttention() {
        // 16 sequences × 4 heads × 64 positions × 32: enough work for the attention to use several threads.
        let q = testTensor([16, 64, 128], seed: 4, requiresGrad: false)
        let k = testTensor([16, 64, 128], seed: 5, requiresGrad: false)
        let v = testTensor([16, 64, 128], seed: 6, requiresGrad: false)
        assertClose(decode(q, k, v, heads: 4), naive(q, k, v, heads: 4, causal: true), tol: 1e-5)
    }

    func testColumnsOfAPackedProjection() {
        // q, k and v side by side in one [B, 1, 3W] row, as a packed input projection gives them.
        let b = 2, t = 5, w = 6, heads = 3
        let qkv = testTensor([b, t, 3 * w], seed: 7, requiresGrad: false)
        func columns(_ start: Int) -> Tensor {
            let out = Tensor(zeros: [b, t, w])
            for r in 0..<(b * t) { (out.data + r * w).update(from: qkv.data + r * 3 * w + start, count: w) }
            return out
        }
        let cache = KeyValueCache(layers: 1, batch: b, heads: heads, headDim: w / heads, capacity: t)
        var out = [Float](repeating: 0, count: b * t * w)
        for pos in 0..<t {
            let row = position(qkv, pos)
            cache.store(layer: 0, keys: row, keyColumn: w, values: row, valueColumn: 2 * w)
            let attended = cache.attend(layer: 0, queries: row, positions: pos + 1)
            for s in 0..<b { for c in 0..<w { out[(s * t + pos) * w + c] = attended.data[s * w + c] } }
            cache.advance()
        }
        assertClose(out, naive(columns(0), columns(w), columns(2 * w), heads: heads, causal: true), tol: 1e-5)
    }

    func testFixedKeysAndValuesAreAFullCache() {
        let b = 2, tm = 9, d = 8, heads = 2
        let keys = [testTensor([b, tm, d], seed: 8, requiresGrad: false), testTensor([b, tm, d], seed: 9, requiresGrad: false)]
        let values = [testTensor([b, tm, d], seed: 10, requiresGrad: false), testTensor([b, tm, d], seed: 11, requiresGrad: false)]
        let cache = KeyValueCache(heads: heads, fixedKeys: keys, values: values)
        XCTAssertEqual(cache.length, tm)
        XCTAssertEqual(cache.capacity, tm)
        XCTAssertEqual(cache.layers, 2)
        XCTAssertEqual(cache.headDim, d / heads)
        let q = testTensor([b, 1, d], seed: 12, requiresGrad: false)
        for layer in 0..<2 {
            assertClose(cache.attend(layer: layer, queries: q, positions: tm).scalars,
                        naive(q, keys[layer], values[layer], heads: heads, causal: false), tol: 1e-5, "layer \(layer)")
        }
        // Fewer positions: the first ones only.
        let first4 = { (x: Tensor) -> Tensor in
            let out = Tensor(zeros: [b, 4, d])
            for s in 0..<b { (out.data + s * 4 * d).update(from: x.data + s * tm * d, count: 4 * d) }
            return out
        }
        assertClose(cache.attend(layer: 1, queries: q, positions: 4).scalars,
                    naive(q, first4(keys[1]), first4(values[1]), heads: heads, causal: false), tol: 1e-5, "prefix")
    }

    func testOneKeyGivesItsValue() {
        // softmax over one score is 1: the output is the stored value, whatever the query.
        let cache = KeyValueCache(layers: 1, batch: 1, heads: 1, headDim: 3, capacity: 2)
        cache.store(layer: 0, keys: Tensor([100, -50, 7], shape: [1, 1, 3]), values: Tensor([1, 2, 3], shape: [1, 1, 3]))
        XCTAssertEqual(cache.attend(layer: 0, queries: Tensor([3, 1, -2], shape: [1, 1, 3]), positions: 1).scalars, [1, 2, 3])
        XCTAssertEqual(cache.length, 0, "storing does not advance")
        cache.advance()
        XCTAssertEqual(cache.length, 1)
    }
}
