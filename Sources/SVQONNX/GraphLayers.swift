// Our layers spelled as ONNX nodes: each helper emits the same arithmetic, in the same order, as the
// Swift layer it is named after (SVQNN/SVQModel), so runtimes reproduce our numbers to rounding.

import SVQEngine
import SVQModels
import SVQNN

extension GraphBuilder {
    // MARK: Elementwise

    func add(_ a: String, _ b: String) -> String { op1("Add", a, b) }
    func sub(_ a: String, _ b: String) -> String { op1("Sub", a, b) }
    func mul(_ a: String, _ b: String) -> String { op1("Mul", a, b) }
    func div(_ a: String, _ b: String) -> String { op1("Div", a, b) }
    func relu(_ x: String) -> String { op1("Relu", x) }

    /// Reshape to `shape`, where 0 keeps the input's size on that axis (the batch) and −1 is inferred.
    func reshape(_ x: String, _ shape: [Int]) -> String { op1("Reshape", x, int64s(shape, hint: "shape")) }

    func transpose(_ x: String, _ perm: [Int]) -> String { op1("Transpose", x, attributes: ["perm": .ints(perm)]) }

    func unsqueeze(_ x: String, axes: [Int]) -> String { op1("Unsqueeze", x, int64s(axes, hint: "axes")) }

    /// Gathers along `axis`; a scalar index drops that axis.
    func gather(_ data: String, _ indices: String, axis: Int = 0) -> String {
        op1("Gather", data, indices, attributes: ["axis": .int(axis)])
    }

    func concat(_ xs: [String], axis: Int) -> String { op("Concat", xs, outputs: 1, ["axis": .int(axis)])[0] }

    /// Splits the last axis into equal parts of `size`.
    func splitLast(_ x: String, parts: Int, size: Int) -> [String] {
        op("Split", [x, int64s(Array(repeating: size, count: parts), hint: "split")], outputs: parts, ["axis": .int(-1)])
    }

    // MARK: Layers

    /// `Linear`: x·Wᵀ (+ b) over the last axis of `x` (any rank). The transposed weight is a node on the
    /// initializer, which runtimes fold, so initializers keep our names and layouts.
    func linear(_ x: String, _ layer: Linear) -> String {
        let y = op1("MatMul", x, transpose(weight(layer.weight), [1, 0]))
        return layer.bias.map { add(y, weight($0)) } ?? y
    }

    /// `Conv2d`: cross-correlation with zero padding, `[B, Cin, H, W]` → `[B, Cout, H', W']`.
    func conv(_ x: String, _ layer: Conv2d) -> String {
        let k = layer.weight.shape
        var inputs = [x, weight(layer.weight)]
        if let b = layer.bias { inputs.append(weight(b)) }
        return op("Conv", inputs, outputs: 1, [
            "kernel_shape": .ints([k[2], k[3]]), "strides": .ints([layer.stride, layer.stride]),
            "pads": .ints(Array(repeating: layer.padding, count: 4)),
        ])[0]
    }

    /// `LayerNorm` over the last axis of width `width` (biased variance, ε as the layer's).
    func layerNorm(_ x: String, _ layer: LayerNorm, width: Int) -> String {
        guard let w = layer.weight else { return plainLayerNorm(x, width: width, eps: layer.eps) }
        var inputs = [x, weight(w)]
        if let b = layer.bias { inputs.append(weight(b)) }
        return op("LayerNormalization", inputs, outputs: 1, ["axis": .int(-1), "epsilon": .float(layer.eps)])[0]
    }

    /// LayerNorm without affine parameters over the last axis of width `width` (ε = 1e-5).
    func plainLayerNorm(_ x: String, width: Int, eps: Float = 1e-5) -> String {
        let ones = constant([Float](repeating: 1, count: width), shape: [width], hint: "ones")
        return op("LayerNormalization", [x, ones], outputs: 1, ["axis": .int(-1), "epsilon": .float(eps)])[0]
    }

    /// `BlockLinear`: block m of the last axis through `weight[m]` (`[M, in/M, out/M]`), then the bias.
    /// `lead` is the reshape code of the leading axes (0 = keep, e.g. `[0, 0]` for `[B, N, ·]`).
    func blockLinear(_ x: String, _ layer: BlockLinear, lead: [Int]) -> String {
        let m = layer.blocks, i = layer.weight.shape[1], o = layer.weight.shape[2]
        let blocks = reshape(x, lead + [m, 1, i])                          // [..., M, 1, in/M]
        let y = op1("MatMul", blocks, weight(layer.weight))                 // [..., M, 1, out/M]
        return add(reshape(y, lead + [m * o]), weight(layer.bias))
    }

