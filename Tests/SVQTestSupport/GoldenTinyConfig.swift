// The sizes of the official code's tiny test model, which the golden fixture
// (Tests/SVQModelsTests/Fixtures/nlotm-tiny) was made with: the small model of every suite that needs one
// with real structure (random weights) or the fixture's weights. A test configuration, not a preset.

import SVQModels

extension SVQConfig {
    /// `Fixtures/nlotm-tiny/config.json` as our config (OfficialImportTests checks the mapping):
    /// 64×64×3 images, 3 slots × 4 blocks of 16, 8 codes per block, vocabulary 32, a 2-layer prior.
    public static let goldenTiny = SVQConfig(
        imageSize: 64, cnnHiddenSize: 16, dModel: 32, mlpHiddenSize: 32, numSlots: 3, slotSize: 64,
        numBlocks: 4, numPrototypes: 8, vocabSize: 32, numDecoderLayers: 2, numDecoderHeads: 2,
        prior: PriorConfig(dModel: 32, numHeads: 2, numLayers: 2))
}
