// Our weights format (safetensors whose metadata holds "format": "svq", a "format_version" and the config as
// JSON; one tensor per named model tensor, docs/weights.md) and the one loader of untrusted files: model
// files, and the model inside a training checkpoint.
//
// A model is built from its config before the file's tensors can be compared with it, so a hostile config
// ("numDecoderLayers": 1e9) could make construction allocate without bound or overflow an Int. The loader
// therefore validates the config (which overflow-checks every product of sizes) and counts, from the sizes
// alone, the tensors and values the model will have (`SVQConfig.tensorTally`). A file that loads holds every
// one of them, so a config that implies more than twice the tensors or values the file holds is refused
// before anything is allocated (the slack lets the strict load name the tensors a damaged file lacks):
// construction then allocates a small multiple of the file's tensors (the only other thing it builds, the
// encoder's F·F position grid, is at most 64 times the decoder's positions [T, D]), and never more than
// `maxValueCount` values. The strict load then checks every name, type and shape, and every value must be
// finite.

import Foundation
import SafeTensors
import SVQEngine
import SVQNN

extension SVQModel {
    /// Version of our weights format, stored as `format_version` in the file metadata.
    public static let formatVersion = "1"

    /// The most values a model's tensors may hold together: far above any SVQ model (the official default
    /// holds about 62 million), it bounds what a file read from disk tensor by tensor (perhaps a sparse file
    /// of any size) can make construction allocate.
    public static let maxValueCount = 1 << 32

    /// The metadata our weights files carry: format, version and the full config as JSON; and
    /// "prior_trained": "false" when the model has a prior that was never trained. (Files without the key,
    /// all those written before it, have a trained prior: the bundled model, `svq train-prior` output.)
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: (try? encoder.encode(config)) ?? Data(), as: UTF8.self)
        var metadata = ["format": "svq", "format_version": Self.formatVersion, "config": json]
        if prior != nil && !priorTrained { metadata[Self.priorTrainedKey] = "false" }
        return metadata
    }

    /// The metadata key that marks an untrained prior.
    public static let priorTrainedKey = "prior_trained"

    /// Writes the model in our weights format, atomically.
    public func save(to url: URL) throws { try saveWeights(to: url, metadata: metadata) }

    /// Writes the model in our weights format with `codeLegend` in its metadata, atomically.
    public func save(to url: URL, codeLegend: CodeLegend) throws {
        var withLegend = metadata
        withLegend[CodeLegend.metadataKey] = String(decoding: try codeLegend.jsonData(pretty: false), as: UTF8.self)
        try saveWeights(to: url, metadata: withLegend)
    }

    /// The model in our weights format, as bytes.
    public func serialized() throws -> Data { try weightsData(metadata: metadata) }

    /// Loads a file in our weights format (written by `save(to:)` or the converter), whatever its source:
    /// checks the format and version, reads the config, then loads as `init(config:file:prefix:)`.
    /// - Throws: `SVQModelError` (`.unsupported` for another format or version), or `SafeTensorsError` if a
    ///   tensor cannot be read.
    public convenience init(file: SafeTensorsFile) throws {
        guard file.metadata["format"] == "svq" else {
            throw SVQModelError(.unsupported, "not an SVQ weights file (its metadata has no \"format\": \"svq\")")
        }
        guard file.metadata["format_version"] == Self.formatVersion else {
            throw SVQModelError(.unsupported, "SVQ weights format version \(file.metadata["format_version"] ?? "none") is not supported (this library reads version \(Self.formatVersion))")
        }
        try self.init(config: try SVQConfig(metadata: file.metadata), file: file)
    }

    public convenience init(contentsOf url: URL) throws {
        try self.init(file: try SafeTensorsFile(contentsOf: url))
    }

    /// A model of `config` with every tensor read from `file`, where it is named `prefix` + its name (a
    /// checkpoint keeps the model under "model."); other tensors under `prefix` are an error. Safe for any
    /// file and config (see the top of this file). The model comes back as `init(config:rng:)` makes it.
    /// - Throws: `SVQModelError` — `.invalidConfig`, `.tensorMismatch` (also when the config implies far
    ///   more tensors or values than the file holds), `.nonFiniteWeights` — or `SafeTensorsError` if a
    ///   tensor cannot be read.
    public convenience init(config: SVQConfig, file: SafeTensorsFile, prefix: String = "") throws {
        try config.validate()
        guard let implied = config.tensorTally else { preconditionFailure("validate() guarantees a tally") }
        guard implied.values <= Self.maxValueCount else {
            throw SVQModelError(.invalidConfig, "the config implies \(implied.values) weight values, more than the \(Self.maxValueCount) an SVQ model may have")
        }
        let stored = file.tensors.filter { $0.name.hasPrefix(prefix) }
        let held = stored.reduce(0) { $0 + $1.elementCount }   // at most the file's size in bytes
        guard implied.tensors <= 2 * stored.count && implied.values <= 2 * held else {
            throw SVQModelError(.tensorMismatch, "the config implies \(implied.tensors) tensors of \(implied.values) values in all, far more than the file's \(stored.count) tensors of \(held) values")
        }
        var placeholder = RandomGenerator.placeholder   // every value is read from the file next
        try self.init(config: config, rng: &placeholder)
        let tensors = namedTensors()   // once: naming walks the modules by reflection, a large part of a load
        do { try loadTensors(tensors, from: file, prefix: prefix) } catch let mismatch as WeightsMismatchError {
            throw SVQModelError(.tensorMismatch, mismatch.description)
        }
        priorTrained = prior != nil && file.metadata[Self.priorTrainedKey] != "false"
        for (name, tensor) in tensors {
            let p = tensor.data
            for i in 0..<tensor.count where !p[i].isFinite {
                throw SVQModelError(.nonFiniteWeights, "tensor \(prefix + name) holds a non-finite value (\(p[i])) at index \(i)")
            }
        }
    }
}

