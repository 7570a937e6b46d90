// Differentiable sampling: the Gumbel-softmax relaxation used to train the dVAE.

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
