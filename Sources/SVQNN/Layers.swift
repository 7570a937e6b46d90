// Standard layers over the engine's ops, with PyTorch's parameter layouts so official weights map 1:1.

import SVQEngine

/// How a layer's weight is initialised. Fan-in/fan-out count receptive-field elements for convolutions.
public enum WeightInit: Sendable {
    /// PyTorch's default for Linear and Conv: U(−1/√fanIn, 1/√fanIn) (kaiming_uniform with a = √5).
    case pytorchDefault
    /// Glorot: U(−g·√(6/(fanIn+fanOut)), +…).
    case xavierUniform(gain: Float = 1)
    /// He: N(0, 2/fanIn) (ReLU gain), `kaiming_normal_` with fan_in mode.
    case kaimingNormal
    /// He uniform: U(−√(6/fanIn), +…).
    case kaimingUniform
    case zeros

    /// A new tensor of `shape` drawn by this scheme.
    public func make(_ shape: [Int], fanIn: Int, fanOut: Int, rng: inout RandomGenerator) -> Tensor {
        switch self {
        case .pytorchDefault:
            let b = 1 / Float(max(fanIn, 1)).squareRoot()
            return rng.uniform(shape, low: -b, high: b)
        case .xavierUniform(let gain):
            let b = gain * (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
            return rng.uniform(shape, low: -b, high: b)
        case .kaimingNormal:
            return rng.normal(shape, std: (2 / Float(max(fanIn, 1))).squareRoot())
        case .kaimingUniform:
            let b = (6 / Float(max(fanIn, 1))).squareRoot()
            return rng.uniform(shape, low: -b, high: b)
        case .zeros:
            return Tensor(zeros: shape)
        }
    }
}

/// Makes a trainable tensor.
@inlinable
public func parameter(_ t: Tensor) -> Tensor {
    t.requiresGrad = true
    return t
}

/// `y = x·Wᵀ + b`; `weight` is `[out, in]`, `bias` is `[out]`.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                weightInit: WeightInit = .pytorchDefault, rng: inout RandomGenerator) {
        weight = parameter(weightInit.make([outFeatures, inFeatures], fanIn: inFeatures, fanOut: outFeatures, rng: &rng))
        if bias {
            let b = 1 / Float(max(inFeatures, 1)).squareRoot()
            switch weightInit {
            case .pytorchDefault: self.bias = parameter(rng.uniform([outFeatures], low: -b, high: b))
            default: self.bias = parameter(Tensor(zeros: [outFeatures]))
            }
        } else {
            self.bias = nil
        }
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// `scale · (x · weightᵀ) + bias` in one GEMM.
    public func callAsFunction(_ x: Tensor, scale: Float) -> Tensor { linear(x, weight: weight, bias: bias, scale: scale) }
}

/// 2-D convolution over NCHW input; `weight` is `[out, in, kh, kw]`, `bias` is `[out]`.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, weightInit: WeightInit = .pytorchDefault, rng: inout RandomGenerator) {
        let field = kernelSize * kernelSize
        weight = parameter(weightInit.make([outChannels, inChannels, kernelSize, kernelSize],
                                           fanIn: inChannels * field, fanOut: outChannels * field, rng: &rng))
        if bias {
            let b = 1 / Float(max(inChannels * field, 1)).squareRoot()
            switch weightInit {
            case .pytorchDefault: self.bias = parameter(rng.uniform([outChannels], low: -b, high: b))
            default: self.bias = parameter(Tensor(zeros: [outChannels]))
            }
        } else {
            self.bias = nil
        }
        self.stride = stride
        self.padding = padding
    }

    /// The convolution, followed by `max(·, 0)` (fused into it) when `relu`.
    public func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), relu: relu)
    }
}

/// Layer normalisation over the last axis, with learnable scale and shift when `affine`.
public final class LayerNorm: Module {
    public let weight: Tensor?
    public let bias: Tensor?
    public let eps: Float

