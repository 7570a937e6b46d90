// The SLATE/SysBinder/SVQ transformer: pre-LN blocks without biases in attention, whose first block
// normalises its input and keeps the normalised tensor as the residual stream, and a final LayerNorm.
// The decoder adds a key/value cache so autoregressive decoding costs one position per step.

import SVQEngine
import SVQNN

/// Multi-head attention with bias-free q/k/v/o projections (`proj_q`, `proj_k`, `proj_v`, `proj_o`: `[D, D]`).
public final class MultiHeadAttention: Module {
    public let projQ: Linear
    public let projK: Linear
    public let projV: Linear
    public let projO: Linear
    public let heads: Int

    public init(dModel: Int, heads: Int, outputGain: Float, rng: inout RandomGenerator) {
        projQ = Linear(dModel, dModel, bias: false, weightInit: .xavierUniform(), rng: &rng)
        projK = Linear(dModel, dModel, bias: false, weightInit: .xavierUniform(), rng: &rng)
        projV = Linear(dModel, dModel, bias: false, weightInit: .xavierUniform(), rng: &rng)
        projO = Linear(dModel, dModel, bias: false, weightInit: .xavierUniform(gain: outputGain), rng: &rng)
        self.heads = heads
    }

    /// `[B, T, D]` → `[B, H, T, D/H]` (head j takes features j·hd ..< (j+1)·hd).
    func splitHeads(_ x: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[1], d = x.shape[2]
        return x.reshaped([b, t, heads, d / heads]).permuted([0, 2, 1, 3])
    }

    func mergeHeads(_ x: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[2], hd = x.shape[3]
        return x.permuted([0, 2, 1, 3]).reshaped([b, t, heads * hd])
    }

    /// `query` `[B, Tq, D]` attends to `keyValue` `[B, Tk, D]`. With `dropout` (training), the attention
    /// probabilities and the output projection are dropped, as in the official decoder.
    public func callAsFunction(_ query: Tensor, _ keyValue: Tensor, causal: Bool = false,
                               dropout: Dropout? = nil) -> Tensor {
        let q = splitHeads(projQ(query)), k = splitHeads(projK(keyValue)), v = splitHeads(projV(keyValue))
        let out = projO(mergeHeads(multiHeadAttention(q, k, v, causal: causal, dropout: dropout)))
        guard let dropout, dropout.p > 0 else { return out }
        return dropout(out)
    }
}

/// A pre-LN block's residual stream and its normalised input. In the first block of a stack the normalised
/// input is also the residual stream (the SLATE/SysBinder/SVQ code normalises the stack's input once there).
func preNormalised(_ input: Tensor, _ norm: LayerNorm, isFirst: Bool) -> (residual: Tensor, normalised: Tensor) {
    let t = norm(input)
    return (isFirst ? t : input, t)
}

/// Position-wise feed-forward: Linear(D, 4D) → ReLU → Linear(4D, D).
public final class FeedForward: Module {
    public let fc1: Linear
    public let fc2: Linear

    public init(dModel: Int, outputGain: Float, rng: inout RandomGenerator) {
        fc1 = Linear(dModel, 4 * dModel, weightInit: .kaimingUniform, rng: &rng)
        fc2 = Linear(4 * dModel, dModel, weightInit: .xavierUniform(gain: outputGain), rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }
}

/// Pre-LN self-attention block (the block coupler's).
public final class TransformerEncoderBlock: Module {
    public let attnLayerNorm: LayerNorm
    public let attn: MultiHeadAttention
    public let ffnLayerNorm: LayerNorm
    public let ffn: FeedForward
    let isFirst: Bool

    public init(dModel: Int, heads: Int, layers: Int, isFirst: Bool, rng: inout RandomGenerator) {
        let gain = 1 / Float(2 * layers).squareRoot()
        attnLayerNorm = LayerNorm(dModel)
        attn = MultiHeadAttention(dModel: dModel, heads: heads, outputGain: gain, rng: &rng)
        ffnLayerNorm = LayerNorm(dModel)
        ffn = FeedForward(dModel: dModel, outputGain: gain, rng: &rng)
        self.isFirst = isFirst
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        let (residual, t) = preNormalised(input, attnLayerNorm, isFirst: isFirst)
        let x = residual + attn(t, t)
        return x + ffn(ffnLayerNorm(x))
    }
}

/// A stack of encoder blocks and a final LayerNorm. Tensors: `blocks.{i}.*`, `layer_norm.*`.
public final class TransformerEncoder: Module {
    public let blocks: [TransformerEncoderBlock]
    public let layerNorm: LayerNorm

    public init(layers: Int, dModel: Int, heads: Int, rng: inout RandomGenerator) {
        blocks = (0..<layers).map { TransformerEncoderBlock(dModel: dModel, heads: heads, layers: layers, isFirst: $0 == 0, rng: &rng) }
        layerNorm = LayerNorm(dModel)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(blocks.reduce(x) { $1($0) })
    }
}

/// Pre-LN decoder block: causal self-attention, cross-attention to a memory, feed-forward.
public final class TransformerDecoderBlock: Module {
    public let selfAttnLayerNorm: LayerNorm
    public let selfAttn: MultiHeadAttention
    public let crossAttnLayerNorm: LayerNorm
    public let crossAttn: MultiHeadAttention
    public let ffnLayerNorm: LayerNorm
    public let ffn: FeedForward
    let isFirst: Bool

