// The runtime's model: load a weights file, then encode images to codes, decode codes to images, sample
// code sets from the semantic prior and read the codebooks. Every input is checked here (InputChecks),
// so SVQModel is only ever called with input it accepts.
//
// Thread safety: after init nothing here or in the SVQModel it wraps is written. Each call makes its own
// random generator, caches and outputs, runs without an autodiff graph (a per-thread setting), and the
// engine's parallel loops are per call, so concurrent calls on one Model give the serial results.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels

/// How the image decoder picks each dVAE token.
public enum Sampling: Equatable, Sendable {
    /// The most likely token at every step (deterministic).
    case greedy
    /// A draw from softmax(logits / temperature), among the `topK` most likely tokens (nil: all).
    case sampled(temperature: Float, topK: Int?)

    /// The temperature of `recommended`.
    public static let recommendedTemperature: Float = 0.75

    /// The default of every decode (Swift, C, Python, the command line): tokens drawn at temperature 0.75.
    /// Greedy decoding writes background wherever an object's first token is a little less likely than it,
    /// so it drops objects (3.0 of 3.5 per scene on the bundled model's validation split); 0.75 was the best
    /// of 0.25–1.0 there (docs/training.md). Reproducible per seed; `.greedy` needs no seed.
    public static let recommended = Sampling.sampled(temperature: recommendedTemperature, topK: nil)
}

/// Reports the progress of a long call and may cancel it: called on the calling thread after each step of
/// the call's main loop (the decoder's image tokens, the prior's positions, slot attention's iterations) with the
/// fraction done, in [0, 1]. Return true to go on, false to stop: the call then throws
/// `SVQError.cancelled` and returns nothing.
public typealias ProgressHandler = (Double) -> Bool

/// What `encode` returns for a batch of B images.
public struct EncodeResult: Equatable, Sendable {
    /// Local codes `[B, N, M]`, each in `0..<P`: code (n, m) is block m's codebook entry for object n.
    public let codes: ShapedArray<Int32>
    /// Per-object attention masks `[B, N, H, W]` at image resolution (each pixel's shares sum to 1 over the
    /// N objects), if requested.
    public let masks: ShapedArray<Float>?
    /// Quantized slot vectors `[B, N, S]`, if requested: each the codebook rows of its codes, blocks
    /// concatenated (exactly; the model's straight-through slots can differ in the last bit).
    public let slots: ShapedArray<Float>?
}

/// A loaded SVQ model.
///
/// ```swift
/// import SVQ
///
/// let model = try SVQ.Model(contentsOf: URL(fileURLWithPath: "models/sprites.safetensors"))
/// let s = model.info.imageSize
/// let images = try ShapedArray(pixels, shape: [1, s, s, 3])      // [UInt8] or [Float] in [0, 1], NHWC
/// let codes = try model.encode(images, seed: 1).codes               // [1, N, M]
/// let recon = try model.decode(codes)                                // [1, s, s, 3] floats in [0, 1]
/// let scenes = try model.decode(try model.samplePrior(count: 4, seed: 7))
/// ```
///
/// All methods may be called from many threads at once; results depend only on the arguments.
public final class Model: @unchecked Sendable {
    /// The model's sizes.
    public let info: ModelInfo
    let model: SVQModel

    /// Loads an SVQ weights file. Throws `SVQError` with `.ioError` if the file cannot be read, or
    /// `.invalidModel` if it is not a valid SVQ weights file (see `init(data:)`).
    public convenience init(contentsOf url: URL) throws {
        guard url.isFileURL else { throw SVQError(.ioError, "cannot read \(url): not a file URL") }
        let file = try url.withUnsafeFileSystemRepresentation { path in
            guard let path else { throw SVQError(.ioError, "cannot read \(url.path): not a valid file-system path") }
            return try ModelFile.open(path: path)
        }
        try self.init(file: file)
    }

    /// Loads an SVQ weights file held in memory. Throws `SVQError.invalidModel` (with the reason) for
    /// anything else: not safetensors, truncated, not our format or version, an invalid config, tensors
    /// that do not match the config, non-finite weights, or sizes beyond what the file itself holds.
    public convenience init(data: Data) throws {
        try self.init(file: try ModelFile.parse(data))
    }

