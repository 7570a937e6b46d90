// The sizes a caller needs to build inputs and allocate outputs for a loaded model.

import SVQModels

/// What a loaded model takes and produces.
///
/// ```swift
/// let info = model.info
/// // images: [B, info.imageSize, info.imageSize, info.imageChannels]
/// // codes:  [B, info.numSlots, info.numBlocks], each in 0..<info.codebookSize
/// ```
public struct ModelInfo: Equatable, Hashable, Sendable {
    /// Height = width of input and output images, in pixels.
    public let imageSize: Int
    /// Channels of the images (3 = RGB).
    public let imageChannels: Int
    /// N: objects (slots) per image.
    public let numSlots: Int
    /// M: codes per object, one per block (factor).
    public let numBlocks: Int
    /// P: values per code, `0..<P`.
    public let codebookSize: Int
    /// S: width of a slot vector.
    public let slotSize: Int
    /// dVAE vocabulary (tokens per 4×4 patch).
    public let vocabSize: Int
    /// dVAE tokens the decoder writes per image, (imageSize / 4)².
    public let tokensPerImage: Int
    /// Whether `samplePrior` is available: the model has a semantic prior, and it was trained.
    public let hasPrior: Bool
    /// What each code most often means (factor per block, value per code), where `svq eval --legend-model`
    /// stored it in the file; nil otherwise. Not part of the C API's `svq_info`.
    public let codeLegend: CodeLegend?

    /// S / M: the width of one block of a slot, and of each codebook prototype.
    public var blockSize: Int { slotSize / numBlocks }
    /// N · M: codes per image.
    public var codesPerImage: Int { numSlots * numBlocks }
    /// Values per image: imageSize² · imageChannels.
    public var valuesPerImage: Int { imageSize * imageSize * imageChannels }

    init(_ model: SVQModel, codeLegend: CodeLegend?) {
        let c = model.config
        imageSize = c.imageSize
        imageChannels = c.imageChannels
        numSlots = c.numSlots
        numBlocks = c.numBlocks
        codebookSize = c.numPrototypes
        slotSize = c.slotSize
        vocabSize = c.vocabSize
        tokensPerImage = c.tokensPerImage
        hasPrior = c.prior != nil && model.priorTrained
        self.codeLegend = codeLegend
    }
}
