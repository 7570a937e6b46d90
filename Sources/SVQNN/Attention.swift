// Multi-head attention over split heads, with the masks and dropout that the fused engine op does not take.

import SVQEngine

/// softmax(q·kᵀ/√hd + mask)·v per head, on `[B, H, T, hd]` queries, keys and values. `causal` lets query i see
/// keys j ≤ i + Tk − Tq; `additiveMask` (`[Tq, Tk]`, 0 where allowed and −∞ elsewhere) replaces it with any
/// pattern. With `dropout` (training) the attention probabilities are dropped, as torch's attention modules do.
/// Without a mask pattern or dropout this is the engine's fused `scaledDotProductAttention`; otherwise the
/// product is spelled out, since the fused op never materialises the probabilities for autodiff.
public func multiHeadAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, additiveMask: Tensor? = nil,
                               dropout: Dropout?) -> Tensor {
    let dropping = (dropout?.p ?? 0) > 0
    guard dropping || additiveMask != nil else { return scaledDotProductAttention(q, k, v, causal: causal) }
    let tq = q.shape[2], tk = k.shape[2]
    var scores = matmul(q, k, transposeB: true) * (1 / Float(q.shape[3]).squareRoot())
    if let mask = additiveMask ?? (causal ? causalAdditiveMask(queries: tq, keys: tk) : nil) { scores = scores + mask }
    let probabilities = scores.softmax(axis: -1)
    return matmul(dropping ? dropout!(probabilities) : probabilities, v)
}

/// `[Tq, Tk]`: 0 where query i may see key j (j ≤ i + Tk − Tq), −inf elsewhere.
public func causalAdditiveMask(queries tq: Int, keys tk: Int) -> Tensor {
    let m = Tensor(zeros: [tq, tk])
    for i in 0..<tq { for j in 0..<tk where j > i + tk - tq { m.data[i * tk + j] = -.infinity } }
    return m
}
