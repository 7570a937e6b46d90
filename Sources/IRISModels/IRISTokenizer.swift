// The IRIS tokenizer: the taming-transformers VQ encoder/decoder without the GAN (GroupNorm + swish ResNet blocks,
// single-head spatial self-attention, stride-2 downsampling after (0, 1, 0, 1) padding, nearest ×2 upsampling),
// `pre_quant_conv`, a codebook searched for each latent position's nearest row, and `post_quant_conv`.
// Property names are the official state_dict's (snake_cased by Module), so the tensors map one to one.

import SVQEngine
import SVQNN

/// Every normalisation of the encoder and decoder: 32 groups, eps 1e-6.
private func normalization(_ channels: Int) -> GroupNorm { GroupNorm(groups: 32, channels: channels, eps: 1e-6) }

/// norm → swish → conv 3×3 → norm → swish → dropout → conv 3×3, plus the input (through a 1×1 `nin_shortcut`
/// when the channel count changes).
public final class IRISResnetBlock: Module {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let ninShortcut: Conv2d?

    init(inChannels: Int, outChannels: Int, rng: inout RandomGenerator) {
        norm1 = normalization(inChannels)
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm2 = normalization(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        ninShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1, rng: &rng)
    }

    func callAsFunction(_ x: Tensor, dropout: Dropout?) -> Tensor {
        let h = norm2(conv1(norm1(x).swish())).swish()
        return (ninShortcut?(x) ?? x) + conv2(dropout?(h) ?? h)
    }
}

/// Single-head self-attention over the positions of a feature map, its q, k, v and output projections 1×1
/// convolutions: `x + proj_out(softmax(q·kᵀ/√C)·v)` on `norm(x)`.
public final class IRISSpatialAttention: Module {
    public let norm: GroupNorm
    public let q: Conv2d
    public let k: Conv2d
    public let v: Conv2d
    public let projOut: Conv2d

    init(channels: Int, rng: inout RandomGenerator) {
        norm = normalization(channels)
        q = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
        k = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
        v = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
        projOut = Conv2d(channels, channels, kernelSize: 1, rng: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        // Channels last, so each 1×1 convolution is one GEMM over all positions and the attention is the engine's.
        let positions = norm(x).reshaped([b, c, h * w]).transposed(1, 2)
        func project(_ conv: Conv2d, _ input: Tensor) -> Tensor {
            linear(input, weight: conv.weight.reshaped([c, c]), bias: conv.bias)
        }
        let heads = [q, k, v].map { project($0, positions).reshaped([b, 1, h * w, c]) }
        let attended = scaledDotProductAttention(heads[0], heads[1], heads[2]).reshaped([b, h * w, c])
        return x + project(projOut, attended).transposed(1, 2).reshaped([b, c, h, w])
    }
}

/// Halves the resolution: zero padding (0, 1, 0, 1), then a stride-2 3×3 convolution.
public final class IRISDownsample: Module {
    public let conv: Conv2d
    init(channels: Int, rng: inout RandomGenerator) { conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, rng: &rng) }
    func callAsFunction(_ x: Tensor) -> Tensor { conv(zeroPadded(x, top: 0, bottom: 1, left: 0, right: 1)) }
}

/// Doubles the resolution: nearest-neighbour ×2, then a 3×3 convolution.
public final class IRISUpsample: Module {
    public let conv: Conv2d
    init(channels: Int, rng: inout RandomGenerator) { conv = Conv2d(channels, channels, kernelSize: 3, padding: 1, rng: &rng) }
    func callAsFunction(_ x: Tensor) -> Tensor { conv(upsampledNearest2x(x)) }
}

/// One resolution of the encoder or decoder: its ResNet blocks, an attention after each of them where the
/// resolution is listed in `attn_resolutions` (else none), and the resampling to the next resolution.
public final class IRISLevel: Module {
    public let block: [IRISResnetBlock]
    public let attn: [IRISSpatialAttention]
    public let downsample: IRISDownsample?
    public let upsample: IRISUpsample?

    init(block: [IRISResnetBlock], attn: [IRISSpatialAttention], downsample: IRISDownsample? = nil, upsample: IRISUpsample? = nil) {
        (self.block, self.attn, self.downsample, self.upsample) = (block, attn, downsample, upsample)
    }

    func callAsFunction(_ x: Tensor, dropout: Dropout?) -> Tensor {
        var h = x
        for (i, resnet) in block.enumerated() {
            h = resnet(h, dropout: dropout)
            if !attn.isEmpty { h = attn[i](h) }
        }
        if let downsample { h = downsample(h) }
        if let upsample { h = upsample(h) }
        return h
    }
}

/// ResNet block, attention, ResNet block at the lowest resolution (official names `block_1`, `attn_1`, `block_2`).
public final class IRISMiddle: Module {
    // swiftlint:disable identifier_name
    public let block_1: IRISResnetBlock
    public let attn_1: IRISSpatialAttention
    public let block_2: IRISResnetBlock
    // swiftlint:enable identifier_name

