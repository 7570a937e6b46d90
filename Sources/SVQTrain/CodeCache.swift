// The prior's training set: a dataset's codes under one trained SVQ model, encoded once and cached on disk.
// Two choices shape it. Draws: slot attention starts from random slots, so one image has many encodings
// (other slot orders, other codes in the blocks that carry no factor); several draws per image keep the
// prior from memorising one of them. Slot order: the slots of an image are a set, and the decoder reads
// them as one, so listing them in a canonical (sorted) order lets the prior learn one sequence per scene
// instead of all N! orderings of it.

import Foundation
import SafeTensors
import SVQEngine
import SVQModel

/// How the slots of each cached code set are listed.
public enum SlotOrder: String, Codable, CaseIterable, Sendable {
    /// As slot attention returned them (random, from the slot-noise draw).
    case encoded
    /// Sorted by the slot's codes, compared block by block: one canonical sequence per set.
    case sorted
}

/// How sorted order compares the key blocks' codes (`--sort-key`).
public enum SortRanking: String, Codable, CaseIterable, Sendable {
    /// By code id.
    case ids
    /// By rank in the dendrogram order of the block's prototypes (`BlockVectorQuantizer.prototypeRanks`),
    /// so that codes with alike prototypes, which mostly stand for one value, are neighbours.
    case prototypes
}

/// The codes of a dataset under one model: global ids `[count, N·M]` (block·P + code, slot-major).
public struct CodeCache: Sendable {
    public let codes: IntTensor
    public var count: Int { codes.shape[0] }

    public init(codes: IntTensor) { self.codes = codes }

    /// Encodes every image `draws` times (batches of `batchSize`, no gradients), each time with a fresh
    /// slot-noise draw from `seed`. Rows are draw-major: row `d·images.count + i` is draw `d` of image `i`.
    public static func encode(_ images: ImageSet, model: SVQModel, seed: UInt64, draws: Int = 1, batchSize: Int = 64,
                              progress: ((Int) -> Void)? = nil) -> CodeCache {
        precondition(draws >= 1, "at least one encoding per image")
        let c = model.config
        var values: [Int32] = []
        values.reserveCapacity(images.count * draws * c.codesPerImage)
        var rng = RandomGenerator(seed: seed, stream: RandomStreams.encodingCache)
        withoutGradients {
            for draw in 0..<draws {
                var start = 0
                while start < images.count {
                    let end = min(images.count, start + batchSize)
                    let local = model.encode(images.batch(Array(start..<end)), rng: &rng).codes
                    values += SemanticPrior.globalCodes(local: local, config: c).values
                    start = end
                    progress?(draw * images.count + end)
                }
            }
        }
        return CodeCache(codes: IntTensor(values, shape: [images.count * draws, c.codesPerImage]))
    }

    /// The same sets with their slots listed in `order` (`slots` slots of `codes.shape[1] / slots` blocks);
    /// sorted order compares `sortKey`'s blocks first, by `keyRanks` when given (see
    /// `SemanticPrior.sortedSlots`).
    public func ordered(_ order: SlotOrder, slots: Int, sortKey: [Int] = [], keyRanks: [[Int]] = []) -> CodeCache {
        switch order {
        case .encoded: return self
        case .sorted:
            return CodeCache(codes: SemanticPrior.sortedSlots(global: codes, slots: slots, keyBlocks: sortKey,
                                                              keyRanks: keyRanks))
        }
    }

    /// Rows `indices` as a batch `[B, N·M]`.
    public func batch(_ indices: [Int]) -> IntTensor {
        let t = codes.shape[1]
        var out: [Int32] = []
        out.reserveCapacity(indices.count * t)
        for i in indices { out += codes.values[(i * t)..<((i + 1) * t)] }
        return IntTensor(out, shape: [indices.count, t])
    }

    /// What a cache file must have been made from to be reused: the model and images (fingerprints), the
    /// encodings per image and the slot order.
    public struct Source: Equatable, Sendable {
        public var modelFingerprint: String
        public var dataFingerprint: String
        public var draws: Int
        public var slotOrder: SlotOrder
        /// The blocks sorted order compares first (empty: block by block).
        public var sortKey: [Int]
        /// How the key blocks' codes are compared.
        public var sortRanking: SortRanking

        public init(modelFingerprint: String, dataFingerprint: String, draws: Int = 1, slotOrder: SlotOrder = .encoded,
                    sortKey: [Int] = [], sortRanking: SortRanking = .ids) {
            self.modelFingerprint = modelFingerprint
            self.dataFingerprint = dataFingerprint
            self.draws = draws
            self.slotOrder = slotOrder
            self.sortKey = sortKey
            self.sortRanking = sortRanking
        }

        var metadata: [String: String] {
            var m = ["format": "svq-code-cache", "model": modelFingerprint, "data": dataFingerprint,
                     "draws": String(draws), "slot_order": slotOrder.rawValue]
            // Recorded only when set, so that caches written before the key existed still match.
            if slotOrder == .sorted && !sortKey.isEmpty {
                m["sort_key"] = sortKey.map(String.init).joined(separator: ",")
                if sortRanking != .ids { m["sort_by"] = sortRanking.rawValue }
            }
            return m
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
