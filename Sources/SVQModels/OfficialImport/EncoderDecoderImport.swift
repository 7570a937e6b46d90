// Official image encoder, slot attention (+ VQ) and image decoder tensors → ours.
// Layout changes: conv 1×1 position projection → linear; (1,1,n) parameters → (n); the dense masked
// BlockGRU weights → their diagonal blocks; flat codebooks (M·P, w) → (M, P, w); decoder positions
// (T+1, D) → the T rows that are used.

import SVQEngine
import SVQNN

extension OfficialStateDict {
    func copyLinear(_ name: String, into layer: Linear) throws {
        try copy(name + ".weight", into: layer.weight)
        if let b = layer.bias { try copy(name + ".bias", into: b) }
    }

    func copyLayerNorm(_ name: String, into layer: LayerNorm) throws {
        if let w = layer.weight { try copy(name + ".weight", into: w) }
        if let b = layer.bias { try copy(name + ".bias", into: b) }
    }

    /// A tensor stored with extra leading 1-dimensions or a different but equal-sized shape.
    func copy(_ name: String, officialShape: [Int], into target: Tensor) throws {
        target.assign(try floats(name, shape: officialShape))
    }

    func copyBlockLinear(_ name: String, into layer: BlockLinear) throws {
        try copy(name + ".w", into: layer.weight)
        try copy(name + ".b", officialShape: [1, layer.bias.count], into: layer.bias)
    }

    func copyAttention(_ name: String, into attn: MultiHeadAttention) throws {
        for (suffix, layer) in [("q", attn.projQ), ("k", attn.projK), ("v", attn.projV), ("o", attn.projO)] {
            try copyLinear("\(name).proj_\(suffix)", into: layer)
        }
    }

    func copyFeedForward(_ name: String, into ffn: FeedForward) throws {
        try copyLinear(name + ".0", into: ffn.fc1)
        try copyLinear(name + ".2", into: ffn.fc2)
    }

    /// A pre-LN transformer block: `<sub>_layer_norm` and `<sub>` for each attention sublayer, then
    /// `ffn_layer_norm` and `ffn`.
    func copyTransformerBlock(_ name: String, attention: [(sub: String, norm: LayerNorm, attention: MultiHeadAttention)],
                              ffnLayerNorm: LayerNorm, ffn: FeedForward) throws {
        for (sub, norm, attn) in attention {
            try copyLayerNorm("\(name).\(sub)_layer_norm", into: norm)
            try copyAttention("\(name).\(sub)", into: attn)
        }
        try copyLayerNorm(name + ".ffn_layer_norm", into: ffnLayerNorm)
        try copyFeedForward(name + ".ffn", into: ffn)
    }
}

extension ImageEncoder {
    /// Loads the official `image_encoder.*` tensors other than slot attention's (`image_encoder.nlotm.*`).
    public func loadOfficial(_ sd: OfficialStateDict, prefix: String = "image_encoder.") throws {
        for (i, conv) in cnn.enumerated() {
            let name = i < 3 ? "\(prefix)cnn.\(i).m" : "\(prefix)cnn.\(i)"
            try sd.copy(name + ".weight", into: conv.weight)
            if let b = conv.bias { try sd.copy(name + ".bias", into: b) }
        }
        let d = positionProjection.outFeatures
        try sd.copy("\(prefix)pos.projection.weight", officialShape: [d, 4, 1, 1], into: positionProjection.weight)
        try sd.copy("\(prefix)pos.projection.bias", into: positionProjection.bias!)
        // The official grid is a stored tensor; ours is computed. Check they agree rather than trust either.
        let f = featureSize
        let pe = try sd.floats("\(prefix)pos.pe", shape: [1, 4, f, f])
        for ch in 0..<4 {
            for p in 0..<(f * f) where abs(pe[ch * f * f + p] - grid.values.data[p * 4 + ch]) > 1e-6 {
                throw SVQModelError.officialMismatch("\(prefix)pos.pe differs from the cartesian grid [x, y, 1−x, 1−y] at channel \(ch), position \(p)")
            }
        }
        try sd.copyLayerNorm("\(prefix)layer_norm", into: layerNorm)
        try sd.copyLinear("\(prefix)mlp.0", into: mlp1)
        try sd.copyLinear("\(prefix)mlp.2", into: mlp2)
    }
}