    init(channels: Int, rng: inout RandomGenerator) {
        block_1 = IRISResnetBlock(inChannels: channels, outChannels: channels, rng: &rng)
        attn_1 = IRISSpatialAttention(channels: channels, rng: &rng)
        block_2 = IRISResnetBlock(inChannels: channels, outChannels: channels, rng: &rng)
    }

    func callAsFunction(_ x: Tensor, dropout: Dropout?) -> Tensor {
        block_2(attn_1(block_1(x, dropout: dropout)), dropout: dropout)
    }
}

/// Image `[N, in_channels, R, R]` in [−1, 1] → latent `[N, z_channels, R/2^(L−1), R/2^(L−1)]`.
public final class IRISEncoder: Module {
    public let convIn: Conv2d
    public let down: [IRISLevel]
    public let mid: IRISMiddle
    public let normOut: GroupNorm
    public let convOut: Conv2d

    init(_ config: IRISEncoderDecoderConfig, rng: inout RandomGenerator) {
        let widths = config.chMult.map { config.ch * $0 }
        convIn = Conv2d(config.inChannels, config.ch, kernelSize: 3, padding: 1, rng: &rng)
        var resolution = config.resolution, channels = config.ch
        var levels: [IRISLevel] = []
        for (i, width) in widths.enumerated() {
            var blocks: [IRISResnetBlock] = [], attention: [IRISSpatialAttention] = []
            for _ in 0..<config.numResBlocks {
                blocks.append(IRISResnetBlock(inChannels: channels, outChannels: width, rng: &rng))
                channels = width
                if config.attnResolutions.contains(resolution) { attention.append(IRISSpatialAttention(channels: width, rng: &rng)) }
            }
            let last = i == widths.count - 1
            levels.append(IRISLevel(block: blocks, attn: attention, downsample: last ? nil : IRISDownsample(channels: width, rng: &rng)))
            if !last { resolution /= 2 }
        }
        down = levels
        mid = IRISMiddle(channels: channels, rng: &rng)
        normOut = normalization(channels)
        convOut = Conv2d(channels, config.zChannels, kernelSize: 3, padding: 1, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor, dropout: Dropout? = nil) -> Tensor {
        let h = down.reduce(convIn(x)) { $1($0, dropout: dropout) }
        return convOut(normOut(mid(h, dropout: dropout)).swish())
    }
}

/// Latent `[N, z_channels, r, r]` → image `[N, out_ch, R, R]` in about [−1, 1]. `up[i]` is resolution level i
/// (as officially: level 0 is the finest), run from the coarsest.
public final class IRISDecoder: Module {
    public let convIn: Conv2d
    public let mid: IRISMiddle
    public let up: [IRISLevel]
    public let normOut: GroupNorm
    public let convOut: Conv2d

    init(_ config: IRISEncoderDecoderConfig, rng: inout RandomGenerator) {
        let widths = config.chMult.map { config.ch * $0 }
        var channels = widths.last!, resolution = config.latentResolution
        convIn = Conv2d(config.zChannels, channels, kernelSize: 3, padding: 1, rng: &rng)
        mid = IRISMiddle(channels: channels, rng: &rng)
        var levels: [IRISLevel] = []
        for i in widths.indices.reversed() {
            var blocks: [IRISResnetBlock] = [], attention: [IRISSpatialAttention] = []
            for _ in 0...config.numResBlocks {
                blocks.append(IRISResnetBlock(inChannels: channels, outChannels: widths[i], rng: &rng))
                channels = widths[i]
                if config.attnResolutions.contains(resolution) { attention.append(IRISSpatialAttention(channels: channels, rng: &rng)) }
            }
            levels.insert(IRISLevel(block: blocks, attn: attention, upsample: i == 0 ? nil : IRISUpsample(channels: channels, rng: &rng)), at: 0)
            if i != 0 { resolution *= 2 }
        }
        up = levels
        normOut = normalization(channels)
        convOut = Conv2d(channels, config.outCh, kernelSize: 3, padding: 1, rng: &rng)
    }

    public func callAsFunction(_ z: Tensor, dropout: Dropout? = nil) -> Tensor {
        let h = up.reversed().reduce(mid(convIn(z), dropout: dropout)) { $1($0, dropout: dropout) }
        return convOut(normOut(h).swish())
    }
}

/// The discrete autoencoder: frames ↔ `tokensPerFrame` tokens each.
///
/// ```swift
/// let encoding = tokenizer.encode(frames: frames)        // [N, 3, 64, 64] in [0, 1] → tokens [N, 16]
/// let pixels = tokenizer.decode(frames: encoding.zQuantized)
/// ```
public final class IRISTokenizer: Module {
    public let config: IRISTokenizerConfig
    public let encoder: IRISEncoder
    public let preQuantConv: Conv2d
    /// The codebook, `[vocab_size, embed_dim]`.
    public let embedding: Embedding
    public let postQuantConv: Conv2d
    public let decoder: IRISDecoder

