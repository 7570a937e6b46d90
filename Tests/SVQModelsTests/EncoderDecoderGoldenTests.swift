// The image encoder, slot attention with VQ and the image decoder against the official code's outputs
// on the same weights and inputs.

import XCTest
import SVQEngine
import SVQModels
import SVQNN

final class EncoderDecoderGoldenTests: XCTestCase {
    struct Parts {
        let encoder: ImageEncoder, slotAttention: SlotAttention, decoder: ImageDecoder
    }

    static let parts: Parts = {
        var rng = RandomGenerator(seed: 0)
        let c = Golden.config
        let parts = Parts(encoder: ImageEncoder(config: c, rng: &rng), slotAttention: SlotAttention(config: c, rng: &rng),
                          decoder: ImageDecoder(config: c, rng: &rng))
        let sd = Golden.svqStateDict
        try! parts.encoder.loadOfficial(sd)
        try! parts.slotAttention.loadOfficial(sd)
        try! parts.decoder.loadOfficial(sd)
        for m in [parts.encoder, parts.slotAttention, parts.decoder] as [Module] { m.freeze(); m.train(false) }
        return parts
    }()

    func testEncoderFeatures() {
        let features = Self.parts.encoder(Golden.tensor("images_nchw"))
        assertMatchesGolden(features, "encoder_features", tol: 1e-4)
    }

    func testSlotAttentionCodesAttentionAndSlots() {
        // From the golden features, so this test isolates slot attention.
        let out = Self.parts.slotAttention(Golden.tensor("encoder_features"), noise: Golden.tensor("slot_init_noise"))
        XCTAssertEqual(out.codes, Golden.ints("codes_local"), "codes must be identical")
        assertMatchesGolden(out.attention, "attention", tol: 1e-4)
        assertMatchesGolden(out.slots, "slots_quantized", tol: 1e-5)
    }

    func testEndToEndEncodeFromPixels() {
        let p = Self.parts
        let out = p.slotAttention(p.encoder(Golden.tensor("images_nchw")), noise: Golden.tensor("slot_init_noise"))
        XCTAssertEqual(out.codes, Golden.ints("codes_local"))
        assertMatchesGolden(out.attention, "attention", tol: 1e-4)
    }

    func testDecoderMemoryAndTeacherForcedLogits() {
        let p = Self.parts
        let memory = p.decoder.memory(Golden.tensor("slots_quantized"))
        assertMatchesGolden(memory, "decoder_memory", tol: 1e-4)
        let logits = p.decoder.logits(tokens: Golden.ints("dvae_tokens"), memory: memory)
        assertMatchesGolden(logits, "teacher_forced_logits", tol: 1e-4)
    }

    func testGreedyDecodeWithCacheMatchesOfficialFullRecompute() throws {
        let p = Self.parts
        var rng = RandomGenerator(seed: 1)
        let (tokens, margins) = try p.decoder.decode(memory: p.decoder.memory(Golden.tensor("slots_quantized")), rng: &rng)
        XCTAssertEqual(tokens, Golden.ints("decoded_tokens"), "greedy tokens must be identical")
        assertMatchesGolden(margins, "decoded_top2_margin", tol: 1e-4)
    }
}
