// Every size of the SVQ model, with presets for the paper, the official defaults and CPU training.

/// How the initial slots are drawn before slot attention.
public enum SlotInit: String, Codable, Sendable {
    /// slots₀ = μ + exp(log σ) ⊙ ε, one shared Gaussian for all slots.
    case random
    /// slots₀ = a learned vector per slot + ε.
    case learned
}

/// Sizes of the semantic prior (a causal transformer over the N·M codes).
public struct PriorConfig: Codable, Equatable, Sendable {
    public var dModel: Int
    public var numHeads: Int
    public var numLayers: Int
    public var dropout: Float

    public init(dModel: Int = 192, numHeads: Int = 4, numLayers: Int = 8, dropout: Float = 0.1) {
        self.dModel = dModel
        self.numHeads = numHeads
        self.numLayers = numLayers
        self.dropout = dropout
    }
}

/// The SVQ model's hyperparameters (names follow the official `args.py` where one exists).
public struct SVQConfig: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var imageChannels: Int = 3
    /// Side of the encoder's feature map (the official code fixes it at 64): `imageSize / featureSize`
    /// must be 1, 2 or 4, giving that many leading stride-2 convolutions.
    public var featureSize: Int = 64
    public var cnnHiddenSize: Int
    public var dModel: Int
    public var mlpHiddenSize: Int
    public var numSlots: Int
    public var numIterations: Int = 3
    public var slotSize: Int
    public var numBlocks: Int
    public var numPrototypes: Int
    public var slotInit: SlotInit = .random
    /// dVAE vocabulary (tokens per 4×4 patch).
    public var vocabSize: Int
    /// dVAE hidden channels (64 in every reference implementation).
    public var dvaeHiddenSize: Int = 64
    public var numDecoderLayers: Int
    public var numDecoderHeads: Int
    /// Heads of the one-layer block coupler (fixed at 4 in the official code).
    public var couplerHeads: Int = 4
    public var dropout: Float = 0.1
    public var prior: PriorConfig?

    public init(imageSize: Int, cnnHiddenSize: Int, dModel: Int, mlpHiddenSize: Int, numSlots: Int,
                slotSize: Int, numBlocks: Int, numPrototypes: Int, vocabSize: Int,
                numDecoderLayers: Int, numDecoderHeads: Int, prior: PriorConfig? = PriorConfig()) {
        self.imageSize = imageSize
        self.cnnHiddenSize = cnnHiddenSize
        self.dModel = dModel
        self.mlpHiddenSize = mlpHiddenSize
        self.numSlots = numSlots
        self.slotSize = slotSize
        self.numBlocks = numBlocks
        self.numPrototypes = numPrototypes
        self.vocabSize = vocabSize
        self.numDecoderLayers = numDecoderLayers
        self.numDecoderHeads = numDecoderHeads
        self.prior = prior
    }

    // MARK: Derived sizes

    /// Width of one block of a slot (slot_size / num_blocks).
    public var blockSize: Int { slotSize / numBlocks }
    /// dVAE token grid side (one token per 4×4 patch).
    public var tokenGridSize: Int { imageSize / 4 }
    /// dVAE tokens per image.
    public var tokensPerImage: Int { tokenGridSize * tokenGridSize }
    /// Inputs to slot attention (feature-map positions).
    public var numInputs: Int { featureSize * featureSize }
    /// Codes per image (N·M), the prior's sequence length.
    public var codesPerImage: Int { numSlots * numBlocks }
    /// Size of the prior's vocabulary of global code ids `block·P + code`.
    public var globalCodeCount: Int { numBlocks * numPrototypes }
    /// Strides of the four encoder convolutions.
    public var encoderStrides: [Int] {
        switch imageSize / featureSize {
        case 4: return [2, 2, 1, 1]
        case 2: return [2, 1, 1, 1]
        default: return [1, 1, 1, 1]
        }
    }

    /// Slot-attention iterations a config may ask for (the official models use 3): each costs a full
    /// attention pass, so a far larger count comes from a hostile file rather than a useful model.
    public static let maxIterations = 100

    /// Checks that the sizes fit together and stay within what the model and the runtime can hold; the
    /// message names the first problem. A config that passes has a `tensorTally`.
    /// - Throws: `SVQModelError` of kind `.invalidConfig`.
    public func validate() throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw SVQModelError(.invalidConfig, "invalid SVQ config: " + message()) }
        }
        func product(_ xs: Int...) throws -> Int {
            var n = 1
            for x in xs {
                let (p, overflow) = n.multipliedReportingOverflow(by: x)
                try require(!overflow, "the sizes \(xs) overflow when multiplied")
                n = p
            }
            return n
        }
        try require(imageSize > 0 && imageSize % 4 == 0, "image_size \(imageSize) must be a positive multiple of 4")
        try require(featureSize > 0 && imageSize % featureSize == 0 && [1, 2, 4].contains(imageSize / featureSize),
                    "image_size / feature_size must be 1, 2 or 4 (got \(imageSize) / \(featureSize))")
        try require(imageChannels > 0, "image_channels must be positive")
        for (name, v) in [("cnn_hidden_size", cnnHiddenSize), ("d_model", dModel), ("mlp_hidden_size", mlpHiddenSize),
                          ("num_slots", numSlots), ("num_iterations", numIterations), ("slot_size", slotSize),
                          ("num_blocks", numBlocks), ("num_prototypes", numPrototypes), ("vocab_size", vocabSize),
                          ("dvae_hidden_size", dvaeHiddenSize), ("num_decoder_layers", numDecoderLayers),
                          ("num_decoder_heads", numDecoderHeads), ("coupler_heads", couplerHeads)] {
            try require(v > 0, "\(name) must be positive (got \(v))")
        }
        try require(slotSize % numBlocks == 0, "slot_size \(slotSize) must be divisible by num_blocks \(numBlocks)")
        try require(mlpHiddenSize % numBlocks == 0, "mlp_hidden_size \(mlpHiddenSize) must be divisible by num_blocks \(numBlocks)")
        try require(dModel % numDecoderHeads == 0, "d_model \(dModel) must be divisible by num_decoder_heads \(numDecoderHeads)")
        try require(dModel % couplerHeads == 0, "d_model \(dModel) must be divisible by coupler_heads \(couplerHeads)")
        try require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)")
        if let p = prior {
            try require(p.dModel > 0 && p.numHeads > 0 && p.numLayers > 0, "prior sizes must be positive")
            try require(p.dModel % p.numHeads == 0, "prior d_model \(p.dModel) must be divisible by its heads \(p.numHeads)")
            try require(p.dropout >= 0 && p.dropout < 1, "prior dropout must be in [0, 1)")
        }
        try require(numIterations <= Self.maxIterations, "num_iterations \(numIterations) exceeds the limit of \(Self.maxIterations)")
        // More slots than inputs is meaningless, and with random slot init and no prior no tensor bounds N.
        let inputs = try product(featureSize, featureSize)
        try require(numSlots <= inputs, "num_slots \(numSlots) exceeds the \(inputs) slot-attention inputs")
        // The runtime passes these sizes as int32 through the C API, and per-image element counts below 2³¹
        // keep every batch size (an int32) times them within an Int.
        let perImage = [("image_size", imageSize), ("image_channels", imageChannels), ("num_slots", numSlots),
                        ("num_blocks", numBlocks), ("num_prototypes", numPrototypes), ("slot_size", slotSize),
                        ("vocab_size", vocabSize),
                        ("tokens per image", try product(tokenGridSize, tokenGridSize)),
                        ("values per image", try product(imageSize, imageSize, imageChannels)),
                        ("mask values per image", try product(numSlots, imageSize, imageSize)),
                        ("slot values per image", try product(numSlots, slotSize)),
                        ("codes per image", try product(numSlots, numBlocks)),
                        ("codebook values", try product(numPrototypes, blockSize))]
        for (name, size) in perImage {
            try require(size <= Int(Int32.max), "\(name) \(size) exceeds the largest supported size \(Int32.max)")
        }
        try require(tensorTally != nil, "the model's tensors would hold more values than an Int can count")
    }
}

