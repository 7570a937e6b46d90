// The hyperparameters of the official IRIS code (github eloialonso/iris), under its own names
// (`config/tokenizer/default.yaml`, `config/world_model/default.yaml`), and their validation.

import Foundation
import SVQEngine

/// Why an IRIS model could not be configured, imported or run.
public typealias IRISError = LibraryError<IRISErrorKind>

/// What went wrong with an IRIS model.
public enum IRISErrorKind: Sendable, Equatable, Hashable, CaseIterable {
    /// Sizes that do not fit together, or a config that is missing or not valid JSON.
    case invalidConfig
    /// Official tensors that do not fit the config: missing, unused, of another shape, or buffers with other values.
    case tensorMismatch
    /// Inputs a model cannot take: tokens or actions out of range, a sequence past the context, wrong sizes.
    case invalidInput
}

/// The VQ encoder/decoder's shape (`EncoderDecoderConfig`): decoder and encoder share it, as officially.
public struct IRISEncoderDecoderConfig: Equatable, Sendable, Codable {
    public var resolution: Int
    public var inChannels: Int
    public var zChannels: Int
    public var ch: Int
    public var chMult: [Int]
    public var numResBlocks: Int
    public var attnResolutions: [Int]
    public var outCh: Int
    public var dropout: Float

    public init(resolution: Int = 64, inChannels: Int = 3, zChannels: Int = 512, ch: Int = 64,
                chMult: [Int] = [1, 1, 1, 1, 1], numResBlocks: Int = 2, attnResolutions: [Int] = [8, 16],
                outCh: Int = 3, dropout: Float = 0) {
        (self.resolution, self.inChannels, self.zChannels, self.ch, self.chMult) = (resolution, inChannels, zChannels, ch, chMult)
        (self.numResBlocks, self.attnResolutions, self.outCh, self.dropout) = (numResBlocks, attnResolutions, outCh, dropout)
    }

    enum CodingKeys: String, CodingKey {
        case resolution, dropout, ch
        case inChannels = "in_channels", zChannels = "z_channels", chMult = "ch_mult", numResBlocks = "num_res_blocks"
        case attnResolutions = "attn_resolutions", outCh = "out_ch"
    }

    /// Side of the latent grid: the resolution halved once per level but the last.
    public var latentResolution: Int { resolution >> (chMult.count - 1) }

    func validate() throws {
        func fail(_ why: String) -> IRISError { IRISError(.invalidConfig, "invalid IRIS tokenizer config: " + why) }
        guard !chMult.isEmpty, chMult.allSatisfy({ $0 >= 1 }) else { throw fail("ch_mult \(chMult) must be positive multipliers, at least one") }
        guard ch >= 1, numResBlocks >= 1, inChannels >= 1, outCh >= 1, zChannels >= 1 else {
            throw fail("ch \(ch), num_res_blocks \(numResBlocks), in_channels \(inChannels), out_ch \(outCh) and z_channels \(zChannels) must be positive")
        }
        // Every GroupNorm has 32 groups.
        for width in chMult.map({ ch * $0 }) where width % 32 != 0 {
            throw fail("ch · ch_mult = \(width) channels do not split into GroupNorm's 32 groups")
        }
        guard resolution >= 1, resolution % (1 << (chMult.count - 1)) == 0 else {
            throw fail("resolution \(resolution) is not divisible by 2^\(chMult.count - 1) (one halving per level but the last)")
        }
        guard dropout >= 0, dropout < 1 else { throw fail("dropout \(dropout) outside [0, 1)") }
    }
}

/// The tokenizer: `vocab_size` codebook rows of `embed_dim`, and the encoder/decoder.
public struct IRISTokenizerConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var embedDim: Int
    public var encoder: IRISEncoderDecoderConfig

    public init(vocabSize: Int = 512, embedDim: Int = 512, encoder: IRISEncoderDecoderConfig = .init()) {
        (self.vocabSize, self.embedDim, self.encoder) = (vocabSize, embedDim, encoder)
    }

    /// Tokens per frame: the latent grid's positions.
    public var tokensPerFrame: Int { encoder.latentResolution * encoder.latentResolution }

    func validate() throws {
        guard vocabSize >= 1, embedDim >= 1 else {
            throw IRISError(.invalidConfig, "invalid IRIS tokenizer config: vocab_size \(vocabSize) and embed_dim \(embedDim) must be positive")
        }
        try encoder.validate()
    }
}

/// How the world model's attention is masked (`attention`).
public enum IRISAttention: String, Sendable, Codable {
    /// Each token sees itself and the tokens before it.
    case causal
    /// Also every token of its own block (frame tokens and action), as officially offered.
    case blockCausal = "block_causal"
}

/// The world model's transformer (`TransformerConfig`).
public struct IRISWorldModelConfig: Equatable, Sendable, Codable {
    public var tokensPerBlock: Int
    public var maxBlocks: Int
    public var attention: IRISAttention
    public var numLayers: Int
    public var numHeads: Int
    public var embedDim: Int
    public var embedPdrop: Float
    public var residPdrop: Float
    public var attnPdrop: Float

