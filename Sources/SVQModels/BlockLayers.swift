// Layers that act on each block of a slot separately: the slot is M contiguous chunks of size S/M
// and block m only ever sees chunk m (the structure that lets each block specialise to one factor).

import SVQEngine
import SVQNN

/// Moves block-major data `[R, M, w]` (a slot per row) to `[M, R, w]` so each block is one GEMM operand.
@inline(__always)
func blocksFirst(_ x: Tensor, blocks: Int) -> Tensor {
    let w = x.shape.last! / blocks
    return x.reshaped([-1, blocks, w]).permuted([1, 0, 2])
}

/// Inverse of `blocksFirst`: `[M, R, w]` → `[R, M·w]`.
@inline(__always)
func blocksLast(_ x: Tensor) -> Tensor {
    let m = x.shape[0], w = x.shape[2]
    return x.permuted([1, 0, 2]).reshaped([-1, m * w])
}

/// A linear map per block: block m of the input (width in/M) maps through its own `[in/M, out/M]` matrix
/// to block m of the output; one bias for the whole output.
///
/// Tensors: `weight` `[M, in/M, out/M]` (input-major, as the official `BlockLinear`), `bias` `[out]`.
public final class BlockLinear: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let blocks: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, blocks: Int, rng: inout RandomGenerator) {
        precondition(inFeatures % blocks == 0 && outFeatures % blocks == 0, "BlockLinear \(inFeatures)→\(outFeatures) over \(blocks) blocks")
        let i = inFeatures / blocks, o = outFeatures / blocks
        // torch's xavier on a 3-D tensor: fan_in = i·o, fan_out = blocks·o.
        weight = parameter(WeightInit.xavierUniform().make([blocks, i, o], fanIn: i * o, fanOut: blocks * o, rng: &rng))
        bias = parameter(Tensor(zeros: [outFeatures]))
        self.blocks = blocks
    }

    public var outFeatures: Int { bias.count }

    /// `x`: `[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let lead = Array(x.shape.dropLast())
        let y = matmul(blocksFirst(x, blocks: blocks), weight)   // [M, R, out/M]
        return (blocksLast(y) + bias).reshaped(lead + [outFeatures])
    }
}

/// LayerNorm over each block separately, without affine parameters.
public func blockLayerNorm(_ x: Tensor, blocks: Int, eps: Float = 1e-5) -> Tensor {
    let shape = x.shape
    let w = shape.last! / blocks
    return layerNorm(x.reshaped(Array(shape.dropLast()) + [blocks, w]), eps: eps).reshaped(shape)
}

/// A GRU cell per block (weights shared across slots): equivalent to the official masked, block-diagonal
/// `BlockGRU`, storing only the diagonal blocks.
///
/// Tensors: `weight_ih`, `weight_hh` `[M, 3·w, w]` (per block, PyTorch GRUCell layout: rows r, z, n);
/// `bias_ih`, `bias_hh` `[M, 3·w]`; w = S/M.
public final class BlockGRU: Module {
    public let weightIH: Tensor
    public let weightHH: Tensor
    public let biasIH: Tensor
    public let biasHH: Tensor
    public let blocks: Int

    public init(size: Int, blocks: Int, rng: inout RandomGenerator) {
        precondition(size % blocks == 0, "BlockGRU size \(size) over \(blocks) blocks")
        let w = size / blocks
        // PyTorch GRUCell's default U(±1/√hidden), hidden = the full slot size.
        let b = 1 / Float(size).squareRoot()
        weightIH = parameter(rng.uniform([blocks, 3 * w, w], low: -b, high: b))
        weightHH = parameter(rng.uniform([blocks, 3 * w, w], low: -b, high: b))
        biasIH = parameter(rng.uniform([blocks, 3 * w], low: -b, high: b))
        biasHH = parameter(rng.uniform([blocks, 3 * w], low: -b, high: b))
        self.blocks = blocks
    }

    /// One step. `x`, `h`: `[R, S]` → `[R, S]`.
    public func callAsFunction(_ x: Tensor, _ h: Tensor) -> Tensor {
        let w = weightIH.shape[2]
        let xb = blocksFirst(x, blocks: blocks), hb = blocksFirst(h, blocks: blocks)   // [M, R, w]
        let gi = (matmul(xb, weightIH, transposeB: true) + biasIH.reshaped([blocks, 1, 3 * w])).split(axis: -1, sizes: [w, w, w])
        let gh = (matmul(hb, weightHH, transposeB: true) + biasHH.reshaped([blocks, 1, 3 * w])).split(axis: -1, sizes: [w, w, w])
        let r = (gi[0] + gh[0]).sigmoid()
        let z = (gi[1] + gh[1]).sigmoid()
        let n = (gi[2] + r * gh[2]).tanh()
        return blocksLast(n + z * (hb - n))
    }
}