// MARK: - Presets

extension SVQConfig {
    /// The official code's defaults (`args.py`): 128 px, 4 slots, 16 blocks of 128, 64 codes each.
    public static let officialDefault = SVQConfig(
        imageSize: 128, cnnHiddenSize: 512, dModel: 192, mlpHiddenSize: 192, numSlots: 4, slotSize: 2048,
        numBlocks: 16, numPrototypes: 64, vocabSize: 4096, numDecoderLayers: 8, numDecoderHeads: 4)

    /// The paper's CLEVR-Easy setting (Table 6): 8 blocks, codebook vectors of 256, 64 codes per block.
    public static let paperCLEVREasy = SVQConfig(
        imageSize: 128, cnnHiddenSize: 512, dModel: 192, mlpHiddenSize: 192, numSlots: 4, slotSize: 2048,
        numBlocks: 8, numPrototypes: 64, vocabSize: 4096, numDecoderLayers: 8, numDecoderHeads: 4)

    /// The paper's 2D Sprites setting (Table 6): 64 px, 8 blocks.
    public static let paperSprites = SVQConfig(
        imageSize: 64, cnnHiddenSize: 512, dModel: 192, mlpHiddenSize: 192, numSlots: 6, slotSize: 2048,
        numBlocks: 8, numPrototypes: 64, vocabSize: 4096, numDecoderLayers: 8, numDecoderHeads: 4)

