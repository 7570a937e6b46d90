// The IRIS world model: a minGPT transformer over blocks of `tokens_per_block` tokens (a frame's tokens, then the
// action), with learned positions, separate embedding tables for actions and frame tokens, and three heads read
// at the positions the official slicer selects: the next frame token everywhere but at each block's last frame
// token, the reward sign (3 classes) and termination (2 classes) at each action. Fed whole (training) or
// through a key/value cache continuing a prefix already seen (imagination). Property names are the official
// state_dict's.

import SVQEngine
import SVQNN

/// Linear → activation → Linear, named as the official `nn.Sequential` (`0`, `2`) it replaces.
public final class IRISTwoLayerPerceptron: Module {
    public let first: Linear
    public let second: Linear
    let activation: (Tensor) -> Tensor

    init(_ inFeatures: Int, _ hidden: Int, _ outFeatures: Int, activation: @escaping (Tensor) -> Tensor, rng: inout RandomGenerator) {
        first = Linear(inFeatures, hidden, weightInit: .zeros, rng: &rng)
        second = Linear(hidden, outFeatures, weightInit: .zeros, rng: &rng)
        // The official init_weights: N(0, 0.02) weights, zero biases.
        first.weight.assign(rng.normal([hidden, inFeatures], std: 0.02))
        second.weight.assign(rng.normal([outFeatures, hidden], std: 0.02))
        self.activation = activation
    }

    public override func namedChildren() -> [(name: String, module: Module)] { [("0", first), ("2", second)] }

    func callAsFunction(_ x: Tensor) -> Tensor { second(activation(first(x))) }
}

/// Causal (or block-causal) multi-head self-attention with biased `query`, `key`, `value` and `proj`.
public final class IRISSelfAttention: Module {
    public let key: Linear
    public let query: Linear
    public let value: Linear
    public let proj: Linear
    let heads: Int

    init(_ config: IRISWorldModelConfig, rng: inout RandomGenerator) {
        let d = config.embedDim
        func make() -> Linear {
            let l = Linear(d, d, weightInit: .zeros, rng: &rng)
            l.weight.assign(rng.normal([d, d], std: 0.02))
            return l
        }
        (key, query, value, proj, heads) = (make(), make(), make(), make(), config.numHeads)
    }

    /// `x` `[B, n, D]` at positions `prev ..< prev + n`; `visible(p, available)` is how many keys position p sees
    /// when `available` are stored. Through `cache` (inference) the keys and values are stored in it first.
    func callAsFunction(_ x: Tensor, layer: Int, cache: KeyValueCache?, pattern: IRISAttention, tokensPerBlock: Int,
                        dropout: Dropout?, attentionDropout: Float) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let q = query(x), k = key(x), v = value(x)
        let attended: Tensor
        if let cache {
            let prev = cache.length
            cache.store(layer: layer, keys: k, values: v, count: n)
            attended = cache.attend(layer: layer, queries: q,
                                    visiblePositions: (prev..<(prev + n)).map { visibleKeys($0, available: prev + n, pattern, tokensPerBlock) })
        } else {
            func split(_ t: Tensor) -> Tensor { t.reshaped([b, n, heads, d / heads]).permuted([0, 2, 1, 3]) }
            var mask: Tensor? = nil
            if pattern == .blockCausal {
                let m = Tensor(zeros: [n, n])
                for i in 0..<n { for j in visibleKeys(i, available: n, pattern, tokensPerBlock)..<n { m.data[i * n + j] = -.infinity } }
                mask = m
            }
            // The attention's dropout draws from the pass's stream at the attention probability.
            let attentionDrop = dropout.map { Dropout(p: attentionDropout, rng: $0.rng) }
            let y = multiHeadAttention(split(q), split(k), split(v), causal: true, additiveMask: mask, dropout: attentionDrop)
            if let attentionDrop { dropout!.rng = attentionDrop.rng }
            attended = y.permuted([0, 2, 1, 3]).reshaped([b, n, d])
        }
        let out = proj(attended)
        return dropout?.drop(out, p: dropout!.p) ?? out
    }
}

/// Keys that the query at position `p` sees when positions `0 ..< available` are stored (the official mask's
/// row p, cut at `available`).
func visibleKeys(_ p: Int, available: Int, _ pattern: IRISAttention, _ tokensPerBlock: Int) -> Int {
    switch pattern {
    case .causal: return p + 1
    case .blockCausal: return min(available, (p / tokensPerBlock + 1) * tokensPerBlock)
    }
}