    public init(dModel: Int, heads: Int, layers: Int, isFirst: Bool, rng: inout RandomGenerator) {
        let gain = 1 / Float(3 * layers).squareRoot()
        selfAttnLayerNorm = LayerNorm(dModel)
        selfAttn = MultiHeadAttention(dModel: dModel, heads: heads, outputGain: gain, rng: &rng)
        crossAttnLayerNorm = LayerNorm(dModel)
        crossAttn = MultiHeadAttention(dModel: dModel, heads: heads, outputGain: gain, rng: &rng)
        ffnLayerNorm = LayerNorm(dModel)
        ffn = FeedForward(dModel: dModel, outputGain: gain, rng: &rng)
        self.isFirst = isFirst
    }

    /// Teacher-forced pass over a whole sequence `[B, T, D]` with memory `[B, Tm, D]`; `dropout` in training
    /// drops attention probabilities, attention outputs and the feed-forward output.
    public func callAsFunction(_ input: Tensor, memory: Tensor, dropout: Dropout? = nil) -> Tensor {
        let (residual, t) = preNormalised(input, selfAttnLayerNorm, isFirst: isFirst)
        var x = residual + selfAttn(t, t, causal: true, dropout: dropout)
        x = x + crossAttn(crossAttnLayerNorm(x), memory, dropout: dropout)
        let f = ffn(ffnLayerNorm(x))
        return x + (dropout?(f) ?? f)
    }

    /// One position `[B, 1, D]`: stores its keys and values as position `caches.selfAttention.length` of
    /// layer `layer` and attends to it and the earlier positions, then to the memory.
    func step(_ input: Tensor, layer: Int, caches: DecoderCaches) -> Tensor {
        var (x, t) = preNormalised(input, selfAttnLayerNorm, isFirst: isFirst)
        let own = caches.selfAttention
        own.store(layer: layer, keys: selfAttn.projK(t), values: selfAttn.projV(t))
        x = x + selfAttn.projO(own.attend(layer: layer, queries: selfAttn.projQ(t), positions: own.length + 1))
        let memory = caches.crossAttention
        let crossed = memory.attend(layer: layer, queries: crossAttn.projQ(crossAttnLayerNorm(x)), positions: memory.length)
        x = x + crossAttn.projO(crossed)
        return x + ffn(ffnLayerNorm(x))
    }
}

/// The decoder's keys and values while it decodes: its own positions (self-attention, filled step by step)
/// and the memory's (cross-attention, computed once).
struct DecoderCaches {
    let selfAttention: KeyValueCache
    let crossAttention: KeyValueCache
}

/// The autoregressive decoder: blocks plus a final LayerNorm. Tensors: `blocks.{i}.*`, `layer_norm.*`.
public final class TransformerDecoder: Module {
    public let blocks: [TransformerDecoderBlock]
    public let layerNorm: LayerNorm

    public init(layers: Int, dModel: Int, heads: Int, rng: inout RandomGenerator) {
        blocks = (0..<layers).map { TransformerDecoderBlock(dModel: dModel, heads: heads, layers: layers, isFirst: $0 == 0, rng: &rng) }
        layerNorm = LayerNorm(dModel)
    }

    /// Teacher-forced pass: `x` `[B, T, D]` (causal), `memory` `[B, Tm, D]` → `[B, T, D]`.
    public func callAsFunction(_ x: Tensor, memory: Tensor, dropout: Dropout? = nil) -> Tensor {
        layerNorm(blocks.reduce(x) { $1($0, memory: memory, dropout: dropout) })
    }

    /// Caches for decoding up to `capacity` positions against `memory` `[B, Tm, D]` (cross-attention keys
    /// and values computed here, once).
    func makeCaches(memory: Tensor, capacity: Int) -> DecoderCaches {
        let b = memory.shape[0], d = memory.shape[2], h = blocks[0].selfAttn.heads
        let cross = blocks.map { $0.crossAttn }
        return DecoderCaches(
            selfAttention: KeyValueCache(layers: blocks.count, batch: b, heads: h, headDim: d / h, capacity: capacity),
            crossAttention: KeyValueCache(heads: h, fixedKeys: cross.map { $0.projK(memory) }, values: cross.map { $0.projV(memory) }))
    }

    /// Decodes one position `[B, 1, D]` (the next one in `caches`) → normalised output `[B, 1, D]`.
    func step(_ x: Tensor, caches: DecoderCaches) -> Tensor {
        var h = x
        for (i, block) in blocks.enumerated() { h = block.step(h, layer: i, caches: caches) }
        caches.selfAttention.advance()
        return layerNorm(h)
    }
}