    /// Loads from an opened safetensors file (tensors are read from it one at a time).
    init(file: SafeTensorsFile) throws {
        model = try ModelFile.load(file)
        info = ModelInfo(model, codeLegend: try ModelFile.codeLegend(file))
    }

    // MARK: Encode

    /// Encodes NHWC float images `[B, H, W, C]` with values in [0, 1].
    ///
    /// Encoding starts slot attention from random slots: the same `seed` and images give the same result.
    /// - Parameters:
    ///   - masks: also return the per-object attention masks `[B, N, H, W]`.
    ///   - slots: also return the quantized slots `[B, N, S]`.
    ///   - progress: see `ProgressHandler`.
    /// - Throws: `SVQError` — `.shapeMismatch` (not `[B, imageSize, imageSize, imageChannels]`),
    ///   `.invalidArgument` (B = 0), `.invalidValue` (a NaN, infinite or out-of-range pixel), `.cancelled`,
    ///   `.invalidModel` (weights that make the computation overflow float32: a corrupt file).
    public func encode(_ images: ShapedArray<Float>, seed: UInt64 = 0, masks: Bool = false,
                       slots: Bool = false, progress: ProgressHandler? = nil) throws -> EncodeResult {
        let b = try info.checkImageShape(images.shape)
        try checkPixels(images.scalars, shape: images.shape)
        let s = info.imageSize
        let nchw = nchwTensor(nhwc: images.scalars, batch: b, height: s, width: s, channels: info.imageChannels) { $0 }
        return try encode(nchw, seed: seed, masks: masks, slots: slots, progress: progress)
    }

    /// Encodes NHWC byte images `[B, H, W, C]` (0…255, read as value / 255). See the float overload.
    public func encode(_ images: ShapedArray<UInt8>, seed: UInt64 = 0, masks: Bool = false,
                       slots: Bool = false, progress: ProgressHandler? = nil) throws -> EncodeResult {
        let b = try info.checkImageShape(images.shape)
        let s = info.imageSize
        let nchw = nchwTensor(nhwc: images.scalars, batch: b, height: s, width: s, channels: info.imageChannels, unitPixel)
        return try encode(nchw, seed: seed, masks: masks, slots: slots, progress: progress)
    }

    private func encode(_ nchw: Tensor, seed: UInt64, masks wantMasks: Bool, slots wantSlots: Bool,
                        progress: ProgressHandler?) throws -> EncodeResult {
        try watched(progress) {
            let b = nchw.shape[0], n = info.numSlots, s = info.imageSize
            var rng = RandomGenerator(seed: seed)
            let enc = model.encode(nchw, rng: &rng)
            try enc.requireFinite()
            return EncodeResult(
                codes: ShapedArray(trusted: enc.codes.values, shape: [b, n, info.numBlocks]),
                masks: wantMasks ? ShapedArray(trusted: model.masks(enc).scalars, shape: [b, n, s, s]) : nil,
                slots: wantSlots ? ShapedArray(trusted: model.slots(codes: enc.codes).scalars, shape: [b, n, info.slotSize]) : nil)
        }
    }

    // MARK: Decode

    /// Decodes local codes `[B, N, M]` to NHWC float images `[B, H, W, C]` in [0, 1].
    ///
    /// By default tokens are drawn at 0.75 (`Sampling.recommended`, which says why); the same `seed` gives
    /// the same images. `.greedy` takes the most likely token instead and ignores the seed.
    /// - Parameters:
    ///   - candidates: with `.sampled`, draw this many images per code set and keep the one whose
    ///     re-encoding gives back its codes most closely (slots matched one to one); a draw that drops or
    ///     changes an object loses. Costs about `candidates` decodes and encodes. 1: a single draw.
    /// - Throws: `SVQError` — `.shapeMismatch` (not `[B, N, M]`), `.invalidArgument` (B = 0, bad
    ///   temperature or top-k, candidates outside `1...maxDecodeCandidates` or above 1 with greedy
    ///   decoding), `.invalidValue` (a code outside `0..<P`), `.cancelled` (by `progress`, a
    ///   `ProgressHandler` called after each of the decoder's `tokensPerImage` steps), `.invalidModel`
    ///   (weights that make the computation overflow float32: a corrupt file).
    public func decode(_ codes: ShapedArray<Int32>, sampling: Sampling = .recommended,
                       seed: UInt64 = 0, candidates: Int = 1, progress: ProgressHandler? = nil) throws -> ShapedArray<Float> {
        let images = try decodeNCHW(codes, sampling: sampling, seed: seed, candidates: candidates, progress: progress)
        return ShapedArray(trusted: nhwcValues(nchw: images) { $0 }, shape: imageShape(codes.shape[0]))
    }