/// Pre-LN minGPT block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))` with a GELU MLP of 4·D.
public final class IRISBlock: Module {
    public let ln1: LayerNorm
    public let ln2: LayerNorm
    public let attn: IRISSelfAttention
    public let mlp: IRISTwoLayerPerceptron

    init(_ config: IRISWorldModelConfig, rng: inout RandomGenerator) {
        ln1 = LayerNorm(config.embedDim)
        ln2 = LayerNorm(config.embedDim)
        attn = IRISSelfAttention(config, rng: &rng)
        mlp = IRISTwoLayerPerceptron(config.embedDim, 4 * config.embedDim, config.embedDim, activation: { $0.gelu() }, rng: &rng)
    }
}

/// The blocks and the final LayerNorm (`ln_f`).
public final class IRISTransformer: Module {
    public let blocks: [IRISBlock]
    public let lnF: LayerNorm

    init(_ config: IRISWorldModelConfig, rng: inout RandomGenerator) {
        blocks = (0..<config.numLayers).map { _ in IRISBlock(config, rng: &rng) }
        lnF = LayerNorm(config.embedDim)
    }
}

/// The two token tables: `embedding_tables.0` for actions, `embedding_tables.1` for frame tokens.
public final class IRISEmbedder: Module {
    public let embeddingTables: [Embedding]

    init(actions: Int, vocabulary: Int, dim: Int, rng: inout RandomGenerator) {
        embeddingTables = [Embedding(actions, dim, rng: &rng), Embedding(vocabulary, dim, rng: &rng)]
        for table in embeddingTables { table.weight.assign(rng.normal(table.weight.shape, std: 0.02)) }
    }
}

/// A head's network (`head_module`): Linear → ReLU → Linear.
public final class IRISHead: Module {
    public let headModule: IRISTwoLayerPerceptron

    init(dim: Int, classes: Int, rng: inout RandomGenerator) {
        headModule = IRISTwoLayerPerceptron(dim, dim, classes, activation: { $0.relu() }, rng: &rng)
    }
}

/// The world model: tokens → next-frame-token, reward and termination logits.
public final class IRISWorldModel: Module {
    public let config: IRISWorldModelConfig
    public let numActions: Int
    public let vocabSize: Int
    public let transformer: IRISTransformer
    public let posEmb: Embedding
    public let embedder: IRISEmbedder
    public let headObservations: IRISHead
    public let headRewards: IRISHead
    public let headEnds: IRISHead

    /// A randomly initialised world model (the official init_weights: N(0, 0.02), zero biases, unit LayerNorms).
    public init(config: IRISWorldModelConfig, vocabSize: Int, numActions: Int, rng: inout RandomGenerator) throws {
        try config.validate()
        guard vocabSize >= 1, numActions >= 1 else {
            throw IRISError(.invalidConfig, "invalid IRIS world model: vocabulary \(vocabSize) and actions \(numActions) must be positive")
        }
        (self.config, self.vocabSize, self.numActions) = (config, vocabSize, numActions)
        let d = config.embedDim
        transformer = IRISTransformer(config, rng: &rng)
        posEmb = Embedding(config.maxTokens, d, rng: &rng)
        posEmb.weight.assign(rng.normal(posEmb.weight.shape, std: 0.02))
        embedder = IRISEmbedder(actions: numActions, vocabulary: vocabSize, dim: d, rng: &rng)
        headObservations = IRISHead(dim: d, classes: vocabSize, rng: &rng)
        headRewards = IRISHead(dim: d, classes: 3, rng: &rng)
        headEnds = IRISHead(dim: d, classes: 2, rng: &rng)
    }

    /// Frame tokens per block (the block's last token is the action).
    public var tokensPerFrame: Int { config.tokensPerBlock - 1 }

    /// Whether position `p` holds an action (the last of its block).
    func isAction(_ p: Int) -> Bool { p % config.tokensPerBlock == config.tokensPerBlock - 1 }

    /// Positions the observation head reads (official slicer): all but each block's last frame token.
    func readsObservation(_ p: Int) -> Bool { p % config.tokensPerBlock != config.tokensPerBlock - 2 }

    /// An empty key/value cache for `batch` sequences of up to `max_tokens` positions.
    public func makeCache(batch: Int) -> KeyValueCache {
        KeyValueCache(layers: config.numLayers, batch: batch, heads: config.numHeads,
                      headDim: config.embedDim / config.numHeads, capacity: config.maxTokens)
    }

