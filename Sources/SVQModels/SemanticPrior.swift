// The semantic prior: a causal transformer over the N·M discrete codes of an image (official
// `prior.py`, `DiscreteBlockTransformerPrior`; spec in docs/reference/nlotm-forward.md §1b, §7, Q8, Q9).
//
// Sequence: the codes of one image, slot-major (position n·M + m), as global ids `m·P + p` in 0..<M·P.
// Position t is predicted from bos and codes[<t]. The input at position t is
// `(t == 0 ? bos : E[z_{t−1}]) · √D_p + pe[t]` (bos is scaled too, Q8), followed by L_p post-LN
// `TransformerEncoderLayer`s (ReLU FFN of width 4·D_p, biases, ε = 1e-5, causal mask) and a bias-free head.
//
// This file: the layers and the teacher-forced forward pass (training, loss). Decoding one position at a
// time is in SemanticPriorDecoding.swift, sampling in SemanticPriorSampling.swift, and the code ids
// (global `m·P + p` ↔ local) in CodeLayout.swift.

import SVQEngine
import SVQNN

/// Causal multi-head self-attention with PyTorch's `nn.MultiheadAttention` layout: one packed input
/// projection (rows `[W_q; W_k; W_v]`, with bias) and an output projection with bias.
public final class PriorSelfAttention: Module {
    /// `[3·D_p, D_p]` weight (rows q, k, v) and `[3·D_p]` bias.
    public let inProjection: Linear
    /// `[D_p, D_p]` weight and `[D_p]` bias.
    public let outProjection: Linear
    public let heads: Int

    init(dModel: Int, heads: Int, rng: inout RandomGenerator) {
        precondition(dModel % heads == 0, "prior d_model \(dModel) must be divisible by its heads \(heads)")
        // torch: xavier_uniform_ on in_proj_weight (fan_in D, fan_out 3D), zero in_proj_bias.
        inProjection = Linear(dModel, 3 * dModel, weightInit: .xavierUniform(), rng: &rng)
        // torch: out_proj keeps the nn.Linear default weight, its bias is zeroed.
        outProjection = Linear(dModel, dModel, rng: &rng)
        outProjection.bias!.assign(Tensor.zeros([dModel]))
        self.heads = heads
    }
}

/// One post-LN `nn.TransformerEncoderLayer` (ReLU, `dim_feedforward` = 4·D_p, ε = 1e-5):
/// `x = norm1(x + drop(attn(x)))`, `x = norm2(x + drop(ffn_out(drop(relu(ffn_in(x))))))`.
public final class PriorEncoderLayer: Module {
    public let selfAttention: PriorSelfAttention
    public let norm1: LayerNorm
    /// `[4·D_p, D_p]` (official `linear1`).
    public let ffnIn: Linear
    /// `[D_p, 4·D_p]` (official `linear2`).
    public let ffnOut: Linear
    public let norm2: LayerNorm

    init(dModel: Int, heads: Int, rng: inout RandomGenerator) {
        selfAttention = PriorSelfAttention(dModel: dModel, heads: heads, rng: &rng)
        norm1 = LayerNorm(dModel, eps: 1e-5)
        ffnIn = Linear(dModel, 4 * dModel, rng: &rng)     // nn.Linear default (weight and bias)
        ffnOut = Linear(4 * dModel, dModel, rng: &rng)
        norm2 = LayerNorm(dModel, eps: 1e-5)
    }
}

/// The semantic prior over the N·M codes of an image (official `DiscreteBlockTransformerPrior`).
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let prior = SemanticPrior(config: config, rng: &rng)
/// prior.train(false)
/// let logits = prior.logits(codes)                         // [B, N·M, M·P]
/// let z = prior.sample(batch: 4, temperature: 0.9, rng: &rng) // [4, N·M] global ids
/// let local = config.localCodes(global: z)                 // [4, N, M] in 0..<P
/// ```
///
/// Weights-file names: `bos` `[D_p]`, `position_embedding` `[N·M, D_p]`, `code_embedding.weight`
/// `[M·P, D_p]`, `layers.{l}.self_attention.{in,out}_projection.{weight,bias}`, `layers.{l}.norm{1,2}.*`,
/// `layers.{l}.ffn_{in,out}.*`, `head.weight` `[M·P, D_p]`.
public final class SemanticPrior: Module {
    /// The BOS input vector `[D_p]` (scaled by √D_p like the code embeddings, Q8).
    public let bos: Tensor
    /// Learned positions `[N·M, D_p]`.
    public let positionEmbedding: Tensor
    /// One table over the global code ids `m·P + p`: `[M·P, D_p]`.
    public let codeEmbedding: Embedding
    public let layers: [PriorEncoderLayer]
    /// Bias-free output layer `[M·P, D_p]`.
    public let head: Linear

