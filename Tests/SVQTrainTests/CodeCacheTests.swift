// The prior's code cache: sorted slot order is one canonical listing per set, several encodings per image
// are laid out draw by draw, a cache file is reused only for the exact source it records, and prior
// checkpoints from before these choices existed still load.

import Foundation
import SVQEngine
import SVQModel
import SVQTrain
import XCTest

final class CodeCacheTests: XCTestCase {
    func testSortedSlotsListsEachSetsSlotsInOrderOfTheirCodes() {
        // Two sets of N = 3 slots × M = 2 blocks; expected orders worked out by hand.
        let codes = IntTensor([5, 1, 2, 9, 5, 0,
                               7, 3, 7, 3, 1, 8], shape: [2, 6])
        let sorted = SemanticPrior.sortedSlots(global: codes, slots: 3)
        XCTAssertEqual(sorted.shape, [2, 6])
        XCTAssertEqual(sorted.values, [2, 9, 5, 0, 5, 1,
                                       1, 8, 7, 3, 7, 3])
    }

    func testSortedSlotsComparesTheKeyBlocksFirst() {
        // One set of N = 3 slots × M = 3 blocks; keyed on block 2, then block 1, then 0, 1, 2.
        // Slot keys (block 2, block 1): (4, 1), (3, 2), (4, 0) → order: slot 1, slot 2, slot 0.
        let codes = IntTensor([0, 1, 4,
                               9, 2, 3,
                               5, 0, 4], shape: [1, 9])
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3, keyBlocks: [2, 1]).values,
                       [9, 2, 3, 5, 0, 4, 0, 1, 4])
        // Ties on the key fall back to the blocks in order: both slots have block 1 = 7.
        let tied = IntTensor([3, 7, 0, 1, 7, 5], shape: [1, 6])
        XCTAssertEqual(SemanticPrior.sortedSlots(global: tied, slots: 2, keyBlocks: [1]).values, [1, 7, 5, 3, 7, 0])
        // An empty key is the plain block-by-block order.
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3, keyBlocks: []).values,
                       SemanticPrior.sortedSlots(global: codes, slots: 3).values)
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3).values, [0, 1, 4, 5, 0, 4, 9, 2, 3])
    }

    func testSortedSlotsComparesKeyBlocksByRankWhenRanksAreGiven() {
        // N = 3 slots × M = 2 blocks, P = 4: block 0's ids are 0..<4, block 1's 4..<8. Block 0's ranks put
        // code 2 second and code 1 last: slots with block-0 codes 1, 2, 0 sort as 0, 2, 1 (by id: 0, 1, 2).
        let codes = IntTensor([1, 4, 2, 7, 0, 5], shape: [1, 6])
        let ranks = [[0, 3, 1, 2]]
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3, keyBlocks: [0], keyRanks: ranks).values,
                       [0, 5, 2, 7, 1, 4])
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3, keyBlocks: [0]).values, [0, 5, 1, 4, 2, 7])
        // Ranks for block 1 (4 + local): local 3 ranks first, so the slot with id 7 leads.
        XCTAssertEqual(SemanticPrior.sortedSlots(global: codes, slots: 3, keyBlocks: [1], keyRanks: [[1, 2, 3, 0]]).values,
                       [2, 7, 1, 4, 0, 5])
        // Through the cache, as train-prior sorts.
        let cache = CodeCache(codes: codes).ordered(.sorted, slots: 3, sortKey: [0], keyRanks: ranks)
        XCTAssertEqual(cache.codes.values, [0, 5, 2, 7, 1, 4])
    }

    func testSortedSlotsIgnoresTheOrderSlotAttentionReturned() {
        var rng = RandomGenerator(seed: 11)
        let n = 5, m = 4
        let slots = (0..<n).map { _ in (0..<m).map { b in Int32(b * 8) + Int32(rng.nextUInt32() % 8) } }
        let listings = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]].map { perm in
            IntTensor(perm.flatMap { slots[$0] }, shape: [1, n * m])
        }
        let canonical = listings.map { SemanticPrior.sortedSlots(global: $0, slots: n).values }
        XCTAssertEqual(canonical[0], canonical[1])
        XCTAssertEqual(canonical[0], canonical[2])
        // The same slots, each kept whole.
        let back = (0..<n).map { Array(canonical[0][($0 * m)..<(($0 + 1) * m)]) }
        XCTAssertEqual(Set(back.map { $0.map(String.init).joined(separator: ",") }),
                       Set(slots.map { $0.map(String.init).joined(separator: ",") }))
    }

    func testSeveralEncodingsPerImageAreLaidOutDrawByDraw() throws {
        var rng = RandomGenerator(seed: 2)
        let model = try SVQModel(config: tinyTrainingConfig(), rng: &rng)
        let images = squaresDataset()
        let once = CodeCache.encode(images, model: model, seed: 4, draws: 1, batchSize: 5)
        let thrice = CodeCache.encode(images, model: model, seed: 4, draws: 3, batchSize: 5)
        let t = model.config.codesPerImage
        XCTAssertEqual(thrice.codes.shape, [3 * images.count, t])
        // The first draw is the one-draw cache: draws continue the same noise stream.
        XCTAssertEqual(Array(thrice.codes.values[0..<(images.count * t)]), once.codes.values)
        // Later draws see other slot noise, so some image is encoded differently.
        let draw1 = Array(thrice.codes.values[(images.count * t)..<(2 * images.count * t)])
        XCTAssertNotEqual(draw1, once.codes.values)
        // Every row stays a valid code set: each position's id lies in its block.
        XCTAssertNoThrow(SemanticPrior.localCodes(global: thrice.codes, config: model.config))
    }

    func testCacheFileIsReusedOnlyForTheSourceItRecords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svq-code-cache-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("codes.safetensors")
        let cache = CodeCache(codes: IntTensor([0, 5, 1, 6, 2, 7, 3, 4], shape: [2, 4]))
        let source = CodeCache.Source(modelFingerprint: "m1", dataFingerprint: "d1", draws: 4, slotOrder: .sorted)
        try cache.write(to: url, source: source)
        XCTAssertEqual(CodeCache.read(from: url, source: source)?.codes.values, cache.codes.values)
        XCTAssertEqual(CodeCache.read(from: url, source: source)?.codes.shape, [2, 4])
        var other = source
        other.draws = 1
        XCTAssertNil(CodeCache.read(from: url, source: other), "a cache of 4 draws served for 1")
        other = source
        other.slotOrder = .encoded
        XCTAssertNil(CodeCache.read(from: url, source: other), "a sorted cache served for encoded order")
        other = source
        other.sortKey = [1, 2]
        XCTAssertNil(CodeCache.read(from: url, source: other), "a cache sorted block by block served for a keyed sort")
        var ranked = other
        ranked.sortRanking = .prototypes
        XCTAssertNil(CodeCache.read(from: url, source: ranked), "an unkeyed cache served for a prototype-ranked sort")
        let keyedURL = dir.appendingPathComponent("keyed.safetensors")
        try cache.write(to: keyedURL, source: other)
        XCTAssertEqual(CodeCache.read(from: keyedURL, source: other)?.codes.values, cache.codes.values)
        XCTAssertNil(CodeCache.read(from: keyedURL, source: source), "a keyed sort served for block-by-block order")
        XCTAssertNil(CodeCache.read(from: keyedURL, source: ranked), "a sort by code id served for one by prototype rank")
        let rankedURL = dir.appendingPathComponent("ranked.safetensors")
        try cache.write(to: rankedURL, source: ranked)
        XCTAssertEqual(CodeCache.read(from: rankedURL, source: ranked)?.codes.values, cache.codes.values)
        XCTAssertNil(CodeCache.read(from: rankedURL, source: other), "a sort by prototype rank served for one by code id")
        other = source
        other.modelFingerprint = "m2"
        XCTAssertNil(CodeCache.read(from: url, source: other), "a cache of another model served")
        // A truncated file is a miss, not a crash.
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        XCTAssertNil(CodeCache.read(from: url, source: source))
    }

    func testOptionsFromOlderCheckpointsMeanOneDrawInEncodedOrder() throws {
        let old = #"{"batchSize":40,"steps":12000,"seed":0,"learningRate":0.0003,"warmupSteps":1200,"halfLifeSteps":24000,"clipNorm":0.05}"#
        let options = try JSONDecoder().decode(PriorTrainingOptions.self, from: Data(old.utf8))
        XCTAssertEqual(options.encodingDraws, 1)
        XCTAssertEqual(options.slotOrder, .encoded)
        XCTAssertEqual(options.slotSortKey, [])
        XCTAssertEqual(options.slotSortRanking, .ids, "keys of older checkpoints compared code ids")
        XCTAssertEqual(options.warmupSteps, 1200)
        // And the new fields survive a round trip.
        var new = options
        new.encodingDraws = 8
        new.slotOrder = .sorted
        new.slotSortKey = [1, 2]
        new.slotSortRanking = .ids
        let again = try JSONDecoder().decode(PriorTrainingOptions.self, from: JSONEncoder().encode(new))
        XCTAssertEqual(again, new)
    }
}
