// The discrete VAE that turns an image into one token per 4×4 patch and back (official `dvae.py`;
// spec: docs/reference/nlotm-forward.md §1a, §2, §8).
//
// Encoder: conv 4×4/s4 + ReLU → 6 × (1×1 + ReLU) → 1×1 → V logits.
// Decoder: 1×1 + ReLU → [3×3 p1, 1×1, 1×1, 1×1 → 4·hidden] (each + ReLU) → PixelShuffle(2)
//          → the same stage again → PixelShuffle(2) → 1×1 → image channels.
//
// Inference runs without an autodiff graph; then the ReLU and the clamp are applied in place on the freshly
// allocated conv output, and `decode(tokens:)` replaces its first 1×1 conv of a one-hot input by a column
// gather of the weight (exactly the same values, without the V-wide matrix product).

import SVQEngine
import SVQNN

/// The dVAE: images `[B, C, H, W]` in [0, 1] ↔ tokens `[B, (H/4)·(W/4)]` in `0..<V`.
///
/// Tensors (PyTorch conv layout `[out, in, kh, kw]`, `hidden` = `dvaeHiddenSize`, `V` = `vocabSize`):
/// `encoder.{0…6}` (conv + ReLU; 0 is the 4×4/s4 patch conv), `encoder_out` (→ logits),
/// `decoder_in` (1×1 V → hidden + ReLU), `decoder_up1.{0…3}` and `decoder_up2.{0…3}` (3×3, 1×1, 1×1,
/// 1×1 → 4·hidden, each + ReLU, followed by a pixel shuffle), `decoder_out` (1×1 → channels).
public final class DVAE: Module {
    /// Conv 4×4/s4 (channels → hidden), then six 1×1 (hidden → hidden); each followed by ReLU.
    public let encoder: [Conv2d]
    /// 1×1 hidden → V: the token logits (no ReLU).
    public let encoderOut: Conv2d
    /// 1×1 V → hidden + ReLU, at token resolution.
    public let decoderIn: Conv2d
    /// 3×3 p1, 1×1, 1×1, 1×1 → 4·hidden (each + ReLU), then PixelShuffle(2): token grid → 2× grid.
    public let decoderUp1: [Conv2d]
    /// The same as `decoderUp1`, 2× grid → 4× grid (the image resolution).
    public let decoderUp2: [Conv2d]
    /// 1×1 hidden → image channels (no ReLU).
    public let decoderOut: Conv2d

    public let imageChannels: Int
    public let vocabSize: Int
    public let hiddenSize: Int
    /// Side of the token grid for `config.imageSize` (used to unflatten `[B, T]` tokens).
    public let tokenGridSize: Int

    /// Randomly initialised as the official code does: Kaiming-uniform (ReLU gain) for every conv followed by
    /// a ReLU, Xavier-uniform for the two plain convs, zero biases.
    public init(config: SVQConfig, rng: inout RandomGenerator) {
        let c = config.imageChannels, v = config.vocabSize, h = config.dvaeHiddenSize
        precondition(c > 0 && v > 0 && h > 0, "DVAE: channels \(c), vocab \(v) and hidden \(h) must be positive")
        precondition(config.imageSize > 0 && config.imageSize % 4 == 0,
                     "DVAE: image size \(config.imageSize) must be a positive multiple of 4")
        func block(_ i: Int, _ o: Int, _ k: Int, stride: Int = 1, padding: Int = 0) -> Conv2d {
            Conv2d(i, o, kernelSize: k, stride: stride, padding: padding, weightInit: .kaimingUniform, rng: &rng)
        }
        func plain(_ i: Int, _ o: Int) -> Conv2d {
            Conv2d(i, o, kernelSize: 1, weightInit: .xavierUniform(), rng: &rng)
        }
        func upStage() -> [Conv2d] {
            [block(h, h, 3, padding: 1), block(h, h, 1), block(h, h, 1), block(h, 4 * h, 1)]
        }
        // Same order as the official module list (encoder 0…7, decoder 0…11), so the draws follow its order.
        encoder = [block(c, h, 4, stride: 4)] + (0..<6).map { _ in block(h, h, 1) }
        encoderOut = plain(h, v)
        decoderIn = block(v, h, 1)
        decoderUp1 = upStage()
        decoderUp2 = upStage()
        decoderOut = plain(h, c)
        imageChannels = c
        vocabSize = v
        hiddenSize = h
        tokenGridSize = config.tokenGridSize
    }