extension SVQConfig {
    /// The config a weights file or checkpoint carries as JSON under "config" in its metadata, validated.
    /// - Throws: `SVQModelError` of kind `.invalidConfig`.
    public init(metadata: [String: String]) throws {
        guard let json = metadata["config"] else {
            throw SVQModelError(.invalidConfig, "the file has no \"config\" in its metadata")
        }
        do { self = try JSONDecoder().decode(SVQConfig.self, from: Data(json.utf8)) } catch {
            throw SVQModelError(.invalidConfig, "the config in the file is not valid: \(describe(error))")
        }
        try validate()
    }

    /// How many named tensors (parameters and buffers: every name a weights file must hold) a model of this
    /// config has, and how many values they hold together, counted from the sizes alone, before anything
    /// is allocated. Nil if a size is not positive or a count overflows an Int. Tests pin it to the model's
    /// `namedTensors()`.
    public var tensorTally: (tensors: Int, values: Int)? {
        guard let t = try? countTensors() else { return nil }
        return (t.tensors, t.values)
    }

    /// Mirrors the modules' initialisers, component by component, in their order.
    private func countTensors() throws -> TensorTally {
        let sizes = [imageSize, imageChannels, dvaeHiddenSize, vocabSize, cnnHiddenSize, dModel, slotSize, numBlocks,
                     numSlots, numPrototypes, mlpHiddenSize, numDecoderLayers, prior?.dModel ?? 1, prior?.numLayers ?? 1]
        guard sizes.allSatisfy({ $0 > 0 }) else { throw TensorTally.Overflow() }
        var t = TensorTally()
        let product = TensorTally.product
        let c = imageChannels, h = dvaeHiddenSize, v = vocabSize, cc = cnnHiddenSize, d = dModel
        let s = slotSize, m = numBlocks, w = blockSize, n = numSlots, p = numPrototypes

        // dVAE: encoder (4×4 patch conv, six 1×1), encoder_out, decoder_in, two up stages, decoder_out.
        try t.conv(c, h, kernel: 4)
        for _ in 0..<6 { try t.conv(h, h, kernel: 1) }
        try t.conv(h, v, kernel: 1)
        try t.conv(v, h, kernel: 1)
        for _ in 0..<2 {
            try t.conv(h, h, kernel: 3)
            try t.conv(h, h, kernel: 1)
            try t.conv(h, h, kernel: 1)
            try t.conv(h, try product([4, h]), kernel: 1)
        }
        try t.conv(h, c, kernel: 1)

        // Image encoder: four 5×5 convs, position projection, layer norm, two-layer MLP.
        try t.conv(c, cc, kernel: 5)
        try t.conv(cc, cc, kernel: 5)
        try t.conv(cc, cc, kernel: 5)
        try t.conv(cc, d, kernel: 5)
        try t.linear(4, d)
        try t.layerNorm(d)
        try t.linear(d, d)
        try t.linear(d, d)

        // Slot attention: initial slots, norms, q/k/v, block GRU, block MLP, quantizer (codebooks, EMA buffers).
        switch slotInit {
        case .random:
            try t.tensor(s)
            try t.tensor(s)
        case .learned:
            try t.tensor(n, s)
        }
        try t.layerNorm(d)
        try t.layerNorm(s)
        try t.linear(s, s, bias: false)
        try t.linear(d, s, bias: false)
        try t.linear(d, s, bias: false)
        let gates = try product([3, w])
        try t.tensor(m, gates, w)
        try t.tensor(m, gates, w)
        try t.tensor(m, gates)
        try t.tensor(m, gates)
        try t.blockLinear(s, mlpHiddenSize, blocks: m)
        try t.blockLinear(mlpHiddenSize, s, blocks: m)
        try t.tensor(m, p, w)
        try t.tensor(m, p, w)
        try t.tensor(m, p)

        // Image decoder: slot projection, block positions and their MLP, the one-block coupler, token
        // embedding, bos, positions, the transformer, the head.
        let md = try product([m, d])
        try t.blockLinear(s, md, blocks: m)
        try t.tensor(md)
        try t.blockLinear(md, md, blocks: m)
        try t.blockLinear(md, md, blocks: m)
        var couplerBlock = TensorTally()
        try couplerBlock.layerNorm(d)
        try couplerBlock.attention(d)
        try couplerBlock.layerNorm(d)
        try couplerBlock.feedForward(d)
        try t.add(couplerBlock, times: 1)
        try t.layerNorm(d)
        try t.tensor(v, d)
        try t.tensor(d)
        try t.tensor(try product([tokenGridSize, tokenGridSize]), d)
        var decoderBlock = TensorTally()
        for _ in 0..<2 {
            try decoderBlock.layerNorm(d)
            try decoderBlock.attention(d)
        }
        try decoderBlock.layerNorm(d)
        try decoderBlock.feedForward(d)
        try t.add(decoderBlock, times: numDecoderLayers)
        try t.layerNorm(d)
        try t.linear(d, v, bias: false)

        // Semantic prior: bos, positions, code embedding, the post-LN layers, the head.
        if let prior {
            let pd = prior.dModel, codes = try product([m, p])
            try t.tensor(pd)
            try t.tensor(try product([n, m]), pd)
            try t.tensor(codes, pd)
            var layer = TensorTally()
            try layer.linear(pd, try product([3, pd]))
            try layer.linear(pd, pd)
            try layer.layerNorm(pd)
            try layer.linear(pd, try product([4, pd]))
            try layer.linear(try product([4, pd]), pd)
            try layer.layerNorm(pd)
            try t.add(layer, times: prior.numLayers)
            try t.linear(pd, codes, bias: false)
        }
        return t
    }
}

