// The dVAE against the official code's golden tensors, plus shapes, gradients and import errors.

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQNN
import SVQModels
import SVQTestSupport

final class DVAETests: XCTestCase {
    private func goldenDVAE() throws -> DVAE {
        var rng = RandomGenerator(seed: 1)
        let dvae = DVAE(config: Golden.config, rng: &rng)
        try dvae.loadOfficial(Golden.svqStateDict)
        dvae.freeze()
        return dvae
    }

    func testGoldenLogProbsTokensAndDecode() throws {
        let dvae = try goldenDVAE()
        let images = Golden.tensor("images_nchw")

        let logProbs = dvae.logProbs(images)
        XCTAssertEqual(logProbs.shape, [2, 32, 16, 16])
        assertMatchesGolden(logProbs, "dvae_log_probs", tol: 1e-4)

        let expectedTokens = Golden.ints("dvae_tokens")
        let tokens = dvae.tokens(images)
        XCTAssertEqual(tokens.shape, [2, 256])
        XCTAssertEqual(tokens.values, expectedTokens.values, "dVAE tokens differ from the official argmax")

        let decoded = dvae.decode(tokens: expectedTokens)
        XCTAssertEqual(decoded.shape, [2, 3, 64, 64])
        assertMatchesGolden(decoded, "dvae_decode_of_tokens", tol: 1e-4)
    }

    /// The inference fast path of `decode(tokens:)` (weight-column gather, in-place ReLU and clamp) against the
    /// generic recorded path (one-hot through the conv), on a 128-px config with random weights.
    func testConfig128ShapesAndFastDecodeMatchesOneHotPath() {
        var config = SVQConfig.goldenTiny
        config.imageSize = 128
        var rng = RandomGenerator(seed: 7)
        let dvae = DVAE(config: config, rng: &rng)
        let images = rng.uniform([2, 3, 128, 128])

        XCTAssertEqual(dvae.logits(images).shape, [2, 32, 32, 32])
        let tokens = dvae.tokens(images)
        XCTAssertEqual(tokens.shape, [2, 1024])
        XCTAssert(tokens.values.allSatisfy { $0 >= 0 && $0 < 32 })

        let fast = withoutGradients { dvae.decode(tokens: tokens) }   // gather path
        XCTAssertEqual(fast.shape, [2, 3, 128, 128])
        XCTAssert(fast.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })

        let slow = dvae.decode(tokens: tokens)                        // parameters require grad: one-hot conv path
        XCTAssert(slow.requiresGrad)
        var worst: Float = 0
        for i in 0..<fast.count { worst = max(worst, abs(fast.data[i] - slow.data[i])) }
        XCTAssertLessThanOrEqual(worst, 1e-5)

        // The same through `decode(distribution:)` of the one-hot, clamped by hand.
        let onehot = oneHot(tokens, classes: 32).reshaped([2, 32, 32, 32]).permuted([0, 3, 1, 2])
        let viaDistribution = withoutGradients { dvae.decode(distribution: onehot).clamped(min: 0, max: 1) }
        XCTAssertEqual(viaDistribution.shape, [2, 3, 128, 128])
        worst = 0
        for i in 0..<fast.count { worst = max(worst, abs(fast.data[i] - viaDistribution.data[i])) }
        XCTAssertLessThanOrEqual(worst, 1e-5)

        // Tokens also decode from an explicit [B, h, w] grid.
        XCTAssertEqual(withoutGradients { dvae.decode(tokens: tokens.reshaped([2, 32, 32])) }.scalars, fast.scalars)
    }

    func testGumbelTrainingPathGivesEveryParameterAFiniteGradient() {
        var config = SVQConfig.goldenTiny
        config.imageSize = 32
        var rng = RandomGenerator(seed: 3)
        let dvae = DVAE(config: config, rng: &rng)
        let images = rng.uniform([2, 3, 32, 32])

        let (soft, hard) = dvae.gumbelSample(images, temperature: 0.7, rng: &rng)
        XCTAssertEqual(soft.shape, [2, 32, 8, 8])
        XCTAssertEqual(hard.shape, [2, 64])
        XCTAssert(hard.values.allSatisfy { $0 >= 0 && $0 < 32 })
        // A probability distribution over the vocabulary at every position.
        let sums = withoutGradients { soft.sum(axis: 1) }
        XCTAssert(sums.scalars.allSatisfy { abs($0 - 1) < 1e-5 })

        let recon = dvae.decode(distribution: soft)
        XCTAssertEqual(recon.shape, [2, 3, 32, 32])
        let loss = mseLoss(recon, images, reduction: .sum) / 2   // the official Σ(x − x̂)²/B
        loss.backward()

        let params = dvae.namedParameters()
        XCTAssertEqual(params.count, 2 * (8 + 10))
        for (name, p) in params {
            guard let g = p.grad else { XCTFail("\(name) has no gradient"); continue }
            XCTAssertEqual(g.shape, p.shape, name)
            XCTAssert(g.scalars.allSatisfy { $0.isFinite }, "\(name) has a non-finite gradient")
            XCTAssert(g.scalars.contains { $0 != 0 }, "\(name) has an all-zero gradient")
        }
    }

    func testOurTensorNames() {
        var rng = RandomGenerator(seed: 0)
        let dvae = DVAE(config: .goldenTiny, rng: &rng)
        let names = dvae.namedTensors().map(\.name)
        var expected: [String] = []
        for n in (0..<7).map({ "encoder.\($0)" }) + ["encoder_out", "decoder_in"]
            + (0..<4).map({ "decoder_up1.\($0)" }) + (0..<4).map({ "decoder_up2.\($0)" }) + ["decoder_out"] {
            expected += [n + ".weight", n + ".bias"]
        }
        XCTAssertEqual(names, expected)
        XCTAssertEqual(dvae.decoderUp1[3].weight.shape, [256, 64, 1, 1])
        XCTAssertEqual(dvae.decoderIn.weight.shape, [64, 32, 1, 1])
    }

    func testLoadOfficialRejectsWrongShapeNamingTheTensorAndChangesNothing() throws {
        // The golden dVAE tensors, with one 3×3 kernel replaced by a 1×1 one.
        let golden = Golden.svqStateDict.file
        var writer = SafeTensorsWriter()
        let bad = "dvae.decoder.6.m.weight"
        for name in golden.names where name.hasPrefix("dvae.") {
            let shape = golden.info(name)!.shape
            if name == bad {
                try writer.add(name, floats: [Float](repeating: 0, count: 64 * 64), shape: [64, 64, 1, 1])
            } else {
                try writer.add(name, floats: try golden.floats(name), shape: shape)
            }
        }
        let sd = OfficialStateDict(try SafeTensorsFile(data: try writer.serialize()))

        var rng = RandomGenerator(seed: 5)
        let dvae = DVAE(config: .goldenTiny, rng: &rng)
        let before = dvae.namedTensors().map { $0.tensor.scalars }
        XCTAssertThrowsError(try dvae.loadOfficial(sd)) { error in
            let message = String(describing: error)
            XCTAssert(message.contains(bad), "error does not name the tensor: \(message)")
        }
        XCTAssertEqual(dvae.namedTensors().map { $0.tensor.scalars }, before, "a failed load changed weights")

        // A config whose vocabulary disagrees with the checkpoint names the logits conv.
        var config = SVQConfig.goldenTiny
        config.vocabSize = 48
        let other = DVAE(config: config, rng: &rng)
        XCTAssertThrowsError(try other.loadOfficial(Golden.svqStateDict)) { error in
            XCTAssert(String(describing: error).contains("dvae.encoder.7.weight"), "\(error)")
        }
    }
}
