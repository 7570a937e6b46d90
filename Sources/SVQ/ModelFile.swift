// Turning untrusted bytes into a ready model, or into an SVQError.invalidModel that says why not.
//
// SVQModel(file:) builds a model from the config in the file's metadata *before* it compares the
// tensors with it, so a hostile config ("numDecoderLayers": 1e9) would make it allocate without bound
// or overflow an Int. We therefore first check, for every product of sizes the model allocates, one
// tensor of that shape that the file must hold anyway (strict loading requires it; names and shapes
// from docs/weights.md §3): construction then allocates at most a small multiple of the file's size.
// The two sizes no tensor pins are bounded; only then does SVQModel load the file.

import Foundation
import SafeTensors
import SVQModels

enum ModelFile {
    /// Slot-attention iterations accepted from a file (the official models use 3); beyond this a file is
    /// more likely hostile (each iteration costs a full attention pass) than useful.
    static let maxIterations = 100

    /// Parses, checks and loads a weights file; the model comes back frozen and in evaluation mode.
    static func load(_ data: Data) throws -> SVQModel {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(data: data) } catch {
            throw SVQError(.invalidModel, "not a valid safetensors file: \(error)")
        }
        return try load(file)
    }

    /// Checks and loads an opened weights file (see `load(_: Data)`).
    static func load(_ file: SafeTensorsFile) throws -> SVQModel {
        let config = try readConfig(file)
        try checkSizes(config, against: file)
        let model: SVQModel
        do { model = try SVQModel(file: file) } catch {
            throw SVQError(.invalidModel, "\(error)")
        }
        for (name, tensor) in model.namedTensors() {
            let p = tensor.data
            for i in 0..<tensor.count where !p[i].isFinite {
                throw SVQError(.invalidModel, "tensor \(name) holds a non-finite value (\(p[i])) at index \(i)")
            }
        }
        model.freeze()          // no autodiff graph at inference
        model.train(false)      // no dropout
        return model
    }

    /// The config from the metadata, with the format checks SVQModel(file:) also makes (ours come first
    /// so their messages are the ones the caller sees).
    static func readConfig(_ file: SafeTensorsFile) throws -> SVQConfig {
        guard file.metadata["format"] == "svq" else {
            throw SVQError(.invalidModel, "not an SVQ weights file (its metadata has no \"format\": \"svq\")")
        }
        guard file.metadata["format_version"] == SVQModel.formatVersion else {
            throw SVQError(.invalidModel, "SVQ weights format version \(file.metadata["format_version"] ?? "none") is not supported (this library reads version \(SVQModel.formatVersion))")
        }
        guard let json = file.metadata["config"] else {
            throw SVQError(.invalidModel, "the weights file has no \"config\" in its metadata")
        }
        let config: SVQConfig
        do { config = try JSONDecoder().decode(SVQConfig.self, from: Data(json.utf8)) } catch {
            throw SVQError(.invalidModel, "the config in the weights file is not valid: \(error)")
        }
        do { try config.validate() } catch {
            throw SVQError(.invalidModel, "\(error)")
        }
        return config
    }

    /// Every config size that scales an allocation must match a tensor in the file (see the top comment).
    static func checkSizes(_ c: SVQConfig, against file: SafeTensorsFile) throws {
        func product(_ xs: Int...) throws -> Int {
            guard let n = elementCount(xs) else {
                throw SVQError(.invalidModel, "the config's sizes overflow: \(xs)")
            }
            return n
        }
        func expect(_ name: String, _ shape: [Int]) throws {
            guard let info = file.info(name) else {
                throw SVQError(.invalidModel, "the weights file lacks tensor \(name), which its config implies")
            }
            guard info.shape == shape else {
                throw SVQError(.invalidModel, "tensor \(name) has shape \(info.shape) but the config implies \(shape)")
            }
        }
        /// `prefix.{l}.suffix` for every l < layers (a huge layer count fails at once: the file has fewer names).
        func expectLayers(_ prefix: String, _ layers: Int, _ suffix: String, _ shape: [Int]) throws {
            guard layers <= file.tensors.count else {
                throw SVQError(.invalidModel, "the config has \(layers) layers under \(prefix) but the file holds only \(file.tensors.count) tensors")
            }
            for l in 0..<layers { try expect("\(prefix).\(l).\(suffix)", shape) }
        }

        let m = c.numBlocks, w = c.slotSize / c.numBlocks, h = c.dvaeHiddenSize, v = c.vocabSize
        let cc = c.cnnHiddenSize, d = c.dModel, s = c.slotSize, side = c.imageSize / 4
        // One tensor for every product of sizes the model allocates (h², V·h, Cc², S², V·D, …).
        try expect("dvae.encoder.0.weight", [h, c.imageChannels, 4, 4])
        try expect("dvae.encoder.1.weight", [h, h, 1, 1])
        try expect("dvae.encoder_out.weight", [v, h, 1, 1])
        try expect("dvae.decoder_up1.3.weight", [try product(4, h), h, 1, 1])
        try expect("image_encoder.cnn.0.weight", [cc, c.imageChannels, 5, 5])
        try expect("image_encoder.cnn.1.weight", [cc, cc, 5, 5])
        try expect("image_encoder.cnn.3.weight", [d, cc, 5, 5])
        try expect("image_encoder.mlp1.weight", [d, d])
        try expect("slot_attention.project_q.weight", [s, s])
        try expect("slot_attention.project_k.weight", [s, d])
        try expect("slot_attention.gru.weight_ih", [m, try product(3, w), w])
        try expect("slot_attention.mlp1.weight", [m, w, c.mlpHiddenSize / m])
        try expect("slot_attention.quantizer.codebooks", [m, c.numPrototypes, w])
        try expect("image_decoder.slot_projection.weight", [m, w, d])
        try expect("image_decoder.block_position_mlp1.weight", [m, d, d])
        try expect("image_decoder.token_embedding", [v, d])
        try expect("image_decoder.positions", [try product(side, side), d])
        try expectLayers("image_decoder.transformer.blocks", c.numDecoderLayers, "ffn.fc1.weight",
                         [try product(4, d), d])
        if c.slotInit == .learned {
            try expect("slot_attention.initial_slots", [c.numSlots, s])
        }
        if let p = c.prior {
            try expect("prior.code_embedding.weight", [try product(m, c.numPrototypes), p.dModel])
            try expect("prior.position_embedding", [try product(c.numSlots, m), p.dModel])
            try expectLayers("prior.layers", p.numLayers, "ffn_in.weight", [try product(4, p.dModel), p.dModel])
        }
        // Not pinned by any tensor (random slot init, no prior): more slots than inputs is meaningless.
        let inputs = try product(c.featureSize, c.featureSize)
        guard c.numSlots <= inputs else {
            throw SVQError(.invalidModel, "num_slots \(c.numSlots) exceeds the \(inputs) slot-attention inputs")
        }
        // ModelInfo's sizes travel as int32 through the C API, and per-image element counts below 2³¹ keep
        // every batch size (an int32) times them within an Int.
        let perImage = [("image_size", c.imageSize), ("image_channels", c.imageChannels), ("num_slots", c.numSlots),
                        ("num_blocks", m), ("num_prototypes", c.numPrototypes), ("slot_size", s), ("vocab_size", v),
                        ("tokens per image", try product(side, side)),
                        ("values per image", try product(c.imageSize, c.imageSize, c.imageChannels)),
                        ("mask values per image", try product(c.numSlots, c.imageSize, c.imageSize)),
                        ("slot values per image", try product(c.numSlots, s)),
                        ("codes per image", try product(c.numSlots, m)),
                        ("codebook values", try product(c.numPrototypes, w))]
        for (name, size) in perImage where size > Int(Int32.max) {
            throw SVQError(.invalidModel, "\(name) \(size) exceeds the largest supported size \(Int32.max)")
        }
        guard c.numIterations <= maxIterations else {
            throw SVQError(.invalidModel, "num_iterations \(c.numIterations) exceeds the limit of \(maxIterations)")
        }
    }
}