/// Tensors and their values, counted with overflow-checked arithmetic: a hostile config must fail, not trap.
private struct TensorTally {
    private(set) var tensors = 0
    private(set) var values = 0

    /// A count that does not fit in an Int (or sizes that cannot be counted).
    struct Overflow: Error {}

    static func product(_ xs: [Int]) throws -> Int {
        try xs.reduce(1) { try checked($0.multipliedReportingOverflow(by: $1)) }
    }

    private static func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> Int {
        guard !result.overflow else { throw Overflow() }
        return result.partialValue
    }

    /// One tensor of `shape`.
    mutating func tensor(_ shape: Int...) throws {
        try add(tensors: 1, values: try Self.product(shape))
    }

    /// `count` copies of `part` (the layers of a stack).
    mutating func add(_ part: TensorTally, times count: Int) throws {
        try add(tensors: try Self.product([part.tensors, count]), values: try Self.product([part.values, count]))
    }

    private mutating func add(tensors t: Int, values v: Int) throws {
        tensors = try Self.checked(tensors.addingReportingOverflow(t))
        values = try Self.checked(values.addingReportingOverflow(v))
    }

    // The layers of SVQNN and the model, as their initialisers build them.
    mutating func linear(_ inputs: Int, _ outputs: Int, bias: Bool = true) throws {
        try tensor(outputs, inputs)
        if bias { try tensor(outputs) }
    }

    mutating func conv(_ inputs: Int, _ outputs: Int, kernel: Int) throws {
        try tensor(outputs, inputs, kernel, kernel)
        try tensor(outputs)
    }

    mutating func layerNorm(_ features: Int) throws {
        try tensor(features)
        try tensor(features)
    }

    mutating func blockLinear(_ inputs: Int, _ outputs: Int, blocks: Int) throws {
        try tensor(blocks, inputs / blocks, outputs / blocks)
        try tensor(outputs)
    }

    /// `MultiHeadAttention`: four bias-free [D, D] projections.
    mutating func attention(_ d: Int) throws {
        for _ in 0..<4 { try linear(d, d, bias: false) }
    }

    /// `FeedForward`: D → 4D → D with biases.
    mutating func feedForward(_ d: Int) throws {
        let hidden = try Self.product([4, d])
        try linear(d, hidden)
        try linear(hidden, d)
    }
}
