// IRIS's three networks on the official code's tiny random weights and inputs: every intermediate output the
// official code wrote (Fixtures/iris-tiny) must come out of ours within float error, tokens identical.

import XCTest
import SVQEngine
import IRISModels
import SVQTestSupport

final class IRISGoldenTests: XCTestCase {
    let config = IRISGolden.config
    lazy var tokenizer = try! IRISImport.tokenizer(config: config.tokenizer, from: IRISGolden.file("tokenizer_state_dict.safetensors"))
    lazy var worldModel = try! IRISImport.worldModel(config: config, from: IRISGolden.file("world_model_state_dict.safetensors"))
    lazy var actorCritic = try! IRISImport.actorCritic(numActions: config.numActions, from: IRISGolden.file("actor_critic_state_dict.safetensors"))

    /// B·T frames `[6, 3, 64, 64]` in [0, 1].
    var frames: Tensor { IRISGolden.tensor("inputs.observations").reshaped([6, 3, 64, 64]) }

    func testTokenizer() {
        tokenizer.freeze()
        let x = frames * 2 - 1
        assertMatchesGolden(tokenizer.encoder(x), "tokenizer.encoder_out")
        let encoding = tokenizer.encode(frames: frames)
        assertMatchesGolden(encoding.z, "tokenizer.z")
        XCTAssertEqual(encoding.tokens, IRISGolden.ints("tokenizer.tokens"))
        assertMatchesGolden(encoding.zQuantized, "tokenizer.z_quantized")
        assertMatchesGolden(tokenizer.decode(frames: encoding.zQuantized), "tokenizer.reconstruction")
        // The decoded tokens are the quantised latents: decoding tokens directly gives the same frames.
        assertClose(tokenizer.latents(of: encoding.tokens).scalars, encoding.zQuantized.scalars, tol: 0)
        let losses = tokenizer.losses(frames: frames)
        assertMatchesGolden(losses.commitment, "tokenizer.loss_commitment")
        assertMatchesGolden(losses.reconstruction, "tokenizer.loss_reconstruction_l1")
    }

    /// Frame tokens `[2, 3, 16]` as the official tokenizer gave them.
    var frameTokens: IntTensor { IRISGolden.ints("tokenizer.tokens").reshaped([2, 3, 16]) }

    func testWorldModelFullPass() throws {
        worldModel.freeze()
        let tokens = IRISGolden.ints("world.tokens")
        // The sequence is each step's 16 frame tokens, then its action.
        let actions = IRISGolden.ints("inputs.actions")
        for s in 0..<2 { for t in 0..<3 {
            XCTAssertEqual(Array(tokens.values[(s * 51 + t * 17)..<(s * 51 + t * 17 + 16)]), Array(frameTokens.values[((s * 3 + t) * 16)..<((s * 3 + t + 1) * 16)]))
            XCTAssertEqual(tokens.values[s * 51 + t * 17 + 16], actions.values[s * 3 + t])
        } }
        let output = try worldModel(tokens)
        assertMatchesGolden(output.outputSequence, "world.output_sequence")
        assertMatchesGolden(output.logitsObservations, "world.logits_observations")
        assertMatchesGolden(output.logitsRewards, "world.logits_rewards")
        assertMatchesGolden(output.logitsEnds, "world.logits_ends")
    }

    func testWorldModelLosses() throws {
        worldModel.freeze()
        let losses = try worldModel.losses(frameTokens: frameTokens, actions: IRISGolden.ints("inputs.actions"),
                                           rewards: IRISGolden.tensor("inputs.rewards").scalars,
                                           ends: IRISGolden.ints("inputs.ends").values.map(Int.init),
                                           maskPadding: IRISGolden.ints("inputs.mask_padding").values.map { $0 != 0 })
        XCTAssert(IRISGolden.ints("inputs.mask_padding").values.contains(0), "the golden batch has a padded step to ignore")
        assertMatchesGolden(losses.observations, "world.loss_obs")
        assertMatchesGolden(losses.rewards, "world.loss_rewards")
        assertMatchesGolden(losses.ends, "world.loss_ends")
    }

