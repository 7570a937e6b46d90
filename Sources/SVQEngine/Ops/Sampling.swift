// Sampling: the Gumbel-softmax relaxation used to train the dVAE (differentiable), and the temperature/top-k
// draw from logits that the image decoder and the semantic prior decode with.

/// Gumbel-softmax over the last axis: softmax((logits + g) / τ) with g ~ Gumbel(0, 1) from `rng`.
/// With `hard`, the forward value is the one-hot argmax while the gradient is the soft sample's
/// (straight-through).
public func gumbelSoftmax(_ logits: Tensor, temperature: Float, hard: Bool = false,
                          rng: inout RandomGenerator) -> Tensor {
    precondition(temperature > 0, "gumbelSoftmax temperature must be positive, got \(temperature)")
    let noise = rng.gumbel(logits.shape)
    let soft = ((logits + noise) / temperature).softmax(axis: -1)
    guard hard else { return soft }
    let index = soft.argmax()
    let onehot = oneHot(index, classes: logits.shape.last ?? 1).reshaped(logits.shape)
    return soft + (onehot - soft.detached())
}

/// Straight-through estimator: the forward value of `value`, the gradient of `gradientPath`.
/// (`gradientPath + stopGradient(value − gradientPath)`.)
public func straightThrough(value: Tensor, gradientPath: Tensor) -> Tensor {
    gradientPath + (value - gradientPath).detached()
}

/// One class per row of `logits` (`[..., C]`), drawn from softmax(logits / temperature) among the row's `topK`
/// largest logits: values tied with the k-th survive, k is capped at C, nil keeps all C.
///
/// Consumes exactly one categorical draw per row from `rng` (`categorical(probabilities:)`), whatever the
/// temperature, k and logits, so callers can rely on a fixed random stream per row.
public func sampleFromLogits(_ logits: Tensor, temperature: Float, topK: Int? = nil,
                             rng: inout RandomGenerator) -> IntTensor {
    precondition(temperature > 0 && temperature.isFinite, "temperature must be positive and finite, got \(temperature)")
    if let topK { precondition(topK >= 1, "top-k must be at least 1, got \(topK)") }
    let c = logits.shape.last ?? 0
    precondition(logits.rank >= 1 && c >= 1, "sampleFromLogits needs logits [..., C] with C ≥ 1, got \(logits.shape)")
    let rows = logits.count / c
    let k = min(topK ?? c, c)
    let probs = Tensor(zeros: logits.shape, zeroed: false)
    var sorted = [Float](repeating: 0, count: k < c ? c : 0)
    for r in 0..<rows {
        let src = logits.data + r * c, row = probs.data + r * c
        for j in 0..<c { row[j] = src[j] / temperature }
        if k < c {
            for j in 0..<c { sorted[j] = row[j] }
            sorted.sort(by: >)
            let kth = sorted[k - 1]
            for j in 0..<c where row[j] < kth { row[j] = -.infinity }
        }
        softmaxRow(row, count: c, scale: 1)
    }
    return rng.categorical(probabilities: probs)
}
