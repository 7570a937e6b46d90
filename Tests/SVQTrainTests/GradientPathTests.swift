// Which losses reach which parameters. The encoder learns objects only through the decoder's cross-entropy,
// carried past the quantizer by the straight-through estimator: if that path broke, training would still
// run, the commitment loss would still pull the slots to their codes, and nothing else would fail.

import SVQEngine
import SVQModels
import XCTest

final class GradientPathTests: XCTestCase {
    /// The parameters with a non-zero gradient after `loss(model)` is back-propagated.
    private func parametersReached(_ loss: (SVQModel, inout RandomGenerator) -> Tensor) throws -> (reached: Set<String>, all: [String]) {
        var rng = RandomGenerator(seed: 11)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        model.train(true)
        loss(model, &rng).backward()
        var reached = Set<String>()
        for (name, t) in model.namedParameters() {
            if let g = t.grad, (0..<g.count).contains(where: { g.data[$0] != 0 }) { reached.insert(name) }
        }
        return (reached, model.namedParameters().map(\.name))
    }

    private func batch() -> Tensor {
        squaresDataset().batch([0, 5, 10, 3])
    }

    func testCrossEntropyReachesEveryEncoderParameterThroughTheQuantizer() throws {
        let images = batch()
        let (reached, all) = try parametersReached { model, rng in
            let (_, tokens) = model.dvae.gumbelSample(images, temperature: 1, rng: &rng)
            let noise = model.slotNoise(batch: 4, rng: &rng)
            let encoded = model.slotAttention(model.imageEncoder(images), noise: noise)
            let logits = model.imageDecoder.logits(tokens: tokens, memory: model.imageDecoder.memory(encoded.slots))
            return crossEntropy(logits, targets: tokens, reduction: .sum)
        }
        let encoder = all.filter { $0.hasPrefix("image_encoder.") || $0.hasPrefix("slot_attention.") }
        XCTAssertFalse(encoder.isEmpty)
        XCTAssertEqual(encoder.filter { !reached.contains($0) }, [], "encoder parameters the cross-entropy does not reach")
        // The block-position MLP starts dead, as in the official code: its input `block_pos` and the first
        // layer's bias are zeros, so ReLU(0) passes no gradient back and its output is the second layer's bias
        // alone (a learned vector per block). Every other decoder parameter learns.
        let decoder = all.filter { $0.hasPrefix("image_decoder.") }
        XCTAssertEqual(decoder.filter { !reached.contains($0) },
                       ["image_decoder.block_position", "image_decoder.block_position_mlp1.weight",
                        "image_decoder.block_position_mlp1.bias", "image_decoder.block_position_mlp2.weight"],
                       "decoder parameters the cross-entropy does not reach")
        // The decoder's targets are hard tokens: no gradient may flow into the dVAE from the cross-entropy.
        XCTAssertEqual(all.filter { $0.hasPrefix("dvae.") && reached.contains($0) }, [])
    }

    func testCommitmentReachesTheEncoderOnly() throws {
        let images = batch()
        let (reached, all) = try parametersReached { model, rng in
            let noise = model.slotNoise(batch: 4, rng: &rng)
            return model.slotAttention(model.imageEncoder(images), noise: noise).commitment
        }
        XCTAssertTrue(reached.contains { $0.hasPrefix("slot_attention.") })
        XCTAssertEqual(all.filter { ($0.hasPrefix("image_decoder.") || $0.hasPrefix("dvae.")) && reached.contains($0) }, [])
    }
}
