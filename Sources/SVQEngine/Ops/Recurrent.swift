// The GRU and LSTM cells, with PyTorch's gate orders and equations, so that official weights load unchanged.

/// One GRU step. `x`: `[B, I]`, `h`: `[B, H]`; weights in PyTorch's layout `weightIH` `[3H, I]`,
/// `weightHH` `[3H, H]`, biases `[3H]`, gates stacked (reset r, update z, new n):
///
///     r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr)
///     z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz)
///     n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn))
///     h' = (1 − z) ⊙ n + z ⊙ h
///
/// Composed from recorded ops, so it is differentiable with respect to every argument.
public func gruCell(_ x: Tensor, _ h: Tensor, weightIH: Tensor, weightHH: Tensor,
                    biasIH: Tensor?, biasHH: Tensor?) -> Tensor {
    let hidden = h.shape.last ?? 0
    precondition(weightIH.shape == [3 * hidden, x.shape.last ?? 0], "gruCell: weightIH \(weightIH.shape) for x \(x.shape), h \(h.shape)")
    precondition(weightHH.shape == [3 * hidden, hidden], "gruCell: weightHH \(weightHH.shape) for hidden \(hidden)")
    let gi = linear(x, weight: weightIH, bias: biasIH).split(axis: -1, sizes: [hidden, hidden, hidden])
    let gh = linear(h, weight: weightHH, bias: biasHH).split(axis: -1, sizes: [hidden, hidden, hidden])
    let r = (gi[0] + gh[0]).sigmoid()
    let z = (gi[1] + gh[1]).sigmoid()
    let n = (gi[2] + r * gh[2]).tanh()
    return n + z * (h - n)
}

/// One LSTM step, as `torch.nn.LSTMCell`. `x`: `[B, I]`, `h` and `c`: `[B, H]`; weights in PyTorch's layout
/// `weightIH` `[4H, I]`, `weightHH` `[4H, H]`, biases `[4H]`, gates stacked (input i, forget f, cell g, output o):
///
///     i = σ(x·W_iiᵀ + b_ii + h·W_hiᵀ + b_hi)      f = σ(… W_if, W_hf …)
///     g = tanh(… W_ig, W_hg …)                    o = σ(… W_io, W_ho …)
///     c' = f ⊙ c + i ⊙ g                          h' = o ⊙ tanh(c')
///
/// Returns `(h', c')`. Composed from recorded ops, so it is differentiable with respect to every argument.
public func lstmCell(_ x: Tensor, _ h: Tensor, _ c: Tensor, weightIH: Tensor, weightHH: Tensor,
                     biasIH: Tensor?, biasHH: Tensor?) -> (h: Tensor, c: Tensor) {
    let hidden = h.shape.last ?? 0
    precondition(c.shape == h.shape, "lstmCell: cell state \(c.shape) differs from hidden state \(h.shape)")
    precondition(weightIH.shape == [4 * hidden, x.shape.last ?? 0], "lstmCell: weightIH \(weightIH.shape) for x \(x.shape), h \(h.shape)")
    precondition(weightHH.shape == [4 * hidden, hidden], "lstmCell: weightHH \(weightHH.shape) for hidden \(hidden)")
    let gates = (linear(x, weight: weightIH, bias: biasIH) + linear(h, weight: weightHH, bias: biasHH))
        .split(axis: -1, sizes: [hidden, hidden, hidden, hidden])
    let cNext = gates[1].sigmoid() * c + gates[0].sigmoid() * gates[2].tanh()
    return (gates[3].sigmoid() * cNext.tanh(), cNext)
}
