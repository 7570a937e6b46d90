// The whole SVQ model: image → codes (encode), codes → image (decode), and the semantic prior's
// scenes. Its weights format and loader are in WeightsFile.swift.

import SVQEngine
import SVQNN

/// What `encode` returns for a batch.
public struct Encoding {
    /// Local codes `[B, N, M]`, each in `0..<P`: one code per (object, factor).
    public let codes: IntTensor
    /// Quantized slots `[B, N, S]`.
    public let slots: Tensor
    /// Slot attention of the last iteration over the feature grid `[B, F·F, N]` (sums to 1 over slots).
    public let attention: Tensor
    /// Training signal: mean((sg(e) − z)²) of the last iteration.
    public let commitment: Tensor

    /// Throws `SVQModelError.numericalOverflow` if the slot attention or the slots went non-finite (weights
    /// that overflow float32): codes chosen by distances to NaN slots would be silently meaningless.
    public func requireFinite() throws {
        try SVQModels.requireFinite(attention, "the slot attention's weights")
        try SVQModels.requireFinite(commitment, "the slots' distances to their codes")
    }
}

/// The SVQ model (Wu, Lee & Ahn, "Object-Centric Semantic Vector Quantization").
///
/// ```swift
/// let model = try SVQModel(contentsOf: URL(fileURLWithPath: "models/sprites.safetensors"))
/// var rng = RandomGenerator(seed: 1)
/// let enc = model.encode(images, rng: &rng)            // images [B, 3, H, W] in [0, 1]
/// let recon = model.decode(codes: enc.codes, rng: &rng) // [B, 3, H, W]
/// ```
public final class SVQModel: Module {
    public let dvae: DVAE
    public let imageEncoder: ImageEncoder
    public let slotAttention: SlotAttention
    public let imageDecoder: ImageDecoder
    public let prior: SemanticPrior?
    public let config: SVQConfig
    /// Whether `prior` holds trained weights. A new model's prior is random (`svq train` trains everything
    /// else), and sampling it gives noise: false until the prior trainer takes a step or trained weights
    /// are loaded. Saved as "prior_trained" in the weights file (WeightsFile.swift).
    public var priorTrained = false

    /// A randomly initialised model.
    public init(config: SVQConfig, rng: inout RandomGenerator) throws {
        try config.validate()
        self.config = config
        dvae = DVAE(config: config, rng: &rng)
        imageEncoder = ImageEncoder(config: config, rng: &rng)
        slotAttention = SlotAttention(config: config, rng: &rng)
        imageDecoder = ImageDecoder(config: config, rng: &rng)
        prior = config.prior == nil ? nil : SemanticPrior(config: config, rng: &rng)
    }

    /// A copy of this model with a freshly initialised prior of sizes `prior` (every other tensor copied):
    /// to train a prior of another size on the same encoder and decoder.
    public func withFreshPrior(_ prior: PriorConfig, rng: inout RandomGenerator) throws -> SVQModel {
        var c = config
        c.prior = prior
        let fresh = try SVQModel(config: c, rng: &rng)
        let mine = Dictionary(uniqueKeysWithValues: namedTensors().map { ($0.name, $0.tensor) })
        for (name, tensor) in fresh.namedTensors() where !name.hasPrefix("prior.") {
            guard let source = mine[name], source.shape == tensor.shape else {
                throw SVQModelError(.tensorMismatch, "withFreshPrior: tensor \(name) has no counterpart of shape \(tensor.shape)")
            }
            tensor.assign(source)
        }
        fresh.train(isTraining)
        return fresh
    }

    // MARK: Inference

    /// Standard-normal slot-initialisation noise `[B, N, S]` (encoding is stochastic; fix it for
    /// reproducible codes).
    public func slotNoise(batch: Int, rng: inout RandomGenerator) -> Tensor {
        rng.normal([batch, config.numSlots, config.slotSize])
    }

