// The official code's hyperparameters (`args.py` names, as in a JSON of its parsed arguments) → SVQConfig.

import Foundation

extension SVQConfig {
    /// Builds a config from the official argument names (`image_size`, `num_slots`, `num_blocks`,
    /// `slot_size`, `num_prototypes`, `vocab_size`, `d_model`, `prior_d_model`, …). Missing arguments take
    /// the official defaults; `includePrior` adds the prior's sizes.
    public init(officialArguments args: [String: Any], includePrior: Bool) throws {
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = args[key] else { return fallback }
            if let i = v as? Int { return i }
            if let d = v as? Double, let i = Int(exactly: d) { return i }
            throw SVQModelError(.invalidConfig, "invalid SVQ config: official argument \(key) must be an integer, got \(v)")
        }
        func float(_ key: String, _ fallback: Float) throws -> Float {
            guard let v = args[key] else { return fallback }
            if let d = v as? Double { return Float(d) }
            if let i = v as? Int { return Float(i) }
            throw SVQModelError(.invalidConfig, "invalid SVQ config: official argument \(key) must be a number, got \(v)")
        }
        let d = SVQConfig.officialDefault
        self.init(imageSize: try int("image_size", d.imageSize), cnnHiddenSize: try int("cnn_hidden_size", d.cnnHiddenSize),
                  dModel: try int("d_model", d.dModel), mlpHiddenSize: try int("mlp_hidden_size", d.mlpHiddenSize),
                  numSlots: try int("num_slots", d.numSlots), slotSize: try int("slot_size", d.slotSize),
                  numBlocks: try int("num_blocks", d.numBlocks), numPrototypes: try int("num_prototypes", d.numPrototypes),
                  vocabSize: try int("vocab_size", d.vocabSize), numDecoderLayers: try int("num_decoder_layers", d.numDecoderLayers),
                  numDecoderHeads: try int("num_decoder_heads", d.numDecoderHeads), prior: nil)
        imageChannels = try int("image_channels", 3)
        numIterations = try int("num_iterations", 3)
        dropout = try float("dropout", 0.1)
        switch args["slot_init_type"] as? String ?? "random" {
        case "random": slotInit = .random
        case "learned": slotInit = .learned
        case let other: throw SVQModelError(.unsupported, "invalid SVQ config: official slot_init_type \"\(other)\" is not supported (random or learned)")
        }
        if let vq = args["vq_type"] as? String, vq != "vq_ema_dcr" {
            throw SVQModelError(.unsupported, "invalid SVQ config: official vq_type \"\(vq)\" is not supported (only vq_ema_dcr)")
        }
        if includePrior {
            prior = PriorConfig(dModel: try int("prior_d_model", 192), numHeads: try int("prior_num_heads", 4),
                                numLayers: try int("prior_num_decoder_layers", 8), dropout: try float("prior_dropout", 0.1))
        }
        try validate()
    }
}