    /// The model configuration (its `prior` is non-nil).
    public let config: SVQConfig
    public let dModel: Int
    public let heads: Int
    /// Sequence length N·M.
    public let sequenceLength: Int
    /// Vocabulary M·P.
    public let vocabularySize: Int
    /// Dropout probability of training passes (`config.prior.dropout`).
    let dropoutProbability: Float

    /// A randomly initialised prior, following the official scheme (§8, Prior): code embedding N(0,1),
    /// bos xavier-uniform, positions truncated N(0,1) on [−2, 2], `in_proj` xavier-uniform with zero bias,
    /// `out_proj` the nn.Linear default with zero bias, FFN and head the nn.Linear default, LayerNorms 1/0.
    ///
    /// Unlike the official code, every layer is initialised independently: `nn.TransformerEncoder`
    /// deep-copies one layer, so all official layers start out identical. We do not reproduce that quirk.
    public init(config: SVQConfig, rng: inout RandomGenerator) {
        guard let p = config.prior else { preconditionFailure("SemanticPrior needs config.prior") }
        precondition(p.dModel > 0 && p.numHeads > 0 && p.numLayers > 0 && p.dModel % p.numHeads == 0,
                     "invalid prior sizes: d_model \(p.dModel), heads \(p.numHeads), layers \(p.numLayers)")
        precondition(p.dropout >= 0 && p.dropout < 1, "prior dropout \(p.dropout) outside [0, 1)")
        precondition(config.numSlots > 0 && config.numBlocks > 0 && config.numPrototypes > 0, "invalid code sizes")
        let d = p.dModel
        self.config = config
        dModel = d
        heads = p.numHeads
        sequenceLength = config.codesPerImage
        vocabularySize = config.globalCodeCount
        dropoutProbability = p.dropout

        codeEmbedding = Embedding(vocabularySize, d, rng: &rng)
        // xavier_uniform_ on a (1, 1, D) tensor: fan_in = fan_out = D.
        let bound = (6 / Float(2 * d)).squareRoot()
        bos = parameter(rng.uniform([d], low: -bound, high: bound))
        positionEmbedding = parameter(SemanticPrior.truncatedNormal([sequenceLength, d], rng: &rng))
        var built: [PriorEncoderLayer] = []
        for _ in 0..<p.numLayers {
            built.append(PriorEncoderLayer(dModel: d, heads: p.numHeads, rng: &rng))
        }
        layers = built
        head = Linear(d, vocabularySize, bias: false, rng: &rng)
    }

    /// N(0, 1) truncated to [−2, 2] by redrawing the values outside (torch `trunc_normal_` defaults).
    static func truncatedNormal(_ shape: [Int], rng: inout RandomGenerator) -> Tensor {
        var values = rng.normal(shape).scalars
        var bad = values.indices.filter { abs(values[$0]) > 2 }
        while !bad.isEmpty {
            let redraw = rng.normal([bad.count]).scalars
            for (i, v) in zip(bad, redraw) { values[i] = v }
            bad = bad.filter { abs(values[$0]) > 2 }
        }
        return Tensor(values, shape: shape)
    }

    // MARK: - Teacher-forced forward

    /// Teacher-forced logits `[B, T, M·P]` for global codes `[B, T]` (T = N·M, or a shorter prefix):
    /// position t sees bos and codes[..<t] and predicts codes[t]. Differentiable.
    ///
    /// This overload never applies dropout (the eval-mode function, whatever `isTraining` says);
    /// use `logits(_:rng:)` for training with dropout.
    public func logits(_ codes: IntTensor) -> Tensor {
        forward(codes, dropout: nil)
    }