    // MARK: Encoder

    /// Token logits `[B, V, H/4, W/4]` of images `[B, C, H, W]` (H and W multiples of 4).
    public func logits(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == imageChannels,
                     "DVAE: images must be [B, \(imageChannels), H, W], got \(images.shape)")
        precondition(images.shape[2] >= 4 && images.shape[3] >= 4 && images.shape[2] % 4 == 0 && images.shape[3] % 4 == 0,
                     "DVAE: image height and width must be positive multiples of 4, got \(images.shape)")
        var x = images
        for conv in encoder { x = convReLU(conv, x) }
        return encoderOut(x)
    }

    /// Log-probabilities over the vocabulary, `[B, V, H/4, W/4]` (log-softmax over axis 1).
    public func logProbs(_ images: Tensor) -> Tensor {
        logits(images).logSoftmax(axis: 1)
    }

    /// The most likely token of every 4×4 patch, `[B, (H/4)·(W/4)]`, row-major (index `row·(W/4) + col`);
    /// the first index wins ties. Not recorded.
    public func tokens(_ images: Tensor) -> IntTensor {
        channelArgmax(withoutGradients { logits(images) })
    }

    // MARK: Decoder

    /// Images `[B, C, 4h, 4w]` clamped to [0, 1], decoded from the one-hot of `tokens`: `[B, T]` with
    /// T = `tokenGridSize²` (row-major), or `[B, h, w]`. Every token must lie in `0..<V`.
    public func decode(tokens: IntTensor) -> Tensor {
        let b: Int, gh: Int, gw: Int
        switch tokens.shape.count {
        case 2:
            precondition(tokens.shape[1] == tokenGridSize * tokenGridSize,
                         "DVAE.decode: tokens [B, T] need T = \(tokenGridSize * tokenGridSize) (a \(tokenGridSize)×\(tokenGridSize) grid), got \(tokens.shape)")
            (b, gh, gw) = (tokens.shape[0], tokenGridSize, tokenGridSize)
        case 3:
            (b, gh, gw) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
        default:
            preconditionFailure("DVAE.decode: tokens must be [B, T] or [B, h, w], got \(tokens.shape)")
        }
        precondition(b >= 1 && gh >= 1 && gw >= 1, "DVAE.decode: empty token grid \(tokens.shape)")
        let v = vocabSize
        for t in tokens.values {
            precondition(t >= 0 && Int(t) < v, "DVAE.decode: token \(t) out of range 0..<\(v)")
        }
        let plane = gh * gw
        let recording = GradMode.isEnabled && (decoderIn.weight.requiresGrad || decoderIn.bias?.requiresGrad == true)
        let first: Tensor
        if recording {
            // Differentiable path: the literal one-hot [B, V, h, w] through the 1×1 conv.
            let onehot = Tensor(zeros: [b, v, gh, gw])
            let p = onehot.data
            for i in 0..<b {
                for pos in 0..<plane {
                    p[(i * v + Int(tokens.values[i * plane + pos])) * plane + pos] = 1
                }
            }
            first = convReLU(decoderIn, onehot)
        } else {
            // A 1×1 conv of a one-hot picks one weight column: out[b, c, pos] = relu(W[c, token] + bias[c]).
            let h = hiddenSize
            first = Tensor(zeros: [b, h, gh, gw], zeroed: false)
            let w = decoderIn.weight.data, bias = decoderIn.bias?.data, out = first.data
            tokens.values.withUnsafeBufferPointer { tok in
                for i in 0..<b {
                    let ti = tok.baseAddress! + i * plane
                    for c in 0..<h {
                        let row = w + c * v, bc = bias?[c] ?? 0
                        let o = out + (i * h + c) * plane
                        for pos in 0..<plane {
                            let y = row[Int(ti[pos])] + bc
                            o[pos] = y > 0 ? y : 0
                        }
                    }
                }
            }
        }
        let recon = decodeHidden(first)
        if recon.requiresGrad { return recon.clamped(min: 0, max: 1) }
        let p = recon.data
        for i in 0..<recon.count { p[i] = Swift.min(Swift.max(p[i], 0), 1) }
        return recon
    }

    /// The unclamped reconstruction `[B, C, 4h, 4w]` of a distribution over tokens `[B, V, h, w]` (a soft
    /// Gumbel sample or a one-hot). Differentiable in the input and every decoder tensor (the training path).
    public func decode(distribution: Tensor) -> Tensor {
        precondition(distribution.rank == 4 && distribution.shape[1] == vocabSize,
                     "DVAE.decode: distribution must be [B, \(vocabSize), h, w], got \(distribution.shape)")
        return decodeHidden(convReLU(decoderIn, distribution))
    }

    // MARK: Training sample

    /// The training-time tokens of §8: `soft` = softmax((logits + g₁)/τ) over the vocabulary, `[B, V, h, w]`,
    /// for `decode(distribution:)` (recorded, so the encoder learns through it); `hardTokens` = the argmax of a
    /// second, independent draw logits + g₂, `[B, h·w]` row-major (not recorded).
    ///
    /// The official code applies log-softmax first; that subtracts a per-position constant, which changes
    /// neither softmax nor argmax over the vocabulary, so the raw logits are used. Noise is drawn in the
    /// `[B, V, h, w]` layout, g₁ before g₂.
    public func gumbelSample(_ images: Tensor, temperature: Float, rng: inout RandomGenerator)
        -> (soft: Tensor, hardTokens: IntTensor) {
        precondition(temperature > 0, "DVAE.gumbelSample: temperature must be positive, got \(temperature)")
        let z = logits(images)
        let soft = ((z + rng.gumbel(z.shape)) * (1 / temperature)).softmax(axis: 1)
        let perturbed = rng.gumbel(z.shape)   // a fresh tensor: add the logits in place
        let pp = perturbed.data, pz = z.data
        for i in 0..<perturbed.count { pp[i] += pz[i] }
        return (soft, channelArgmax(perturbed))
    }

    // MARK: Helpers

    /// Everything after the decoder's first layer: two upsampling stages, then the output conv.
    private func decodeHidden(_ first: Tensor) -> Tensor {
        var x = first
        for stage in [decoderUp1, decoderUp2] {
            for conv in stage { x = convReLU(conv, x) }
            x = pixelShuffle(x, upscale: 2)
        }
        return decoderOut(x)
    }

    /// `relu(conv(x))`, the ReLU fused into the convolution.
    private func convReLU(_ conv: Conv2d, _ x: Tensor) -> Tensor { conv(x, relu: true) }

    /// Argmax over axis 1 of `z` `[B, V, h, w]` → `[B, h·w]`; the first index wins ties, as torch does.
    /// Walks the vocabulary outermost so that every read is contiguous.
    private func channelArgmax(_ z: Tensor) -> IntTensor {
        let b = z.shape[0], v = z.shape[1], plane = z.shape[2] * z.shape[3]
        var out = [Int32](repeating: 0, count: b * plane)
        var best = [Float](repeating: 0, count: plane)
        let pz = z.data
        out.withUnsafeMutableBufferPointer { idx in
            best.withUnsafeMutableBufferPointer { bv in
                for i in 0..<b {
                    let zi = pz + i * v * plane
                    let ix = idx.baseAddress! + i * plane
                    for pos in 0..<plane { bv[pos] = zi[pos] }
                    for k in 1..<max(v, 1) {
                        let row = zi + k * plane
                        for pos in 0..<plane {
                            let x = row[pos]
                            if x > bv[pos] || (bv[pos].isNaN && !x.isNaN) { bv[pos] = x; ix[pos] = Int32(k) }
                        }
                    }
                }
            }
        }
        return IntTensor(out, shape: [b, plane])
    }
}
