// The prior's training set: a dataset's codes under one trained SVQ model, encoded once (one slot-noise draw
// per image, slots in the order slot attention returns them, as the official code) and cached on disk.

import Foundation
import SafeTensors
import SVQEngine
import SVQModels

/// The codes of a dataset under one model: global ids `[count, N·M]` (block·P + code, slot-major).
public struct CodeCache: Sendable {
    public let codes: IntTensor
    public var count: Int { codes.shape[0] }

    public init(codes: IntTensor) { self.codes = codes }

    /// Encodes every image once (batches of `batchSize`, no gradients), the slot noise drawn from `seed`;
    /// `progress` gets the number of images encoded so far.
    public static func encode(_ images: ImageSet, model: SVQModel, seed: UInt64, batchSize: Int = 64,
                              progress: ((Int) -> Void)? = nil) -> CodeCache {
        let c = model.config
        var values: [Int32] = []
        values.reserveCapacity(images.count * c.codesPerImage)
        var rng = RandomGenerator(seed: seed, stream: RandomStreams.encodingCache)
        withoutGradients {
            var start = 0
            while start < images.count {
                let end = min(images.count, start + batchSize)
                let local = model.encode(images.batch(Array(start..<end)), rng: &rng).codes
                values += c.globalCodes(local: local).values
                start = end
                progress?(end)
            }
        }
        return CodeCache(codes: IntTensor(values, shape: [images.count, c.codesPerImage]))
    }

    /// Rows `indices` as a batch `[B, N·M]`.
    public func batch(_ indices: [Int]) -> IntTensor {
        let t = codes.shape[1]
        var out: [Int32] = []
        out.reserveCapacity(indices.count * t)
        for i in indices { out += codes.values[(i * t)..<((i + 1) * t)] }
        return IntTensor(out, shape: [indices.count, t])
    }

    /// What a cache file must have been made from to be reused: the model and the images (fingerprints).
    public struct Source: Equatable, Sendable {
        public var modelFingerprint: String
        public var dataFingerprint: String

        public init(modelFingerprint: String, dataFingerprint: String) {
            self.modelFingerprint = modelFingerprint
            self.dataFingerprint = dataFingerprint
        }

        var metadata: [String: String] {
            ["format": "svq-code-cache", "model": modelFingerprint, "data": dataFingerprint]
        }
    }

    /// Writes the cache with a record of its source, atomically.
    public func write(to url: URL, source: Source) throws {
        var w = SafeTensorsWriter(metadata: source.metadata)
        try w.add("codes", int32s: codes.values, shape: codes.shape)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try w.write(to: url)
    }

    /// The cache at `url` if it was made from exactly `source`; nil otherwise (missing, stale or unreadable).
    public static func read(from url: URL, source: Source) -> CodeCache? {
        guard let file = try? SafeTensorsFile(contentsOf: url), file.metadata == source.metadata,
              let info = file.info("codes"), info.shape.count == 2, let values = try? file.int32s("codes") else { return nil }
        return CodeCache(codes: IntTensor(values, shape: info.shape))
    }
}