    /// A randomly initialised tokenizer (the codebook U(±1/vocab_size), as officially); `IRISImport` fills one
    /// from an official checkpoint.
    public init(config: IRISTokenizerConfig, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        encoder = IRISEncoder(config.encoder, rng: &rng)
        preQuantConv = Conv2d(config.encoder.zChannels, config.embedDim, kernelSize: 1, rng: &rng)
        embedding = Embedding(config.vocabSize, config.embedDim, rng: &rng)
        embedding.weight.assign(rng.uniform([config.vocabSize, config.embedDim], low: -1 / Float(config.vocabSize), high: 1 / Float(config.vocabSize)))
        postQuantConv = Conv2d(config.embedDim, config.encoder.zChannels, kernelSize: 1, rng: &rng)
        decoder = IRISDecoder(config.encoder, rng: &rng)
    }

    /// What encoding gives: the latent before quantisation, its nearest codebook rows, and their indices.
    public struct Encoding {
        /// `[N, embed_dim, r, r]`, after `pre_quant_conv`.
        public let z: Tensor
        /// `[N, embed_dim, r, r]`: the codebook rows of `tokens`.
        public let zQuantized: Tensor
        /// `[N, r·r]`, row-major over the latent grid.
        public let tokens: IntTensor
    }

    /// Encodes images `[N, C, R, R]` already in [−1, 1].
    public func encode(_ x: Tensor, dropout: Dropout? = nil) -> Encoding {
        let z = preQuantConv(encoder(x, dropout: dropout))
        let (n, e, h, w) = (z.shape[0], z.shape[1], z.shape[2], z.shape[3])
        let tokens = nearestCodes(z.detached().permuted([0, 2, 3, 1]).reshaped([n * h * w, e])).reshaped([n, h * w])
        let zQuantized = embedding(tokens).reshaped([n, h, w, e]).permuted([0, 3, 1, 2])
        return Encoding(z: z, zQuantized: zQuantized, tokens: tokens)
    }

    /// Encodes frames `[N, C, R, R]` in [0, 1] (mapped to [−1, 1] first, as the official `should_preprocess`).
    public func encode(frames: Tensor) -> Encoding { encode(frames * 2 - 1) }

    /// The index of the nearest codebook row (squared Euclidean distance, the first on ties) for each row of
    /// `z` `[M, embed_dim]`: argmin over j of |e_j|² − 2·z·e_j, the rows' own |z|² being common to all j.
    func nearestCodes(_ z: Tensor) -> IntTensor {
        withoutGradients {
            let codebook = embedding.weight.detached()
            let (m, v, e) = (z.shape[0], codebook.shape[0], codebook.shape[1])
            let products = matmul(z, codebook, transposeB: true)   // one GEMM: [M, V]
            let squaredNorms = (0..<v).map { vectorDot(codebook.data + $0 * e, codebook.data + $0 * e, e) }
            var tokens = [Int32](repeating: 0, count: m)
            let p = products.data
            for r in 0..<m {
                var best = 0, bestDistance = Float.infinity
                for j in 0..<v {
                    let distance = squaredNorms[j] - 2 * p[r * v + j]
                    if distance < bestDistance { best = j; bestDistance = distance }
                }
                tokens[r] = Int32(best)
            }
            return IntTensor(tokens, shape: [m])
        }
    }

    /// Decodes latents `[N, embed_dim, r, r]` (codebook rows) to images in about [−1, 1].
    public func decode(_ zQuantized: Tensor, dropout: Dropout? = nil) -> Tensor {
        decoder(postQuantConv(zQuantized), dropout: dropout)
    }

    /// Decodes to frames: `(y + 1) / 2`, not clamped (the official `should_postprocess`).
    public func decode(frames zQuantized: Tensor) -> Tensor { (decode(zQuantized) + 1) * 0.5 }

    /// The codebook rows of `tokens` `[N, r·r]` as latents `[N, embed_dim, r, r]`, ready to decode.
    public func latents(of tokens: IntTensor) -> Tensor {
        let side = config.encoder.latentResolution, n = tokens.count / (side * side)
        return embedding(tokens).reshaped([n, side, side, config.embedDim]).permuted([0, 3, 1, 2])
    }

    /// The official training losses on frames `[N, C, R, R]` in [0, 1], in [−1, 1] space:
    /// `commitment` = mean((sg z − e)²) + 1.0·mean((z − sg e)²) (codebook and commitment terms),
    /// `reconstruction` = mean|x − decode(z + sg(e − z))| (L1; the gradient reaches the encoder straight through).
    /// The official perceptual (LPIPS) term needs VGG16 weights fetched at run time and is not computed here.
    public func losses(frames: Tensor, dropout: Dropout? = nil) -> (commitment: Tensor, reconstruction: Tensor) {
        let x = frames * 2 - 1
        let encoding = encode(x, dropout: dropout)
        let (z, e) = (encoding.z, encoding.zQuantized)
        let commitment = (z.detached() - e).square().mean() + (z - e.detached()).square().mean()
        let reconstruction = decode(straightThrough(value: e, gradientPath: z), dropout: dropout)
        return (commitment, (x - reconstruction).abs().mean())
    }
}
