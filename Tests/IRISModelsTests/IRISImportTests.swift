// Importing official IRIS checkpoints: the agent's combined state_dict, and every way a checkpoint can fail to
// fit the config (a tensor missing, left unused, of another shape, a buffer with other values), each named.
// Also configs other than the golden one: the modules follow the official layout for any of them.

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQNN
import IRISModels
import SVQTestSupport

final class IRISImportTests: XCTestCase {
    let config = IRISGolden.config
    let parts = [("tokenizer.", "tokenizer_state_dict.safetensors"), ("world_model.", "world_model_state_dict.safetensors"),
                 ("actor_critic.", "actor_critic_state_dict.safetensors")]

    /// A state_dict rewritten: every tensor of the given files under its prefix, with `edit` applied to the list.
    private func stateDict(_ sources: [(String, String)], edit: (inout [(String, SafeTensorsFile)]) -> Void = { _ in }) throws -> SafeTensorsFile {
        var entries: [(String, SafeTensorsFile)] = []
        for (prefix, name) in sources {
            let file = IRISGolden.file(name)
            entries += file.names.map { (prefix + "\u{0}" + $0, file) }
        }
        edit(&entries)
        var writer = SafeTensorsWriter()
        for (key, file) in entries {
            let parts = key.components(separatedBy: "\u{0}")
            let (stored, original) = (parts[0] + parts[1], parts[1])
            let info = file.info(original)!
            if info.dtype.isConvertibleToFloat {
                try writer.add(stored, floats: try file.floats(original), shape: info.shape)
            } else {
                try writer.add(stored, int64s: try file.ints(original).map(Int64.init), shape: info.shape)
            }
        }
        return try SafeTensorsFile(data: writer.serialize())
    }