extension SlotAttention {
    /// Loads the official `image_encoder.nlotm.*` tensors.
    public func loadOfficial(_ sd: OfficialStateDict, prefix: String = "image_encoder.nlotm.") throws {
        let c = config
        let s = c.slotSize, m = c.numBlocks, w = c.blockSize
        if let mu = slotMu, let logSigma = slotLogSigma {
            try sd.copy(prefix + "slot_mu", officialShape: [1, 1, s], into: mu)
            try sd.copy(prefix + "slot_log_sigma", officialShape: [1, 1, s], into: logSigma)
        }
        if let learned = initialSlots {
            try sd.copy(prefix + "learned_init_slots.weight", into: learned)
            // The random-init parameters exist in the official model but are unused with learned init.
            for unused in ["slot_mu", "slot_log_sigma"] where sd.contains(prefix + unused) {
                _ = try sd.floats(prefix + unused, shape: [1, 1, s])
            }
        }
        try sd.copyLayerNorm(prefix + "norm_inputs", into: normInputs)
        try sd.copyLayerNorm(prefix + "norm_slots", into: normSlots)
        try sd.copyLinear(prefix + "project_q", into: projectQ)
        try sd.copyLinear(prefix + "project_k", into: projectK)
        try sd.copyLinear(prefix + "project_v", into: projectV)

        // BlockGRU: keep the diagonal blocks of the dense (3S, S) weights (rows g·S + m·w + i, columns m·w + j),
        // which is what the official masks select; off-block entries are ignored whatever their value.
        for (officialName, ours) in [("weight_ih", gru.weightIH), ("weight_hh", gru.weightHH)] {
            let dense = try sd.floats(prefix + "gru.gru." + officialName, shape: [3 * s, s])
            for blk in 0..<m { for g in 0..<3 { for i in 0..<w { for j in 0..<w {
                ours.data[(blk * 3 * w + g * w + i) * w + j] = dense[(g * s + blk * w + i) * s + blk * w + j]
            } } } }
        }
        for (officialName, ours) in [("bias_ih", gru.biasIH), ("bias_hh", gru.biasHH)] {
            let full = try sd.floats(prefix + "gru.gru." + officialName, shape: [3 * s])
            for blk in 0..<m { for g in 0..<3 { for i in 0..<w {
                ours.data[blk * 3 * w + g * w + i] = full[g * s + blk * w + i]
            } } }
        }
        for mask in ["mask_hx", "mask_hh"] where sd.contains(prefix + "gru." + mask) {
            _ = try sd.floats(prefix + "gru." + mask, shape: [3 * s, s])   // implied by the block layout
        }
        try sd.copyBlockLinear(prefix + "mlp.0", into: mlp1)
        try sd.copyBlockLinear(prefix + "mlp.2", into: mlp2)

        let p = c.numPrototypes
        try sd.copy(prefix + "prototype_memory.mem.weight", officialShape: [m * p, w], into: quantizer.codebooks)
        try sd.copy(prefix + "prototype_memory._ema_w", officialShape: [m * p, w], into: quantizer.emaWeight)
        try sd.copy(prefix + "prototype_memory._ema_cluster_size", officialShape: [m * p], into: quantizer.emaClusterSize)
    }
}

extension ImageDecoder {
    /// Loads the official `image_decoder.*` tensors.
    public func loadOfficial(_ sd: OfficialStateDict, prefix: String = "image_decoder.") throws {
        let c = config
        try sd.copyBlockLinear(prefix + "slot_proj", into: slotProjection)
        try sd.copy(prefix + "block_pos", officialShape: [1, 1, c.numBlocks * c.dModel], into: blockPosition)
        try sd.copyBlockLinear(prefix + "block_pos_proj.0", into: blockPositionMlp1)
        try sd.copyBlockLinear(prefix + "block_pos_proj.2", into: blockPositionMlp2)
        for (i, block) in blockCoupler.blocks.enumerated() {
            try sd.copyTransformerBlock("\(prefix)block_coupler.blocks.\(i)", attention: [("attn", block.attnLayerNorm, block.attn)],
                                        ffnLayerNorm: block.ffnLayerNorm, ffn: block.ffn)
        }
        try sd.copyLayerNorm(prefix + "block_coupler.layer_norm", into: blockCoupler.layerNorm)
        try sd.copy(prefix + "dict.dictionary.weight", into: tokenEmbedding)
        try sd.copy(prefix + "bos", officialShape: [1, 1, c.dModel], into: bos)
        let t = c.tokensPerImage
        let pe = try sd.floats(prefix + "decoder_pos.pe", shape: [1, t + 1, c.dModel])
        positions.assign(Array(pe[0..<(t * c.dModel)]))   // row T is never used by the official code either
        for (i, block) in transformer.blocks.enumerated() {
            try sd.copyTransformerBlock("\(prefix)tf.blocks.\(i)",
                                        attention: [("self_attn", block.selfAttnLayerNorm, block.selfAttn),
                                                    ("encoder_decoder_attn", block.crossAttnLayerNorm, block.crossAttn)],
                                        ffnLayerNorm: block.ffnLayerNorm, ffn: block.ffn)
        }
        try sd.copyLayerNorm(prefix + "tf.layer_norm", into: transformer.layerNorm)
        try sd.copyLinear(prefix + "head", into: head)
    }
}