    /// `decode` as NHWC bytes (each value round(x · 255)).
    public func decodeUInt8(_ codes: ShapedArray<Int32>, sampling: Sampling = .recommended,
                            seed: UInt64 = 0, candidates: Int = 1, progress: ProgressHandler? = nil) throws -> ShapedArray<UInt8> {
        let images = try decodeNCHW(codes, sampling: sampling, seed: seed, candidates: candidates, progress: progress)
        return ShapedArray(trusted: nhwcValues(nchw: images, bytePixel), shape: imageShape(codes.shape[0]))
    }

    private func imageShape(_ b: Int) -> [Int] { [b, info.imageSize, info.imageSize, info.imageChannels] }

    /// The most draws `decode` keeps the best of.
    public static let maxDecodeCandidates = 64

    private func decodeNCHW(_ codes: ShapedArray<Int32>, sampling: Sampling, seed: UInt64,
                            candidates: Int, progress: ProgressHandler?) throws -> Tensor {
        let b = try info.checkCodes(codes, "codes")
        guard (1...Self.maxDecodeCandidates).contains(candidates) else {
            throw SVQError(.invalidArgument, "candidates must be from 1 to \(Self.maxDecodeCandidates), got \(candidates)")
        }
        if candidates > 1 && sampling == .greedy {
            throw SVQError(.invalidArgument, "candidates \(candidates) needs sampled decoding: greedy decoding gives the same image every time")
        }
        let tokenSampling: TokenSampling
        switch sampling {
        case .greedy:
            tokenSampling = .greedy
        case let .sampled(temperature, topK):
            try checkDraw(temperature: temperature, topK: topK)
            tokenSampling = .sample(temperature: temperature, topK: topK)
        }
        return try watched(progress) {
            var rng = RandomGenerator(seed: seed)
            let local = IntTensor(codes.scalars, shape: [b, info.numSlots, info.numBlocks])
            return try model.decodeBestOf(codes: local, candidates: candidates, sampling: tokenSampling, rng: &rng)
        }
    }

    // MARK: Prior