    private func assertMismatch(_ body: () throws -> Void, naming names: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? IRISError else { return XCTFail("not an IRISError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, .tensorMismatch, file: file, line: line)
            for name in names { XCTAssert(error.message.contains(name), "\(error.message) does not name \(name)", file: file, line: line) }
        }
    }

    func testAgentCheckpointWithThreePrefixesEqualsTheSeparateParts() throws {
        let agent = try IRISImport.agent(config: config, from: try stateDict(parts))
        let separate = try IRISImport.worldModel(config: config, from: IRISGolden.file("world_model_state_dict.safetensors"))
        for ((name, a), (_, b)) in zip(agent.worldModel.namedTensors(), separate.namedTensors()) {
            XCTAssertEqual(a.scalars, b.scalars, name)
        }
        XCTAssertEqual(agent.actorCritic.lstm.weightHH.scalars, try IRISGolden.file("actor_critic_state_dict.safetensors").floats("lstm.weight_hh"))
        XCTAssertEqual(agent.tokenizer.embedding.weight.scalars, try IRISGolden.file("tokenizer_state_dict.safetensors").floats("embedding.weight"))
    }

    func testMissingUnusedAndForeignTensorsAreNamed() throws {
        let withoutOne = try stateDict(parts) { $0.removeAll { $0.0 == "world_model.\u{0}head_rewards.head_module.2.bias" } }
        assertMismatch({ _ = try IRISImport.agent(config: self.config, from: withoutOne) }, naming: ["world_model.head_rewards.head_module.2.bias"])
        // An extra tensor under a part's prefix, and one outside every part.
        let extra = try stateDict(parts + [("tokenizer.extra_", "world_model_state_dict.safetensors")])
        assertMismatch({ _ = try IRISImport.agent(config: self.config, from: extra) }, naming: ["tokenizer.extra_embedder.embedding_tables.0.weight"])
        let foreign = try stateDict(parts + [("critic_", "actor_critic_state_dict.safetensors")])
        assertMismatch({ _ = try IRISImport.agent(config: self.config, from: foreign) }, naming: ["critic_conv1.weight"])
        // A tokenizer trained with the perceptual loss carries its network: skipped, not an error.
        let withLPIPS = try stateDict([("", "tokenizer_state_dict.safetensors"), ("lpips.net.", "actor_critic_state_dict.safetensors")])
        XCTAssertNoThrow(try IRISImport.tokenizer(config: config.tokenizer, from: withLPIPS))
    }

    func testShapesAndBuffersMustFitTheConfig() throws {
        let worldModelFile = IRISGolden.file("world_model_state_dict.safetensors")
        // Five actions: the action table and the actor are of another shape.
        var fiveActions = config
        fiveActions.numActions = 5
        assertMismatch({ _ = try IRISImport.worldModel(config: fiveActions, from: worldModelFile) }, naming: ["embedder.embedding_tables.0.weight"])
        assertMismatch({ _ = try IRISImport.actorCritic(numActions: 5, from: IRISGolden.file("actor_critic_state_dict.safetensors")) },
                       naming: ["actor_linear.weight", "actor_linear.bias"])
        // Block-causal attention: the checkpoint's causal masks say otherwise.
        var blockCausal = config
        blockCausal.worldModel.attention = .blockCausal
        assertMismatch({ _ = try IRISImport.worldModel(config: blockCausal, from: worldModelFile) }, naming: ["transformer.blocks.0.attn.mask"])
        // Three layers where the checkpoint has two.
        var deeper = config
        deeper.worldModel.numLayers = 3
        assertMismatch({ _ = try IRISImport.worldModel(config: deeper, from: worldModelFile) }, naming: ["transformer.blocks.2.ln1.weight"])
        // Another tokenizer width.
        var wider = config
        wider.tokenizer.encoder.ch = 64
        assertMismatch({ _ = try IRISImport.tokenizer(config: wider.tokenizer, from: IRISGolden.file("tokenizer_state_dict.safetensors")) },
                       naming: ["encoder.conv_in.weight"])
    }

    /// Configs other than the golden one build, run, and name their tensors as the official modules do.
    func testOtherConfigs() throws {
        var rng = RandomGenerator(seed: 3)
        let encoder = IRISEncoderDecoderConfig(resolution: 32, inChannels: 3, zChannels: 64, ch: 32, chMult: [1, 2, 2],
                                               numResBlocks: 2, attnResolutions: [16, 8], outCh: 3, dropout: 0)
        let tokenizerConfig = IRISTokenizerConfig(vocabSize: 20, embedDim: 8, encoder: encoder)
        let tokenizer = try IRISTokenizer(config: tokenizerConfig, rng: &rng)
        tokenizer.freeze()
        let names = Set(tokenizer.namedTensors().map(\.name))
        // Official layout: attention after each block at 16 and 8, the decoder's extra block, no resampling at the ends.
        for name in ["encoder.down.1.attn.1.proj_out.weight", "encoder.down.2.attn.1.q.bias", "encoder.down.1.downsample.conv.weight",
                     "encoder.down.1.block.0.nin_shortcut.weight", "decoder.up.1.block.2.conv2.weight", "decoder.up.2.attn.2.k.weight",
                     "decoder.up.0.block.0.nin_shortcut.weight", "decoder.up.2.upsample.conv.weight", "decoder.mid.attn_1.norm.weight"] {
            XCTAssert(names.contains(name), name)
        }
        for name in ["encoder.down.0.attn.0.q.weight", "encoder.down.2.downsample.conv.weight", "decoder.up.0.upsample.conv.weight"] {
            XCTAssertFalse(names.contains(name), name)
        }
        let encoding = tokenizer.encode(frames: rng.uniform([2, 3, 32, 32]))
        XCTAssertEqual(encoding.tokens.shape, [2, 64])
        XCTAssertEqual(tokenizer.decode(frames: encoding.zQuantized).shape, [2, 3, 32, 32])

        let world = try IRISConfig(tokenizer: tokenizerConfig,
                                   worldModel: IRISWorldModelConfig(tokensPerBlock: 65, maxBlocks: 2, attention: .blockCausal, numLayers: 3,
                                                                    numHeads: 4, embedDim: 16),
                                   numActions: 7)
        let model = try IRISWorldModel(config: world.worldModel, vocabSize: 20, numActions: 7, rng: &rng)
        model.freeze()
        let tokens = IntTensor((0..<130).map { $0 % 65 == 64 ? 6 : $0 % 20 }, shape: [1, 130])
        let output = try model(tokens)
        XCTAssertEqual(output.logitsObservations.shape, [1, 128, 20])
        XCTAssertEqual(output.logitsRewards.shape, [1, 2, 3])
        // Block-causal: the whole pass equals the cached one only where a block was fed whole, so feed blocks.
        let cache = model.makeCache(batch: 1)
        let first = try model(IntTensor(Array(tokens.values[0..<65]), shape: [1, 65]), cache: cache)
        let second = try model(IntTensor(Array(tokens.values[65..<130]), shape: [1, 65]), cache: cache)
        assertClose(concat([first.logitsObservations, second.logitsObservations], axis: 1).scalars, output.logitsObservations.scalars, tol: 1e-4)
        // Out-of-range inputs are errors, not crashes.
        XCTAssertThrowsError(try model(IntTensor((0..<65).map { $0 == 64 ? 7 : 0 }, shape: [1, 65]))) { error in
            XCTAssertEqual((error as? IRISError)?.kind, .invalidInput)
        }
        XCTAssertThrowsError(try model(IntTensor((0..<64).map { _ in 20 }, shape: [1, 64])))
        XCTAssertThrowsError(try model(IntTensor((0..<131).map { _ in 0 }, shape: [1, 131])))
    }

    func testConfigFromOfficialJSON() throws {
        // The YAML's nesting (tokenizer.encoder.config) and defaults for what is left out.
        let json = #"{"num_actions": 6, "tokenizer": {"vocab_size": 512, "embed_dim": 512, "encoder": {"config": {"ch_mult": [1, 1, 1, 1, 1]}}}, "world_model": {"max_blocks": 20}}"#
        let parsed = try IRISConfig(officialJSON: Data(json.utf8))
        XCTAssertEqual(parsed.tokenizer.encoder, IRISEncoderDecoderConfig())
        XCTAssertEqual(parsed.worldModel, IRISWorldModelConfig())
        XCTAssertEqual(parsed.numActions, 6)
        XCTAssertEqual(config.tokenizer.encoder.chMult, [1, 1, 1, 2, 2])
        XCTAssertEqual(config.worldModel.numHeads, 2)
        for bad in [#"{"tokenizer": {}}"#, #"{"num_actions": 4, "tokenizer": {"ch": 48}}"#, #"{"num_actions": 4, "world_model": {"tokens_per_block": 10}}"#] {
            XCTAssertThrowsError(try IRISConfig(officialJSON: Data(bad.utf8)), bad)
        }
    }
}
