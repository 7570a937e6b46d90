// reference.safetensors: inputs and what our runtime computes from them, so an ONNX runtime's outputs
// can be compared with ours on the same weights, images and noise (tests/onnx).

import Foundation
import SafeTensors
import SVQEngine
import SVQModels

/// Our outputs for a few seeded inputs, written beside an export.
///
/// | name | shape | dtype | what |
/// |---|---|---|---|
/// | `images` | `[B, C, I, I]` | F32 | inputs, uniform in [0, 1] |
/// | `noise` | `[B, N, S]` | F32 | slot noise, standard normal |
/// | `codes`, `slots`, `attention`, `masks` | | I64 / F32 | `SVQModel.encode(images, noise:)`, `masks` |
/// | `memory` | `[B, N·M, D]` | F32 | `ImageDecoder.memory` of the codes' slots |
/// | `tokens` | `[B, T]` | I64 | greedy `ImageDecoder.decode` |
/// | `decoder_logits` | `[B, T, V]` | F32 | teacher-forced logits given those tokens (= each greedy step's logits) |
/// | `decoder_margins` | `[B, T]` | F32 | top-1 minus top-2 logit at each greedy step |
/// | `image` | `[B, C, I, I]` | F32 | `DVAE.decode(tokens:)` |
/// | `dvae_tokens` | `[B, T]` | I64 | `DVAE.tokens(images)` |
/// | `prior_codes` | `[B, N·M]` | I64 | the codes as global ids (only with a prior) |
/// | `prior_logits` | `[B, N·M, M·P]` | F32 | `SemanticPrior.step` at every position, fed `prior_codes` |
public enum ONNXReference {
    public static let fileName = "reference.safetensors"

    public static func write(model: SVQModel, to url: URL, batch: Int = 2, seed: UInt64 = 0) throws {
        guard batch >= 1 else { throw ONNXExportError("the reference batch must be at least 1, got \(batch)") }
        let c = model.config
        model.train(false)
        var writer = SafeTensorsWriter(metadata: [
            "format": "svq-onnx-reference", "config": ExportedGraph.configJSON(c), "seed": String(seed),
        ])
        func add(_ name: String, _ t: Tensor) throws { try writer.add(name, floats: t.scalars, shape: t.shape) }
        func add(_ name: String, _ t: IntTensor) throws { try writer.add(name, int64s: t.values.map(Int64.init), shape: t.shape) }

        try withoutGradients {
            var rng = RandomGenerator(seed: seed)
            let images = rng.uniform([batch, c.imageChannels, c.imageSize, c.imageSize])
            let noise = model.slotNoise(batch: batch, rng: &rng)
            let enc = model.encode(images, noise: noise)
            try add("images", images)
            try add("noise", noise)
            try add("codes", enc.codes)
            try add("slots", enc.slots)
            try add("attention", enc.attention)
            try add("masks", model.masks(enc))

            let decoder = model.imageDecoder
            let memory = decoder.memory(model.slots(codes: enc.codes))
            let greedy = try decoder.decode(memory: memory, sampling: .greedy, rng: &rng)
            try add("memory", memory)
            try add("tokens", greedy.tokens)
            try add("decoder_logits", decoder.logits(tokens: greedy.tokens, memory: memory))
            try add("decoder_margins", greedy.margins)
            try add("image", model.dvae.decode(tokens: greedy.tokens))
            try add("dvae_tokens", model.dvae.tokens(images))

            if let prior = model.prior {
                let global = c.globalCodes(local: enc.codes)                          // [B, N·M]
                let total = c.codesPerImage, vocab = c.globalCodeCount
                let state = prior.makeDecodingState(batch: batch)
                let logits = Tensor(zeros: [batch, total, vocab])
                for t in 0..<total {
                    let previous = t == 0 ? nil : IntTensor((0..<batch).map { global.values[$0 * total + t - 1] }, shape: [batch])
                    let step = prior.step(state, previousCodes: previous)                  // [B, M·P]
                    for i in 0..<batch {
                        (logits.data + (i * total + t) * vocab).update(from: step.data + i * vocab, count: vocab)
                    }
                }
                try add("prior_codes", global)
                try add("prior_logits", logits)
            }
        }
        do { try writer.write(to: url) } catch {
            throw ONNXExportError("cannot write \(url.path): \(error)")
        }
    }
}
