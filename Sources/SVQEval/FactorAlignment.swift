// Do blocks mean factors? Slots are matched to ground-truth objects by their attention masks; then for every
// (factor, block) pair, the block's code predicts the factor's value by majority vote (each code votes for
// the value it most often co-occurs with), and the accuracy of that prediction fills a factor × block table.
// A block that alone predicts colour with high accuracy has learned "colour".

import SVQData
import SVQEngine

/// A slot matched to an object: the slot's codes and the object's factor values.
public struct MatchedSlot: Sendable {
    public var codes: [Int]
    public var factors: [Int]
    public var iou: Double

    public init(codes: [Int], factors: [Int], iou: Double) {
        self.codes = codes
        self.factors = factors
        self.iou = iou
    }
}

public struct FactorAccuracy: Codable, Equatable, Sendable {
    public var factor: String
    /// Majority-vote accuracy of each block's code for this factor.
    public var blockAccuracy: [Double]
    public var bestBlock: Int
    public var bestAccuracy: Double
    /// Accuracy of always guessing the most common value (what a block with no information scores).
    public var chance: Double
    /// The two blocks whose joint code predicts the factor best, and that accuracy (nil with one block).
    /// Set beside `bestAccuracy`, it tells a factor spread over two blocks from one the codes do not hold.
    public var bestPair: [Int]?
    public var bestPairAccuracy: Double?
}

public struct FactorAlignmentReport: Codable, Equatable, Sendable {
    public var objects: Int
    public var matched: Int
    /// Mean IoU between matched slots' regions (over foreground pixels) and their objects' masks.
    public var meanIoU: Double
    /// Fraction of objects whose matched slot covers them with IoU ≥ 0.5.
    public var objectsWithIoUAbove50: Double
    public var factors: [FactorAccuracy]
}

public enum FactorAlignment {
    /// The factors read from the ground truth, in table order.
    public static let factorNames = ["shape", "colour", "size", "x", "y"]

    public static func factors(of o: SpriteObject) -> [Int] { [o.shape, o.colour, o.sizeBin, o.xBin, o.yBin] }

    /// Matches one image's slots to its objects, maximising the summed IoU between each slot's region (the
    /// foreground pixels where it has the largest attention) and each object's mask. `attention` is
    /// `[N, H·W]` row-major per slot; `labels` the object-index map (0 = background, k = object k).
    /// Returns, for each object, the matched slot and IoU (objects never share a slot).
    ///
    /// Background pixels are left out of the slot regions, as FG-ARI leaves them out: every pixel has some
    /// slot with the largest attention, so counting the background would charge each slot its share of it
    /// and favour whichever slot owns the least background over the one that covers the object.
    public static func match(attention: [Float], slots n: Int, labels: [UInt8], objects k: Int) -> [(slot: Int, iou: Double)] {
        let pixels = labels.count
        var owner = [Int](repeating: 0, count: pixels)
        for p in 0..<pixels {
            var best = 0
            for s in 1..<n where attention[s * pixels + p] > attention[best * pixels + p] { best = s }
            owner[p] = best
        }
        var inter = [[Int]](repeating: [Int](repeating: 0, count: n), count: k)
        var slotArea = [Int](repeating: 0, count: n), objectArea = [Int](repeating: 0, count: k)
        for p in 0..<pixels {
            let l = Int(labels[p])
            guard l > 0 else { continue }
            slotArea[owner[p]] += 1
            if l <= k { objectArea[l - 1] += 1; inter[l - 1][owner[p]] += 1 }
        }
        func iou(_ o: Int, _ s: Int) -> Double {
            let u = objectArea[o] + slotArea[s] - inter[o][s]
            return u > 0 ? Double(inter[o][s]) / Double(u) : 0
        }
        // With more objects than slots, the first N objects are matched.
        let scores = (0..<min(k, n)).map { o in (0..<n).map { iou(o, $0) } }
        return Assignment.maximizing(scores).enumerated().map { o, s in (s, iou(o, s)) }
    }

    /// The factor × block table over matched slots with `blocks` codes each.
    public static func report(_ matches: [MatchedSlot], objects: Int, blocks: Int) -> FactorAlignmentReport {
        let meanIoU = matches.isEmpty ? 0 : matches.map(\.iou).reduce(0, +) / Double(matches.count)
        let good = matches.filter { $0.iou >= 0.5 }.count
        var rows: [FactorAccuracy] = []
        for (f, name) in factorNames.enumerated() {
            let accuracies = (0..<blocks).map { b in majorityAccuracy(matches.map { ($0.codes[b], $0.factors[f]) }) }
            var valueCounts: [Int: Int] = [:]
            for m in matches { valueCounts[m.factors[f], default: 0] += 1 }
            let chance = matches.isEmpty ? 0 : Double(valueCounts.values.max() ?? 0) / Double(matches.count)
            let bestBlock = accuracies.indices.max { accuracies[$0] < accuracies[$1] } ?? 0
            var bestPair: [Int]?, bestPairAccuracy: Double?
            for a in 0..<blocks {
                for b in (a + 1)..<blocks {
                    // Codes are small non-negative integers, so (a, b) packs into one key without collisions.
                    let accuracy = majorityAccuracy(matches.map { ($0.codes[a] << 32 | $0.codes[b], $0.factors[f]) })
                    if accuracy > bestPairAccuracy ?? -1 { bestPair = [a, b]; bestPairAccuracy = accuracy }
                }
            }
            rows.append(FactorAccuracy(factor: name, blockAccuracy: accuracies, bestBlock: bestBlock,
                                       bestAccuracy: accuracies.isEmpty ? 0 : accuracies[bestBlock], chance: chance,
                                       bestPair: bestPair, bestPairAccuracy: bestPairAccuracy))
        }
        return FactorAlignmentReport(objects: objects, matched: matches.count, meanIoU: meanIoU,
                                     objectsWithIoUAbove50: objects > 0 ? Double(good) / Double(objects) : 0,
                                     factors: rows)
    }

    /// Accuracy of predicting `value` from `code` by each code's most frequent value, two-fold cross-fitted
    /// (votes counted on the even-indexed pairs score the odd ones and vice versa), so a code seen once
    /// cannot score by memorising its own value. A code unseen in the other half predicts that half's most
    /// common value.
    public static func majorityAccuracy(_ pairs: [(code: Int, value: Int)]) -> Double {
        guard pairs.count >= 2 else { return 0 }
        var correct = 0
        for fold in 0..<2 {
            var table: [Int: [Int: Int]] = [:], overall: [Int: Int] = [:]
            for (i, p) in pairs.enumerated() where i % 2 == fold {
                table[p.code, default: [:]][p.value, default: 0] += 1
                overall[p.value, default: 0] += 1
            }
            func vote(_ counts: [Int: Int]) -> Int? { counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key }
            let fallback = vote(overall)
            for (i, p) in pairs.enumerated() where i % 2 != fold {
                if (table[p.code].flatMap(vote) ?? fallback) == p.value { correct += 1 }
            }
        }
        return Double(correct) / Double(pairs.count)
    }
}
