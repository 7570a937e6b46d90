// Official IRIS checkpoints (github eloialonso/iris) → our modules. A state_dict dumped as safetensors, either one
// part's (`tokenizer`, `world_model`, `actor_critic`) or the agent's with those three prefixes. Our modules carry
// the official names, so every tensor is found by name; each is shape-checked, the world model's buffers (the
// attention masks and the slicers' indices) must hold what the config implies, and a tensor missing or left
// unused is an error naming it.

import SafeTensors
import SVQEngine
import SVQNN

/// Builds IRIS models from official state_dicts.
///
/// ```swift
/// let config = try IRISConfig(officialJSON: Data(contentsOf: configURL))
/// let agent = try IRISImport.agent(config: config, from: SafeTensorsFile(contentsOf: checkpointURL))
/// ```
public enum IRISImport {
    /// The three parts of an agent.
    public struct Agent {
        public let tokenizer: IRISTokenizer
        public let worldModel: IRISWorldModel
        public let actorCritic: IRISActorCritic
    }

    /// The agent from one state_dict whose names start with `tokenizer.`, `world_model.` and `actor_critic.`
    /// (the official `Agent`'s). Any other tensor is an error.
    public static func agent(config: IRISConfig, from file: SafeTensorsFile) throws -> Agent {
        let parts = ["tokenizer.", "world_model.", "actor_critic."]
        let foreign = file.names.filter { name in !parts.contains { name.hasPrefix($0) } }
        guard foreign.isEmpty else {
            throw IRISError(.tensorMismatch, "official IRIS agent checkpoint: tensors outside tokenizer., world_model. and actor_critic.: \(list(foreign))")
        }
        return Agent(tokenizer: try tokenizer(config: config.tokenizer, from: file, prefix: parts[0]),
                     worldModel: try worldModel(config: config, from: file, prefix: parts[1]),
                     actorCritic: try actorCritic(numActions: config.numActions, from: file, prefix: parts[2]))
    }

    /// The tokenizer from its state_dict (names under `prefix`). The perceptual loss's network (`lpips.*`, in
    /// checkpoints trained with it) is not part of the model and is skipped.
    public static func tokenizer(config: IRISTokenizerConfig, from file: SafeTensorsFile, prefix: String = "") throws -> IRISTokenizer {
        var rng = RandomGenerator(seed: 0)
        let model = try IRISTokenizer(config: config, rng: &rng)
        try load(model, from: file, prefix: prefix, part: "tokenizer", skipping: [prefix + "lpips."])
        return model
    }

    /// The world model from its state_dict (names under `prefix`); its vocabulary is the tokenizer's.
    public static func worldModel(config: IRISConfig, from file: SafeTensorsFile, prefix: String = "") throws -> IRISWorldModel {
        var rng = RandomGenerator(seed: 0)
        let model = try IRISWorldModel(config: config.worldModel, vocabSize: config.tokenizer.vocabSize,
                                       numActions: config.numActions, rng: &rng)
        try load(model, from: file, prefix: prefix, part: "world model", buffers: worldModelBuffers(model))
        return model
    }

    /// The actor-critic from its state_dict (names under `prefix`).
    public static func actorCritic(numActions: Int, from file: SafeTensorsFile, prefix: String = "") throws -> IRISActorCritic {
        var rng = RandomGenerator(seed: 0)
        let model = try IRISActorCritic(numActions: numActions, rng: &rng)
        try load(model, from: file, prefix: prefix, part: "actor-critic")
        return model
    }

    /// A buffer of the official module that our model computes instead of storing: its shape and values.
    struct Buffer {
        let shape: [Int]
        let values: [Double]
    }

    /// The world model's buffers: each block's attention mask (1 where a query sees a key) and each head's slicer
    /// indices (the positions it reads, block after block).
    static func worldModelBuffers(_ model: IRISWorldModel) -> [String: Buffer] {
        let c = model.config, n = c.maxTokens
        var mask = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<visibleKeys(i, available: n, c.attention, c.tokensPerBlock) { mask[i * n + j] = 1 } }
        var buffers: [String: Buffer] = [:]
        for layer in 0..<c.numLayers { buffers["transformer.blocks.\(layer).attn.mask"] = Buffer(shape: [n, n], values: mask) }
        let read = (0..<n).filter(model.readsObservation).map(Double.init)
        let actions = (0..<n).filter(model.isAction).map(Double.init)
        buffers["head_observations.indices"] = Buffer(shape: [read.count], values: read)
        buffers["head_rewards.indices"] = Buffer(shape: [actions.count], values: actions)
        buffers["head_ends.indices"] = Buffer(shape: [actions.count], values: actions)
        return buffers
    }

    static func list(_ names: [String]) -> String {
        names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", … (\(names.count) in all)" : "")
    }

    /// Copies every tensor of `module` from `file` (named `prefix` + its name) after checking all of them, the
    /// `buffers`, and that nothing under `prefix` (outside `skipping`) is left unused. Nothing is modified unless
    /// everything matches.
    static func load(_ module: Module, from file: SafeTensorsFile, prefix: String, part: String,
                     buffers: [String: Buffer] = [:], skipping: [String] = []) throws {
        var missing: [String] = [], mismatched: [String] = [], used = Set<String>()
        var matched: [(Tensor, String)] = []
        for (name, tensor) in module.namedTensors() {
            let stored = prefix + name
            guard let info = file.info(stored) else { missing.append("\(stored) \(tensor.shape)"); continue }
            used.insert(stored)
            guard info.dtype.isConvertibleToFloat else { mismatched.append("\(stored) is \(info.dtype), not floating point"); continue }
            guard info.shape == tensor.shape else { mismatched.append("\(stored) has shape \(info.shape), the config implies \(tensor.shape)"); continue }
            matched.append((tensor, stored))
        }
        for (name, expected) in buffers.sorted(by: { $0.key < $1.key }) {
            let stored = prefix + name
            guard let info = file.info(stored) else { missing.append("\(stored) \(expected.shape)"); continue }
            used.insert(stored)
            guard info.shape == expected.shape else { mismatched.append("\(stored) has shape \(info.shape), the config implies \(expected.shape)"); continue }
            let values: [Double] = info.dtype.isConvertibleToFloat ? try file.floats(stored).map(Double.init) : try file.ints(stored).map(Double.init)
            if let at = values.indices.first(where: { values[$0] != expected.values[$0] }) {
                mismatched.append("\(stored) holds \(values[at]) at index \(at) where the config implies \(expected.values[at])")
            }
        }
        let unused = file.names.filter { name in
            name.hasPrefix(prefix) && !used.contains(name) && !skipping.contains { name.hasPrefix($0) }
        }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing tensors: \(list(missing))") }
        if !unused.isEmpty { problems.append("unused tensors: \(list(unused))") }
        if !mismatched.isEmpty { problems.append("mismatches: \(list(mismatched))") }
        guard problems.isEmpty else {
            throw IRISError(.tensorMismatch, "official IRIS \(part) checkpoint does not fit the config — " + problems.joined(separator: "; ")
                            + ". Check that the config is the one the checkpoint was trained with.")
        }
        for (tensor, name) in matched {
            try file.readFloats(name, into: UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count))
        }
    }
}
