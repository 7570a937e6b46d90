// Runs a model over held-out images and over prior samples: the codes, masks and pictures `evaluate` measures.

import Foundation
import SVQData
import SVQEngine
import SVQModels

/// One held-out image's results.
public struct ImageResult: Sendable {
    public var codes: [Int]            // [N·M] local codes, slot-major
    public var attention: [Float]      // [N, H·W] per-slot attention at image resolution
    public var dvaeReconstruction: RGBImage
    public var decoded: RGBImage
}

public final class Evaluator {
    public let model: SVQModel
    public let batchSize: Int
    /// How the decoder picks dVAE tokens, for reconstructions and prior samples alike.
    public let decoding: TokenSampling
    /// Drawn images per decode, keeping the one whose re-encoding matches the codes best (`decodeBestOf`).
    public let candidates: Int

    public init(model: SVQModel, batchSize: Int = 16, decoding: TokenSampling = .greedy, candidates: Int = 1) {
        self.model = model
        self.batchSize = max(1, batchSize)
        self.decoding = decoding
        self.candidates = max(1, candidates)
        model.train(false)
    }

    /// Encodes, reconstructs (dVAE, and decode from the codes) and takes masks of `images`, in batches;
    /// `progress` hears the number of images done after each batch.
    /// - Throws: `SVQModelError.numericalOverflow` if the weights make the decoding non-finite.
    public func run(_ images: [RGBImage], seed: UInt64, progress: (Int) -> Void = { _ in }) throws -> [ImageResult] {
        let c = model.config
        var rng = RandomGenerator(seed: seed)
        var out: [ImageResult] = []
        try withoutGradients {
            var start = 0
            while start < images.count {
                let part = Array(images[start..<min(images.count, start + batchSize)])
                let x = RGBImage.batch(part)
                let encoding = model.encode(x, rng: &rng)
                let masks = model.masks(encoding)                                  // [B, N, H, W]
                let dvae = model.dvae.decode(tokens: model.dvae.tokens(x))
                let decoded = candidates > 1
                    ? try model.decodeBestOf(codes: encoding.codes, candidates: candidates, sampling: decoding, rng: &rng)
                    : try model.decode(slots: encoding.slots, sampling: decoding, rng: &rng)
                let dvaeImages = RGBImage.images(fromBatch: dvae), decodedImages = RGBImage.images(fromBatch: decoded)
                let per = c.numSlots * c.imageSize * c.imageSize
                for i in 0..<part.count {
                    let codes = (0..<c.codesPerImage).map { Int(encoding.codes.values[i * c.codesPerImage + $0]) }
                    let attention = Array(UnsafeBufferPointer(start: masks.data + i * per, count: per))
                    out.append(ImageResult(codes: codes, attention: attention,
                                           dvaeReconstruction: dvaeImages[i], decoded: decodedImages[i]))
                }
                start += part.count
                progress(start)
            }
        }
        return out
    }

    /// `codes` (one image's local codes, slot-major) decoded once for every value of every block of `slot`,
    /// the other codes kept: `[block][code]` images, each showing what that one code changes. `progress`
    /// hears the number of images decoded after each batch.
    public func traversal(codes: [Int], slot: Int, seed: UInt64, progress: (Int) -> Void = { _ in }) throws -> [[RGBImage]] {
        let c = model.config
        precondition(codes.count == c.codesPerImage && (0..<c.numSlots).contains(slot), "traversal: codes of another model, or no such slot")
        var sets: [Int32] = []
        for b in 0..<c.numBlocks {
            for code in 0..<c.numPrototypes {
                var edited = codes
                edited[slot * c.numBlocks + b] = code
                sets += edited.map(Int32.init)
            }
        }
        var rng = RandomGenerator(seed: seed)
        var images: [RGBImage] = []
        try withoutGradients {
            let total = c.numBlocks * c.numPrototypes
            var start = 0
            while start < total {
                let n = min(batchSize, total - start)
                let part = IntTensor(Array(sets[(start * c.codesPerImage)..<((start + n) * c.codesPerImage)]),
                                     shape: [n, c.numSlots, c.numBlocks])
                images += RGBImage.images(fromBatch: try model.decodeBestOf(codes: part, candidates: candidates, sampling: decoding, rng: &rng))
                start += n
                progress(start)
            }
        }
        return (0..<c.numBlocks).map { b in Array(images[(b * c.numPrototypes)..<((b + 1) * c.numPrototypes)]) }
    }

    /// Mean squared error per pixel and channel between two image lists.
    public static func mse(_ a: [RGBImage], _ b: [RGBImage]) -> Double {
        var sum = 0.0, n = 0
        for (x, y) in zip(a, b) {
            for (p, q) in zip(x.pixels, y.pixels) { let d = (Double(p) - Double(q)) / 255; sum += d * d }
            n += x.pixels.count
        }
        return n > 0 ? sum / Double(n) : 0
    }

    /// `count` scenes from the prior, decoded as `decoding` says: the local codes `[count, N, M]` and images.
    /// `progress` hears the number of scenes done after each batch.
    public func sample(count: Int, seed: UInt64, temperature: Float = 1, topK: Int? = nil,
                       progress: (Int) -> Void = { _ in }) throws -> (IntTensor, [RGBImage]) {
        guard let prior = model.prior else { throw EvaluationError("the model has no prior") }
        let c = model.config
        var rng = RandomGenerator(seed: seed)
        var codes: [Int32] = [], images: [RGBImage] = []
        try withoutGradients {
            var done = 0
            while done < count {
                let b = min(batchSize, count - done)
                let global = try prior.sample(batch: b, temperature: temperature, topK: topK, rng: &rng)
                let local = c.localCodes(global: global)
                codes += local.values
                images += RGBImage.images(fromBatch: try model.decodeBestOf(codes: local, candidates: candidates,
                                                                         sampling: decoding, rng: &rng))
                done += b
                progress(done)
            }
        }
        return (IntTensor(codes, shape: [count, c.numSlots, c.numBlocks]), images)
    }
}

public struct EvaluationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