    /// As imagination feeds it: the first frame's 16 tokens at once, then one token per pass through the cache.
    func testWorldModelCachedPass() throws {
        worldModel.freeze()
        let tokens = IRISGolden.ints("world.tokens")
        let cache = worldModel.makeCache(batch: 2)
        var chunks: [Range<Int>] = [0..<16]
        for p in 16..<51 { chunks.append(p..<(p + 1)) }
        var observations: [Tensor] = [], rewards: [Tensor] = [], ends: [Tensor] = []
        for chunk in chunks {
            let part = IntTensor((0..<2).flatMap { s in chunk.map { tokens.values[s * 51 + $0] } }, shape: [2, chunk.count])
            let output = try worldModel(part, cache: cache)
            XCTAssertEqual(cache.length, chunk.upperBound)
            observations.append(output.logitsObservations)
            rewards.append(output.logitsRewards)
            ends.append(output.logitsEnds)
        }
        assertMatchesGolden(concat(observations, axis: 1), "world.cached_logits_observations")
        assertMatchesGolden(concat(rewards, axis: 1), "world.cached_logits_rewards")
        assertMatchesGolden(concat(ends, axis: 1), "world.cached_logits_ends")
        // The context is full after max_blocks blocks: one more token is refused, not run.
        let full = worldModel.makeCache(batch: 1)
        _ = try worldModel(IntTensor([Int32](repeating: 0, count: 68).enumerated().map { $0.offset % 17 == 16 ? 1 : 2 }, shape: [1, 68]), cache: full)
        XCTAssertThrowsError(try worldModel(IntTensor([1], shape: [1, 1]), cache: full))
    }

    func testActorCritic() throws {
        actorCritic.freeze()
        let reconstruction = IRISGolden.tensor("tokenizer.reconstruction").clamped(min: 0, max: 1).reshaped([2, 3, 3 * 64 * 64])
        var state = IRISActorCritic.State(batch: 2)
        var logits: [Tensor] = [], values: [Tensor] = []
        for t in 0..<3 {
            let step = reconstruction.narrow(axis: 1, start: t, length: 1).reshaped([2, 3, 64, 64])
            let out = try actorCritic(step, state: state)
            logits.append(out.logits.reshaped([2, 1, 4]))
            values.append(out.values.reshaped([2, 1]))
            state = out.state
        }
        let allLogits = concat(logits, axis: 1), allValues = concat(values, axis: 1)
        assertMatchesGolden(allLogits, "actor.logits_actions")
        assertMatchesGolden(allValues, "actor.values")

        let settings = IRISGolden.settings
        let gamma = Float(settings["gamma"] as! Double), lambda = Float(settings["lambda"] as! Double)
        let returns = irisLambdaReturns(rewards: IRISGolden.tensor("inputs.rewards").scalars, values: allValues.scalars,
                                        ends: IRISGolden.ints("inputs.ends").values.map { $0 != 0 }, batch: 2, steps: 3,
                                        gamma: gamma, lambda: lambda)
        let firstSteps = [0, 1, 3, 4].map { returns[$0] }   // [:, :-1]
        assertMatchesGolden(Tensor(firstSteps, shape: [2, 2]), "actor.lambda_returns")
        let losses = try IRISActorCritic.losses(logits: allLogits, actions: IRISGolden.ints("inputs.actions"), values: allValues,
                                                lambdaReturns: firstSteps, entropyWeight: Float(settings["entropy_weight"] as! Double))
        assertMatchesGolden(losses.actions, "actor.loss_actions")
        assertMatchesGolden(losses.entropy, "actor.loss_entropy")
        assertMatchesGolden(losses.values, "actor.loss_values")
    }
}