    /// What a pass gives, for the `n` positions fed (`prev ..< prev + n`).
    public struct Output {
        /// `[B, n, embed_dim]`, after the final LayerNorm.
        public let outputSequence: Tensor
        /// `[B, positions read, vocab]`: at every fed position but each block's last frame token.
        public let logitsObservations: Tensor
        /// `[B, actions fed, 3]`: reward sign − 1, 0, +1, at each action position.
        public let logitsRewards: Tensor
        /// `[B, actions fed, 2]`: whether the episode ends, at each action position.
        public let logitsEnds: Tensor
    }

    /// Runs `tokens` `[B, n]`: per block, the frame's tokens then the action. Without `cache` the tokens start
    /// at position 0; with one (inference: nothing recorded) they continue the `cache.length` positions it holds,
    /// and their keys and values are added to it. `dropout` (training) carries the pass's random stream; the
    /// probabilities are the config's (`embed_pdrop`, `attn_pdrop`, `resid_pdrop`).
    /// - Throws: `.invalidInput` for a token or action out of range, a sequence past `max_tokens`, or a cache of
    ///   another shape.
    public func callAsFunction(_ tokens: IntTensor, cache: KeyValueCache? = nil, dropout: Dropout? = nil) throws -> Output {
        guard tokens.shape.count == 2, tokens.shape[0] >= 1, tokens.shape[1] >= 1 else {
            throw IRISError(.invalidInput, "IRIS world model: tokens must be [batch, positions], both at least 1, got \(tokens.shape)")
        }
        let (b, n) = (tokens.shape[0], tokens.shape[1])
        let prev = cache?.length ?? 0
        if let cache {
            guard cache.batch == b, cache.layers == config.numLayers, cache.heads == config.numHeads,
                  cache.width == config.embedDim, cache.capacity >= config.maxTokens else {
                throw IRISError(.invalidInput, "IRIS world model: the key/value cache (batch \(cache.batch), \(cache.layers) layers, \(cache.heads) heads, width \(cache.width)) was not made by makeCache(batch: \(b))")
            }
        }
        guard prev + n <= config.maxTokens else {
            throw IRISError(.invalidInput, "IRIS world model: positions \(prev)..<\(prev + n) pass the context of \(config.maxTokens) tokens (\(config.maxBlocks) blocks)")
        }
        for s in 0..<b {
            for i in 0..<n {
                let token = Int(tokens.values[s * n + i]), p = prev + i
                let limit = isAction(p) ? numActions : vocabSize
                guard token >= 0 && token < limit else {
                    throw IRISError(.invalidInput, "IRIS world model: \(isAction(p) ? "action" : "frame token") \(token) at position \(p) of sequence \(s) is outside 0..<\(limit)")
                }
            }
        }

        var x = embed(tokens, prev: prev) + posEmb.weight.narrowFirst(prev, n)
        if let dropout { x = dropout.drop(x, p: config.embedPdrop) }
        let residualDropout = dropout.map { Dropout(p: config.residPdrop, rng: $0.rng) }
        for (layer, block) in transformer.blocks.enumerated() {
            x = x + block.attn(block.ln1(x), layer: layer, cache: cache, pattern: config.attention,
                               tokensPerBlock: config.tokensPerBlock, dropout: residualDropout,
                               attentionDropout: config.attnPdrop)
            let f = block.mlp(block.ln2(x))
            x = x + (residualDropout?(f) ?? f)
        }
        if let residualDropout { dropout!.rng = residualDropout.rng }
        cache?.advance(by: n)
        let out = transformer.lnF(x)
        let positions = prev..<(prev + n)
        return Output(outputSequence: out,
                      logitsObservations: head(headObservations, out, positions.filter(readsObservation).map { $0 - prev }),
                      logitsRewards: head(headRewards, out, positions.filter(isAction).map { $0 - prev }),
                      logitsEnds: head(headEnds, out, positions.filter(isAction).map { $0 - prev }))
    }