    /// Sized for training on two CPU cores: 64 px sprites (up to 4 objects and the background), 5 slots ×
    /// 8 blocks × 16 codes. Decoder dropout is off: dropping attention probabilities needs the T×T score
    /// matrices kept for backward, which made a training step ~40% slower here (the position dropout of 0.1
    /// stays).
    public static let cpuSprites: SVQConfig = {
        var c = SVQConfig(
            imageSize: 64, cnnHiddenSize: 32, dModel: 64, mlpHiddenSize: 128, numSlots: 5, slotSize: 128,
            numBlocks: 8, numPrototypes: 16, vocabSize: 128, numDecoderLayers: 3, numDecoderHeads: 4,
            prior: PriorConfig(dModel: 96, numHeads: 4, numLayers: 4))
        c.featureSize = 32   // 1024 slot-attention inputs instead of 4096: 4× cheaper on a CPU
        c.dropout = 0
        return c
    }()

    /// `cpuSprites` with blocks closer to the official shape: 8 blocks of 32 dims (slot size 256) and 32 codes
    /// each, the per-block MLP widened to match. The narrow preset's codes hold shape and colour but spread each
    /// over several blocks (one-block colour 32%, best pair 60%, all 8 blocks 95%); this one tests whether wider
    /// blocks with more codes let a single block hold a factor. Not 64 codes as the official: a batch of
    /// 16 × 5 slots gives each block 80 vectors per update, 1.25 per code, so most codes sat below the
    /// dead-code threshold of 1 and were restarted at every update (25% live at step 1,675); 32 codes get
    /// 2.5 each, as the official batch of 40 × 4 slots gives 64. Trains about as fast (2.5–3.3 steps/s here).
    public static let cpuSpritesWide: SVQConfig = {
        var c = SVQConfig.cpuSprites
        c.slotSize = 256
        c.numPrototypes = 32
        c.mlpHiddenSize = 256
        return c
    }()

    /// Named presets, as the CLI offers them.
    public static let presets: [String: SVQConfig] = [
        "official": .officialDefault,
        "paper-clevr-easy": .paperCLEVREasy,
        "paper-sprites": .paperSprites,
        "cpu-sprites": .cpuSprites,
        "cpu-sprites-wide": .cpuSpritesWide,
    ]
}
