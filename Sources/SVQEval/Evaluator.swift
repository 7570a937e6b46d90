// Runs a model over held-out images and prior samples and gathers everything `svq eval` reports.

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

public struct ReconstructionReport: Codable, Equatable, Sendable {
    public var images: Int
    /// Mean squared error per pixel and channel, images in [0, 1]: the dVAE alone (argmax tokens → decoder).
    public var dvaeMSE: Double
    /// The same through the codes: encode → autoregressive decode (greedy or drawn, see `decodeTemperature`) → dVAE decoder.
    public var decodeMSE: Double

    public init(images: Int, dvaeMSE: Double, decodeMSE: Double) {
        self.images = images
        self.dvaeMSE = dvaeMSE
        self.decodeMSE = decodeMSE
    }
}

public struct EvaluationReport: Codable, Equatable, Sendable {
    public var model: String
    public var data: String
    public var split: String
    public var seed: UInt64
    /// The decoder's token temperature for reconstructions and samples; nil: greedy.
    public var decodeTemperature: Float?
    /// Drawn images per decode, the best by re-encoding kept (nil or 1: a single draw).
    public var decodeCandidates: Int?
    /// The prior's sampling temperature and top-k for the generation figures (nil in reports written before
    /// they were recorded: temperature 1, all codes).
    public var priorTemperature: Float?
    public var priorTopK: Int?
    public var reconstruction: ReconstructionReport
    public var codeUsage: [BlockUsage]
    public var minimumCodeUsage: Double
    public var factorAlignment: FactorAlignmentReport?
    public var generation: GenerationReport?
    /// The parser and rule on the held-out images themselves (ground truth) and on their reconstructions:
    /// the ceiling generation accuracy can reach with this parser.
    public var ruleOnData: GenerationReport?
    public var ruleOnReconstructions: GenerationReport?
    /// The held-out objects read back from the reconstructions: lost, added, shape or colour changed.
    public var objectRecovery: ObjectRecoveryReport?

    public init(model: String, data: String, split: String, seed: UInt64, reconstruction: ReconstructionReport,
                codeUsage: [BlockUsage], minimumCodeUsage: Double) {
        self.model = model
        self.data = data
        self.split = split
        self.seed = seed
        self.reconstruction = reconstruction
        self.codeUsage = codeUsage
        self.minimumCodeUsage = minimumCodeUsage
    }
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

    /// Encodes, reconstructs (dVAE, and decode from the codes) and takes masks of `images`, in batches.
    public func run(_ images: [RGBImage], seed: UInt64) -> [ImageResult] {
        let c = model.config
        var rng = RandomGenerator(seed: seed)
        var out: [ImageResult] = []
        withoutGradients {
            var start = 0
            while start < images.count {
                let part = Array(images[start..<min(images.count, start + batchSize)])
                let x = RGBImage.batch(part)
                let encoding = model.encode(x, rng: &rng)
                let masks = model.masks(encoding)                                  // [B, N, H, W]
                let dvae = model.dvae.decode(tokens: model.dvae.tokens(x))
                let decoded = candidates > 1
                    ? model.decodeBestOf(codes: encoding.codes, candidates: candidates, sampling: decoding, rng: &rng)
                    : model.decode(slots: encoding.slots, sampling: decoding, rng: &rng)
                let dvaeImages = RGBImage.images(fromBatch: dvae), decodedImages = RGBImage.images(fromBatch: decoded)
                let per = c.numSlots * c.imageSize * c.imageSize
                for i in 0..<part.count {
                    let codes = (0..<c.codesPerImage).map { Int(encoding.codes.values[i * c.codesPerImage + $0]) }
                    let attention = Array(UnsafeBufferPointer(start: masks.data + i * per, count: per))
                    out.append(ImageResult(codes: codes, attention: attention,
                                           dvaeReconstruction: dvaeImages[i], decoded: decodedImages[i]))
                }
                start += part.count
            }
        }
        return out
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
    public func sample(count: Int, seed: UInt64, temperature: Float = 1, topK: Int? = nil) throws -> (IntTensor, [RGBImage]) {
        guard let prior = model.prior else { throw EvaluationError("the model has no prior") }
        let c = model.config
        var rng = RandomGenerator(seed: seed)
        var codes: [Int32] = [], images: [RGBImage] = []
        withoutGradients {
            var done = 0
            while done < count {
                let b = min(batchSize, count - done)
                let global = prior.sample(batch: b, temperature: temperature, topK: topK, rng: &rng)
                let local = c.localCodes(global: global)
                codes += local.values
                images += RGBImage.images(fromBatch: model.decodeBestOf(codes: local, candidates: candidates,
                                                                         sampling: decoding, rng: &rng))
                done += b
            }
        }
        return (IntTensor(codes, shape: [count, c.numSlots, c.numBlocks]), images)
    }
}

public struct EvaluationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