    /// `blockLayerNorm`: LayerNorm without affine parameters over each of the M blocks of the last axis.
    func blockLayerNorm(_ x: String, blocks m: Int, width s: Int, lead: [Int]) -> String {
        reshape(plainLayerNorm(reshape(x, lead + [m, s / m]), width: s / m), lead + [s])
    }

    /// `BlockGRU` on `x`, `h` `[B, N, S]`: a PyTorch GRUCell per block, gates r, z, n.
    func blockGRU(_ x: String, _ h: String, _ gru: BlockGRU, slotSize s: Int) -> String {
        let m = gru.blocks, w = s / m
        func gates(_ v: String, _ wt: Tensor, _ b: Tensor) -> [String] {
            let blocks = reshape(v, [0, 0, m, 1, w])                                   // [B, N, M, 1, w]
            let g = op1("MatMul", blocks, transpose(weight(wt), [0, 2, 1]))             // [B, N, M, 1, 3w]
            return splitLast(add(reshape(g, [0, 0, m, 3 * w]), weight(b)), parts: 3, size: w)
        }
        let gi = gates(x, gru.weightIH, gru.biasIH), gh = gates(h, gru.weightHH, gru.biasHH)
        let r = op1("Sigmoid", add(gi[0], gh[0]))
        let z = op1("Sigmoid", add(gi[1], gh[1]))
        let n = op1("Tanh", add(gi[2], mul(r, gh[2])))
        let hb = reshape(h, [0, 0, m, w])
        return reshape(add(n, mul(z, sub(hb, n))), [0, 0, s])            // n + z ⊙ (h − n), as ours
    }

    /// `BlockVectorQuantizer`: slots `[B, N, S]` → local codes `[B, N, M]` (int64) and the quantized slots.
    /// Distances are sums of squared differences (not the expanded form), ArgMin keeps the first minimum.
    func quantize(_ slots: String, _ q: BlockVectorQuantizer) -> (codes: String, quantized: String) {
        let m = q.blocks, w = q.width
        let diff = sub(reshape(slots, [0, 0, m, 1, w]), weight(q.codebooks))        // [B, N, M, P, w]
        let dist = op("ReduceSum", [mul(diff, diff), int64s([-1], hint: "axes")], outputs: 1, ["keepdims": .int(0)])[0]
        let codes = op1("ArgMin", dist, attributes: ["axis": .int(-1), "keepdims": .int(0), "select_last_index": .int(0)])
        return (codes, lookup(codes, q))
    }

    /// Codebook vectors of local codes `[B, N, M]` → slots `[B, N, S]`: row m·P + p of the flattened books.
    func lookup(_ codes: String, _ q: BlockVectorQuantizer) -> String {
        let m = q.blocks, p = q.prototypes, w = q.width
        let offsets = int64s((0..<m).map { $0 * p }, hint: "block_offsets")
        let books = reshape(weight(q.codebooks), [m * p, w])
        return reshape(gather(books, add(codes, offsets)), [0, 0, m * w])
    }

    // MARK: Attention

    /// `[B, T, D]` → `[B, H, T, D/H]` (head j takes features j·hd ..< (j+1)·hd).
    func splitHeads(_ x: String, heads: Int, headDim: Int) -> String {
        transpose(reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3])
    }

    /// `[B, H, T, hd]` → `[B, T, H·hd]`.
    func mergeHeads(_ x: String, width: Int) -> String {
        reshape(transpose(x, [0, 2, 1, 3]), [0, 0, width])
    }

    /// softmax(q·kᵀ · 1/√hd)·v over `[B, H, T, hd]` operands, scaled after the product as our kernel does.
    /// No mask: callers pass only the keys a query may see.
    func attention(_ q: String, _ k: String, _ v: String, headDim: Int) -> String {
        let scores = op1("MatMul", q, transpose(k, [0, 1, 3, 2]))
        let probs = op1("Softmax", mul(scores, scalar(1 / Float(headDim).squareRoot())), attributes: ["axis": .int(-1)])
        return op1("MatMul", probs, v)
    }

    /// `MultiHeadAttention` (bias-free projections) of `query` over `keyValue`, both `[B, T, D]`, no mask.
    func multiHeadAttention(_ query: String, _ keyValue: String, _ mha: MultiHeadAttention, dModel d: Int) -> String {
        let h = mha.heads, hd = d / h
        let q = splitHeads(linear(query, mha.projQ), heads: h, headDim: hd)
        let k = splitHeads(linear(keyValue, mha.projK), heads: h, headDim: hd)
        let v = splitHeads(linear(keyValue, mha.projV), heads: h, headDim: hd)
        return linear(mergeHeads(attention(q, k, v, headDim: hd), width: d), mha.projO)
    }

    /// `FeedForward`: fc2(relu(fc1(x))).
    func feedForward(_ x: String, _ ffn: FeedForward) -> String {
        linear(relu(linear(x, ffn.fc1)), ffn.fc2)
    }
}