    /// Encodes `images` `[B, C, H, W]` in [0, 1] with the given slot noise `[B, N, S]`.
    public func encode(_ images: Tensor, noise: Tensor) -> Encoding {
        let out = slotAttention(imageEncoder(images), noise: noise)
        return Encoding(codes: out.codes, slots: out.slots, attention: out.attention, commitment: out.commitment)
    }

    /// Encodes `images`, drawing the slot noise from `rng`.
    public func encode(_ images: Tensor, rng: inout RandomGenerator) -> Encoding {
        encode(images, noise: slotNoise(batch: images.shape[0], rng: &rng))
    }

    /// Per-slot attention masks at image resolution `[B, N, H, W]` (nearest upsampling of the feature grid).
    public func masks(_ encoding: Encoding) -> Tensor {
        let c = config
        let b = encoding.attention.shape[0], f = c.featureSize, n = c.numSlots, scale = c.imageSize / f
        let out = Tensor(zeros: [b, n, c.imageSize, c.imageSize], zeroed: false)
        let a = encoding.attention.data, o = out.data
        for bi in 0..<b { for s in 0..<n { for y in 0..<c.imageSize { for x in 0..<c.imageSize {
            o[((bi * n + s) * c.imageSize + y) * c.imageSize + x] = a[(bi * f * f + (y / scale) * f + x / scale) * n + s]
        } } } }
        return out
    }

    /// The quantized slots `[B, N, S]` of local codes `[B, N, M]`.
    public func slots(codes: IntTensor) -> Tensor { slotAttention.quantizer.lookup(codes) }

    /// dVAE tokens `[B, T]` for slots `[B, N, S]`, decoded autoregressively with a key/value cache.
    /// - Throws: `SVQModelError.numericalOverflow` if the weights make the decoder's scores non-finite.
    public func decodeTokens(slots: Tensor, sampling: TokenSampling = .greedy, rng: inout RandomGenerator) throws -> IntTensor {
        try imageDecoder.decode(memory: imageDecoder.memory(slots), sampling: sampling, rng: &rng).tokens
    }

    /// Images `[B, C, H, W]` in [0, 1] for local codes `[B, N, M]`.
    /// - Throws: `SVQModelError.numericalOverflow` if the weights make the scores or pixels non-finite.
    public func decode(codes: IntTensor, sampling: TokenSampling = .greedy, rng: inout RandomGenerator) throws -> Tensor {
        try decode(slots: slots(codes: codes), sampling: sampling, rng: &rng)
    }

    /// Images for slots `[B, N, S]` (e.g. straight from `encode`).
    /// - Throws: `SVQModelError.numericalOverflow` if the weights make the scores or pixels non-finite.
    public func decode(slots: Tensor, sampling: TokenSampling = .greedy, rng: inout RandomGenerator) throws -> Tensor {
        let images = dvae.decode(tokens: try decodeTokens(slots: slots, sampling: sampling, rng: &rng))
        try requireFinite(images, "the decoded pixels")
        return images
    }

    // MARK: Official checkpoints

    /// Loads the official code's state_dicts (the SVQ model's and, if this model has a prior, the prior's).
    /// Every official tensor must be consumed; leftovers are reported as an error.
    public func loadOfficial(svq: OfficialStateDict, prior priorStateDict: OfficialStateDict?) throws {
        try dvae.loadOfficial(svq)
        try imageEncoder.loadOfficial(svq)
        try slotAttention.loadOfficial(svq)
        try imageDecoder.loadOfficial(svq)
        let leftovers = svq.unused()
        guard leftovers.isEmpty else {
            throw SVQModelError.officialMismatch("tensors not understood (is the config right?): \(leftovers.prefix(10).joined(separator: ", "))")
        }
        switch (prior, priorStateDict) {
        case let (p?, sd?):
            try p.loadOfficial(sd)
            priorTrained = true
        case (nil, _?): throw SVQModelError.officialMismatch("a prior checkpoint was given but the config has no prior")
        default: break
        }
    }
}