    public init(_ features: Int, eps: Float = 1e-5, affine: Bool = true) {
        weight = affine ? parameter(Tensor.ones([features])) : nil
        bias = affine ? parameter(Tensor.zeros([features])) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Group normalisation of `[B, C, ...]` over `groups` groups of channels, with a learnable scale and shift per
/// channel (`torch.nn.GroupNorm(groups, channels, eps, affine=True)`).
public final class GroupNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(groups >= 1 && channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = parameter(Tensor.ones([channels]))
        bias = parameter(Tensor.zeros([channels]))
        (self.groups, self.eps) = (groups, eps)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps) }
}

/// A lookup table of `count` vectors of size `dim`.
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dim: Int, rng: inout RandomGenerator) {
        weight = parameter(rng.normal([count, dim]))
    }

    public func callAsFunction(_ indices: IntTensor) -> Tensor { embedding(indices, table: weight) }
}

/// A GRU cell with PyTorch's weight layout (`weight_ih` `[3H, I]`, `weight_hh` `[3H, H]`, gates r, z, n).
public final class GRUCell: Module {
    public let weightIH: Tensor
    public let weightHH: Tensor
    public let biasIH: Tensor
    public let biasHH: Tensor

    public init(inputSize: Int, hiddenSize: Int, rng: inout RandomGenerator) {
        let b = 1 / Float(max(hiddenSize, 1)).squareRoot()
        weightIH = parameter(rng.uniform([3 * hiddenSize, inputSize], low: -b, high: b))
        weightHH = parameter(rng.uniform([3 * hiddenSize, hiddenSize], low: -b, high: b))
        biasIH = parameter(rng.uniform([3 * hiddenSize], low: -b, high: b))
        biasHH = parameter(rng.uniform([3 * hiddenSize], low: -b, high: b))
    }

    public func callAsFunction(_ x: Tensor, _ h: Tensor) -> Tensor {
        gruCell(x, h, weightIH: weightIH, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH)
    }
}

/// An LSTM cell with PyTorch's weight layout (`weight_ih` `[4H, I]`, `weight_hh` `[4H, H]`, gates i, f, g, o).
public final class LSTMCell: Module {
    public let weightIH: Tensor
    public let weightHH: Tensor
    public let biasIH: Tensor
    public let biasHH: Tensor

    public init(inputSize: Int, hiddenSize: Int, rng: inout RandomGenerator) {
        let b = 1 / Float(max(hiddenSize, 1)).squareRoot()
        weightIH = parameter(rng.uniform([4 * hiddenSize, inputSize], low: -b, high: b))
        weightHH = parameter(rng.uniform([4 * hiddenSize, hiddenSize], low: -b, high: b))
        biasIH = parameter(rng.uniform([4 * hiddenSize], low: -b, high: b))
        biasHH = parameter(rng.uniform([4 * hiddenSize], low: -b, high: b))
    }

    /// One step from hidden state `h` and cell state `c` → `(h', c')`.
    public func callAsFunction(_ x: Tensor, _ h: Tensor, _ c: Tensor) -> (h: Tensor, c: Tensor) {
        lstmCell(x, h, c, weightIH: weightIH, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH)
    }
}

/// Inverted dropout for one training forward pass: its probability `p` and the random stream that every
/// dropout site of the pass draws from, in a fixed order, so a run is reproducible from its seed (and a resumed
/// run equals an uninterrupted one). A site zeroes each element with probability p and scales the rest by
/// 1/(1 − p). Evaluation passes take no dropout (nil) rather than a switched-off one.
///
/// ```swift
/// let dropout = Dropout(p: 0.1, rng: rng)
/// let y = dropout(x)              // draws from dropout.rng
/// rng = dropout.rng               // hand the advanced stream back
/// ```
public final class Dropout {
    public let p: Float
    public var rng: RandomGenerator

    public init(p: Float, rng: RandomGenerator) {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        self.p = p
        self.rng = rng
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { drop(x, p: p) }

    /// Dropout with a probability other than this pass's `p` (the image decoder's position dropout), from the
    /// same stream. With probability 0 nothing is drawn.
    public func drop(_ x: Tensor, p: Float) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        guard p > 0 else { return x }
        let keep = 1 - p
        let mask = rng.uniform(x.shape).map { $0 < keep ? 1 / keep : 0 }
        return x * mask
    }
}