    public init(tokensPerBlock: Int = 17, maxBlocks: Int = 20, attention: IRISAttention = .causal, numLayers: Int = 10,
                numHeads: Int = 4, embedDim: Int = 256, embedPdrop: Float = 0.1, residPdrop: Float = 0.1, attnPdrop: Float = 0.1) {
        (self.tokensPerBlock, self.maxBlocks, self.attention, self.numLayers) = (tokensPerBlock, maxBlocks, attention, numLayers)
        (self.numHeads, self.embedDim, self.embedPdrop, self.residPdrop, self.attnPdrop) = (numHeads, embedDim, embedPdrop, residPdrop, attnPdrop)
    }

    enum CodingKeys: String, CodingKey {
        case attention
        case tokensPerBlock = "tokens_per_block", maxBlocks = "max_blocks", numLayers = "num_layers", numHeads = "num_heads"
        case embedDim = "embed_dim", embedPdrop = "embed_pdrop", residPdrop = "resid_pdrop", attnPdrop = "attn_pdrop"
    }

    /// Length of the longest sequence: `tokens_per_block · max_blocks`.
    public var maxTokens: Int { tokensPerBlock * maxBlocks }

    func validate() throws {
        func fail(_ why: String) -> IRISError { IRISError(.invalidConfig, "invalid IRIS world model config: " + why) }
        // A block holds at least one frame token besides the action, and the observation head skips the last one.
        guard tokensPerBlock >= 2, maxBlocks >= 1, numLayers >= 1, numHeads >= 1, embedDim >= 1 else {
            throw fail("tokens_per_block \(tokensPerBlock) (≥ 2), max_blocks \(maxBlocks), num_layers \(numLayers), num_heads \(numHeads) and embed_dim \(embedDim) must be positive")
        }
        guard embedDim % numHeads == 0 else { throw fail("embed_dim \(embedDim) is not divisible by num_heads \(numHeads)") }
        for (name, p) in [("embed_pdrop", embedPdrop), ("resid_pdrop", residPdrop), ("attn_pdrop", attnPdrop)] where !(p >= 0 && p < 1) {
            throw fail("\(name) \(p) outside [0, 1)")
        }
    }
}

/// The three parts' configs and the action count, as the official `config/` folder and environment give them.
public struct IRISConfig: Equatable, Sendable {
    public var tokenizer: IRISTokenizerConfig
    public var worldModel: IRISWorldModelConfig
    /// Actions of the environment: rows of the world model's action table and outputs of the actor.
    public var numActions: Int

    public init(tokenizer: IRISTokenizerConfig = .init(), worldModel: IRISWorldModelConfig = .init(), numActions: Int) throws {
        (self.tokenizer, self.worldModel, self.numActions) = (tokenizer, worldModel, numActions)
        try validate()
    }

    public func validate() throws {
        try tokenizer.validate()
        try worldModel.validate()
        guard numActions >= 1 else { throw IRISError(.invalidConfig, "invalid IRIS config: num_actions \(numActions) must be positive") }
        guard worldModel.tokensPerBlock == tokenizer.tokensPerFrame + 1 else {
            throw IRISError(.invalidConfig, "invalid IRIS config: tokens_per_block \(worldModel.tokensPerBlock) must be the tokenizer's \(tokenizer.tokensPerFrame) tokens per frame + 1 action")
        }
    }

    /// Reads the official names from JSON: `{"tokenizer": {"vocab_size", "embed_dim", and the encoder's fields
    /// either inline or under "encoder": {"config": …} as in the YAML}, "world_model": {…}, "num_actions": n}`.
    /// Missing fields take the official defaults (`config/*/default.yaml`).
    public init(officialJSON data: Data) throws {
        func fail(_ why: String) -> IRISError { IRISError(.invalidConfig, "invalid IRIS config JSON: " + why) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("not a JSON object") }
        guard let actions = root["num_actions"] as? Int else { throw fail("num_actions (an integer) is missing") }
        let tokenizerJSON = root["tokenizer"] as? [String: Any] ?? [:]
        var encoderJSON = tokenizerJSON
        if let nested = (tokenizerJSON["encoder"] as? [String: Any])?["config"] as? [String: Any] { encoderJSON = nested }
        func decode<T: Decodable>(_ type: T.Type, _ object: [String: Any], defaults: T, part: String) throws -> T where T: Encodable {
            // Defaults first, then the given fields over them.
            var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults)) as! [String: Any]
            let known = Set(merged.keys)
            for (key, value) in object where known.contains(key) { merged[key] = value }
            do {
                return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: merged))
            } catch {
                throw fail("\(part): \(error)")
            }
        }
        let encoder = try decode(IRISEncoderDecoderConfig.self, encoderJSON, defaults: .init(), part: "tokenizer encoder")
        let d = IRISTokenizerConfig()
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = tokenizerJSON[key] else { return fallback }
            guard let i = v as? Int else { throw fail("tokenizer.\(key) must be an integer, got \(v)") }
            return i
        }
        let tokenizer = IRISTokenizerConfig(vocabSize: try int("vocab_size", d.vocabSize), embedDim: try int("embed_dim", d.embedDim), encoder: encoder)
        let world = try decode(IRISWorldModelConfig.self, root["world_model"] as? [String: Any] ?? [:], defaults: .init(), part: "world_model")
        try self.init(tokenizer: tokenizer, worldModel: world, numActions: actions)
    }
}