    /// Teacher-forced logits with dropout (p = `config.prior.dropout`) when `isTraining`, drawn from `rng`:
    /// after the positions, on the attention probabilities, after the attention and inside and after the FFN,
    /// as `nn.TransformerEncoderLayer` does. In eval mode `rng` is not used.
    public func logits(_ codes: IntTensor, rng: inout RandomGenerator) -> Tensor {
        guard isTraining && dropoutProbability > 0 else { return forward(codes, dropout: nil) }
        let dropout = Dropout(p: dropoutProbability, rng: rng)
        defer { rng = dropout.rng }
        return forward(codes, dropout: dropout)
    }

    /// Cross-entropy of the teacher-forced logits, summed over the sequence and averaged over the batch
    /// (official `loss`). No dropout (see `logits(_:)`).
    public func loss(_ codes: IntTensor) -> Tensor {
        sequenceLoss(logits(codes), codes)
    }

    /// `loss(_:)` with dropout while `isTraining` (see `logits(_:rng:)`).
    public func loss(_ codes: IntTensor, rng: inout RandomGenerator) -> Tensor {
        sequenceLoss(logits(codes, rng: &rng), codes)
    }

    private func sequenceLoss(_ logits: Tensor, _ codes: IntTensor) -> Tensor {
        let b = codes.shape[0], t = codes.shape[1]
        return crossEntropy(logits.reshaped([b * t, vocabularySize]), targets: codes.reshaped([b * t]),
                            reduction: .sum) / Float(b)
    }

    private func checkCodes(_ codes: IntTensor) {
        precondition(codes.shape.count == 2 && codes.shape[0] >= 1 && codes.shape[1] >= 1
                     && codes.shape[1] <= sequenceLength,
                     "prior codes must be [B, T] with 1 ≤ T ≤ N·M = \(sequenceLength), got \(codes.shape)")
        for v in codes.values {
            precondition(v >= 0 && Int(v) < vocabularySize, "prior code \(v) outside 0..<\(vocabularySize) (M·P)")
        }
    }

    private func forward(_ codes: IntTensor, dropout: Dropout?) -> Tensor {
        checkCodes(codes)
        let b = codes.shape[0], t = codes.shape[1], d = dModel

        // Inputs: [bos, E[z_0], …, E[z_{T−2}]] · √D + pe[..<T]
        let bosRow = bos.reshaped([1, 1, d]).expanded(to: [b, 1, d])
        var x: Tensor
        if t > 1 {
            var previous = [Int32](); previous.reserveCapacity(b * (t - 1))
            for i in 0..<b { previous += codes.values[(i * t)..<(i * t + t - 1)] }
            let embedded = codeEmbedding(IntTensor(previous, shape: [b, t - 1]))
            x = concat([bosRow, embedded], axis: 1)
        } else {
            x = bosRow
        }
        x = x * Float(d).squareRoot() + positionEmbedding.narrowFirst(0, t)
        if let dropout { x = dropout(x) }

        for layer in layers {
            x = layerForward(layer, x, batch: b, length: t, dropout: dropout)
        }
        return head(x)
    }

    private func layerForward(_ layer: PriorEncoderLayer, _ x: Tensor, batch b: Int, length t: Int,
                              dropout: Dropout?) -> Tensor {
        let d = dModel, h = heads, hd = dModel / heads
        let attention = layer.selfAttention
        // [B, T, 3D] → [3, B, h, T, hd]; head j uses features j·hd ..< (j+1)·hd of q, k and v.
        let qkv = attention.inProjection(x).reshaped([b, t, 3, h, hd]).permuted([2, 0, 3, 1, 4])
        let q = qkv.narrowFirst(0, 1).reshaped([b, h, t, hd])
        let k = qkv.narrowFirst(1, 1).reshaped([b, h, t, hd])
        let v = qkv.narrowFirst(2, 1).reshaped([b, h, t, hd])
        let context = multiHeadAttention(q, k, v, causal: true, dropout: dropout)
        var attended = attention.outProjection(context.permuted([0, 2, 1, 3]).reshaped([b, t, d]))
        if let dropout { attended = dropout(attended) }
        var y = layer.norm1(x + attended)
        var hidden = layer.ffnIn(y).relu()
        if let dropout { hidden = dropout(hidden) }
        var ff = layer.ffnOut(hidden)
        if let dropout { ff = dropout(ff) }
        y = layer.norm2(y + ff)
        return y
    }
}