    /// Samples `count` code sets `[count, N, M]` from the semantic prior.
    ///
    /// To complete partial code sets, pass `fixed` codes `[count, N, M]` and a `fixedMask` `[count, N, M]`:
    /// where the mask is true the given code is kept (and the others are sampled to go with it); codes
    /// where it is false are ignored. The same seed and arguments give the same codes.
    /// - Parameters:
    ///   - temperature: > 0; 1 samples the prior's distribution, lower values more typical scenes.
    ///   - topK: keep the k most likely codes at each step (nil: all).
    ///   - progress: a `ProgressHandler`, called after each of the N·M positions.
    /// - Throws: `SVQError` — `.noPrior` (none, or one that was never trained), `.invalidArgument` (count
    ///   < 1, bad temperature or top-k, a mask without codes or codes without a mask), `.shapeMismatch`,
    ///   `.invalidValue` (a fixed code outside `0..<P`), `.cancelled`, `.invalidModel` (weights that make
    ///   the computation overflow float32).
    public func samplePrior(count: Int, seed: UInt64 = 0, temperature: Float = 1, topK: Int? = nil,
                            fixed: ShapedArray<Int32>? = nil, fixedMask: ShapedArray<Bool>? = nil,
                            progress: ProgressHandler? = nil) throws -> ShapedArray<Int32> {
        guard let prior = model.prior else {
            throw SVQError(.noPrior, "this model has no semantic prior, so it cannot sample codes")
        }
        guard model.priorTrained else {
            throw SVQError(.noPrior, "this model's semantic prior was never trained (`svq train` trains the encoder and decoder only), so its samples would be noise; train it with `svq train-prior`, whose model can sample")
        }
        guard count >= 1 else { throw SVQError(.invalidArgument, "count must be at least 1, got \(count)") }
        try checkDraw(temperature: temperature, topK: topK)
        let n = info.numSlots, m = info.numBlocks, total = n * m
        var globalFixed: IntTensor? = nil
        var mask: [Bool]? = nil
        switch (fixed, fixedMask) {
        case (nil, nil):
            break
        case (nil, _?):
            throw SVQError(.invalidArgument, "a fixed-code mask was given without the fixed codes")
        case (_?, nil):
            throw SVQError(.invalidArgument, "fixed codes were given without a mask saying which positions are fixed")
        case let (codes?, fixedMask?):
            guard fixedMask.shape == [count, n, m] else {
                throw SVQError(.shapeMismatch, "the fixed-code mask must be [\(count), \(n), \(m)] ([count, slots, blocks]), got shape \(fixedMask.shape)")
            }
            guard codes.shape == [count, n, m] else {
                throw SVQError(.shapeMismatch, "fixed codes must be [\(count), \(n), \(m)] ([count, slots, blocks]), got shape \(codes.shape)")
            }
            _ = try info.checkCodes(codes, "fixed codes", mask: fixedMask.scalars)
            // The prior speaks global ids; unmasked entries become the block's first id (ignored).
            let masked = zip(codes.scalars, fixedMask.scalars).map { c, fixed in fixed ? c : 0 }
            globalFixed = model.config.globalCodes(local: IntTensor(masked, shape: [count, n, m]))
            mask = fixedMask.scalars
        }
        let sampled = try watched(progress) {
            var rng = RandomGenerator(seed: seed)
            return try prior.sample(batch: count, temperature: temperature, topK: topK, restrictToBlock: true,
                                fixed: globalFixed, fixedMask: mask, rng: &rng)
        }
        var local = [Int32](repeating: 0, count: count * total)
        for (i, id) in sampled.values.enumerated() {
            let block = model.config.block(atPosition: i % total)
            // restrictToBlock guarantees this; never trust it blindly
            guard let code = model.config.localCode(global: id, block: block) else {
                throw SVQError(.internalError, "the prior produced id \(id) outside block \(block) at position \(i % total)")
            }
            local[i] = code
        }
        return ShapedArray(trusted: local, shape: [count, n, m])
    }

    /// Runs `body` without gradients, watched by `progress` (nil: unwatched).
    /// - Throws: `SVQError.cancelled` when `progress` stopped it (its results are partial, so discarded).
    private func watched<T>(_ progress: ProgressHandler?, _ body: () throws -> T) throws -> T {
        let monitor = progress.map { CallMonitor(step: $0) }
        let result: T
        do {
            result = try CallMonitor.watching(monitor) { try withoutGradients(body) }
        } catch let error as SVQModelError where error.kind == .numericalOverflow {
            // Weights that overflow float32 fail whatever the input: the file is corrupt.
            throw SVQError(.invalidModel, error.message)
        }
        if monitor?.stopped == true { throw SVQError(.cancelled, "the call was cancelled by its progress handler") }
        return result
    }

    // MARK: Codebooks

    /// Block `block`'s codebook `[P, S/M]`: row p is the prototype vector that code p of that block stands for.
    /// - Throws: `SVQError.invalidArgument` if `block` is not in `0..<M`.
    public func codebook(block: Int) throws -> ShapedArray<Float> {
        guard block >= 0 && block < info.numBlocks else {
            throw SVQError(.invalidArgument, "block must be from 0 to \(info.numBlocks - 1), got \(block)")
        }
        let p = info.codebookSize, w = info.blockSize
        let books = model.slotAttention.quantizer.codebooks   // [M, P, w]
        let values = Array(UnsafeBufferPointer(start: books.data + block * p * w, count: p * w))
        return ShapedArray(trusted: values, shape: [p, w])
    }
}