    /// Rows of the token tables for `tokens` at positions `prev ...`: actions from table 0, frame tokens from
    /// table 1. Recorded: the gradient adds into the rows used.
    func embed(_ tokens: IntTensor, prev: Int) -> Tensor {
        let (b, n, d) = (tokens.shape[0], tokens.shape[1], config.embedDim)
        let actions = embedder.embeddingTables[0].weight, frames = embedder.embeddingTables[1].weight
        let out = Tensor(zeros: [b, n, d], zeroed: false)
        for r in 0..<(b * n) {
            let table = isAction(prev + r % n) ? actions : frames
            (out.data + r * d).update(from: table.data + Int(tokens.values[r]) * d, count: d)
        }
        Tensor.recordOp(output: out, inputs: [actions, frames]) { [isAction] g in
            let gradients = [Tensor(zeros: actions.shape), Tensor(zeros: frames.shape)]
            for r in 0..<(b * n) {
                let row = gradients[isAction(prev + r % n) ? 0 : 1].data + Int(tokens.values[r]) * d, src = g.data + r * d
                for j in 0..<d { row[j] += src[j] }
            }
            return gradients
        }
        return out
    }

    /// `head` applied to the rows `offsets` of each sequence of `x` `[B, n, D]` → `[B, offsets.count, classes]`.
    func head(_ head: IRISHead, _ x: Tensor, _ offsets: [Int]) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let classes = head.headModule.second.outFeatures
        guard !offsets.isEmpty else { return Tensor(zeros: [b, 0, classes]) }
        let rows = IntTensor((0..<b).flatMap { s in offsets.map { s * n + $0 } }, shape: [b, offsets.count])
        return head.headModule(embedding(rows, table: x.reshaped([b * n, d])))
    }

    /// The official `compute_loss` on a batch of `B` segments of `T` steps: frame tokens `[B, T, K]`, actions,
    /// rewards (their sign is the label), ends (0/1) and `maskPadding` (false marks a padded step, whose labels are
    /// ignored), each `[B, T]`. Returns the three mean cross-entropies (next frame token, reward, end).
    public func losses(frameTokens: IntTensor, actions: IntTensor, rewards: [Float], ends: [Int], maskPadding: [Bool],
                       dropout: Dropout? = nil) throws -> (observations: Tensor, rewards: Tensor, ends: Tensor) {
        let k = tokensPerFrame
        guard frameTokens.shape.count == 3, frameTokens.shape[2] == k else {
            throw IRISError(.invalidInput, "IRIS world model loss: frame tokens must be [batch, steps, \(k)], got \(frameTokens.shape)")
        }
        let (b, t) = (frameTokens.shape[0], frameTokens.shape[1])
        guard actions.shape == [b, t], rewards.count == b * t, ends.count == b * t, maskPadding.count == b * t else {
            throw IRISError(.invalidInput, "IRIS world model loss: actions \(actions.shape), \(rewards.count) rewards, \(ends.count) ends and \(maskPadding.count) padding flags must each be [\(b), \(t)]")
        }
        guard ends.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw IRISError(.invalidInput, "IRIS world model loss: ends must be 0 or 1") }
        var sequence = [Int32]()
        sequence.reserveCapacity(b * t * (k + 1))
        for s in 0..<b {
            for step in 0..<t {
                sequence += frameTokens.values[((s * t + step) * k)..<((s * t + step + 1) * k)]
                sequence.append(actions.values[s * t + step])
            }
        }
        let output = try self(IntTensor(sequence, shape: [b, t * (k + 1)]), dropout: dropout)

        // Next-frame tokens: the logit at read position j predicts frame token j + 1 of the flattened [T·K]
        // tokens (the last read position has nothing to predict); labels of padded steps are ignored.
        var rows: [Int] = [], targets: [Int32] = []
        for s in 0..<b {
            for j in 0..<(t * k - 1) where maskPadding[s * t + (j + 1) / k] {
                rows.append(s * t * k + j)
                targets.append(frameTokens.values[s * t * k + j + 1])
            }
        }
        let observationLogits = output.logitsObservations.reshaped([b * t * k, vocabSize])
        let observations = crossEntropy(embedding(IntTensor(rows, shape: [rows.count]), table: observationLogits),
                                        targets: IntTensor(targets, shape: [targets.count]))
        let kept = (0..<(b * t)).filter { maskPadding[$0] }
        let keptRows = IntTensor(kept, shape: [kept.count])
        let rewardLabels = IntTensor(kept.map { Int32(rewards[$0] > 0 ? 2 : (rewards[$0] < 0 ? 0 : 1)) }, shape: [kept.count])
        let endLabels = IntTensor(kept.map { Int32(ends[$0]) }, shape: [kept.count])
        return (observations,
                crossEntropy(embedding(keptRows, table: output.logitsRewards.reshaped([b * t, 3])), targets: rewardLabels),
                crossEntropy(embedding(keptRows, table: output.logitsEnds.reshaped([b * t, 2])), targets: endLabels))
    }
}
