// From quantized slots to dVAE tokens: block projection and coupling build a memory of N·M vectors,
// which an autoregressive transformer attends to while it writes the image's tokens one by one.

import SVQEngine
import SVQNN

/// How the decoder picks each token.
public enum TokenSampling: Sendable, Equatable {
    /// The most likely token (first on ties), as the official `decode()`.
    case greedy
    /// A draw from softmax(logits / temperature), optionally among the `topK` most likely tokens.
    case sample(temperature: Float, topK: Int?)
}

/// Tensors: `slot_projection.*` (`BlockLinear` S → M·D), `block_position` `[M·D]`,
/// `block_position_mlp1.*`, `block_position_mlp2.*` (`BlockLinear` M·D → M·D),
/// `block_coupler.*` (`TransformerEncoder`, 1 layer), `token_embedding` `[V, D]`, `bos` `[D]`,
/// `positions` `[T, D]`, `transformer.*` (`TransformerDecoder`), `head.weight` `[V, D]`.
public final class ImageDecoder: Module {
    public let slotProjection: BlockLinear
    public let blockPosition: Tensor
    public let blockPositionMlp1: BlockLinear
    public let blockPositionMlp2: BlockLinear
    public let blockCoupler: TransformerEncoder
    public let tokenEmbedding: Tensor
    public let bos: Tensor
    public let positions: Tensor
    public let transformer: TransformerDecoder
    public let head: Linear
    let config: SVQConfig

    public init(config c: SVQConfig, rng: inout RandomGenerator) {
        config = c
        let md = c.numBlocks * c.dModel
        slotProjection = BlockLinear(c.slotSize, md, blocks: c.numBlocks, rng: &rng)
        blockPosition = parameter(Tensor(zeros: [md]))
        blockPositionMlp1 = BlockLinear(md, md, blocks: c.numBlocks, rng: &rng)
        blockPositionMlp2 = BlockLinear(md, md, blocks: c.numBlocks, rng: &rng)
        blockCoupler = TransformerEncoder(layers: 1, dModel: c.dModel, heads: c.couplerHeads, rng: &rng)
        tokenEmbedding = parameter(rng.normal([c.vocabSize, c.dModel]))
        bos = parameter(WeightInit.xavierUniform().make([c.dModel], fanIn: c.dModel, fanOut: c.dModel, rng: &rng))
        positions = parameter(rng.normal([c.tokensPerImage, c.dModel]).clamped(min: -2, max: 2))
        transformer = TransformerDecoder(layers: c.numDecoderLayers, dModel: c.dModel, heads: c.numDecoderHeads, rng: &rng)
        head = Linear(c.dModel, c.vocabSize, bias: false, weightInit: .xavierUniform(), rng: &rng)
    }

    /// The cross-attention memory `[B, N·M, D]` (slot-major) for quantized `slots` `[B, N, S]`.
    public func memory(_ slots: Tensor) -> Tensor {
        let c = config
        let b = slots.shape[0]
        // At the official init (zero `block_pos`, zero biases) the ReLU sees zeros and passes no gradient:
        // only the second layer's bias learns, a vector per block. Kept as the official code has it.
        let blockCode = blockPositionMlp2(blockPositionMlp1(blockPosition.reshaped([1, -1])).relu())   // [1, M·D]
        let projected = slotProjection(slots) + blockCode                                              // [B, N, M·D]
        let coupled = blockCoupler(projected.reshaped([b * c.numSlots, c.numBlocks, c.dModel]))         // per slot
        return coupled.reshaped([b, c.codesPerImage, c.dModel])
    }

    /// Position dropout of the official decoder (fixed in its code, whatever `dropout` is).
    public static let positionDropout: Float = 0.1

    /// Teacher-forced logits `[B, T, V]`: position t sees BOS and tokens `0..<t`. With `dropout` (training):
    /// position dropout 0.1 on the inputs and the transformer's dropouts at `dropout.p`.
    public func logits(tokens: IntTensor, memory: Tensor, dropout: Dropout? = nil) -> Tensor {
        let c = config
        let b = memory.shape[0], t = c.tokensPerImage
        precondition(tokens.shape == [b, t], "tokens \(tokens.shape) must be [\(b), \(t)]")
        let previous = IntTensor(Array(tokens.values.enumerated().filter { ($0.offset + 1) % t != 0 }.map { $0.element }),
                                 shape: [b, t - 1])
        let bosRows = bos.reshaped([1, 1, c.dModel]).expanded(to: [b, 1, c.dModel])
        var inputs = concat([bosRows, embedding(previous, table: tokenEmbedding)], axis: 1) + positions
        if let dropout { inputs = dropout.drop(inputs, p: Self.positionDropout) }
        return head(transformer(inputs, memory: memory, dropout: dropout))
    }

    /// Writes all T tokens autoregressively with a key/value cache. Returns the tokens `[B, T]` and, at each
    /// step, the margin between the two largest logits `[B, T]` (how decisive the choice was).
    /// - Throws: `SVQModelError.numericalOverflow` when a step's logits are not finite: a token chosen from
    ///   NaN scores would be silently meaningless.
    public func decode(memory: Tensor, sampling: TokenSampling = .greedy,
                       rng: inout RandomGenerator) throws -> (tokens: IntTensor, margins: Tensor) {
        let c = config
        let b = memory.shape[0], t = c.tokensPerImage, d = c.dModel, v = c.vocabSize
        let caches = transformer.makeCaches(memory: memory, capacity: t)
        var tokens = [Int32](repeating: 0, count: b * t)
        let margins = Tensor(zeros: [b, t])
        var input = bos.reshaped([1, 1, d]).expanded(to: [b, 1, d])
        for step in 0..<t {
            let x = input + positions.narrowFirst(step, 1).reshaped([1, 1, d])
            let logits = head(transformer.step(x, caches: caches)).reshaped([b, v])
            try requireFinite(logits, "the image decoder's token scores")
            let top2 = logits.topK(min(2, v))
            let chosen: IntTensor
            switch sampling {
            case .greedy:
                chosen = logits.argmax()
            case .sample(let temperature, let topK):
                chosen = sampleFromLogits(logits, temperature: temperature, topK: topK, rng: &rng)
            }
            for i in 0..<b {
                tokens[i * t + step] = chosen[i]
                margins.data[i * t + step] = v > 1 ? top2.values.data[i * 2] - top2.values.data[i * 2 + 1] : 0
            }
            input = embedding(chosen.reshaped([b, 1]), table: tokenEmbedding)
            guard CallMonitor.proceed(step + 1, of: t) else { break }   // cancelled: the caller discards this
        }
        return (IntTensor(tokens, shape: [b, t]), margins)
    }
}
