// Which objects of a held-out scene survive encode → decode: the objects parsed from each decoded image are
// matched to the scene's ground truth by centre distance, and the report counts objects lost, objects added,
// and shapes and colours changed. It says *why* decoded scenes break the odd-one-out rule (a lost object, a
// star drawn as a plus …), which the rule's single pass/fail figure cannot.

import SVQData

/// How often one true value was read back as another.
public struct Confusion: Codable, Equatable, Sendable {
    public var truth: String
    public var parsed: String
    public var count: Int

    public init(truth: String, parsed: String, count: Int) {
        (self.truth, self.parsed, self.count) = (truth, parsed, count)
    }
}

public struct ObjectRecoveryReport: Codable, Equatable, Sendable {
    /// Scenes and ground-truth objects compared.
    public var scenes: Int
    public var objects: Int
    /// Ground-truth objects with a parsed object close enough to match them.
    public var found: Double
    /// Parsed objects matching no ground-truth object, per ground-truth object.
    public var extra: Double
    /// Mean distance in pixels between the centres of matched objects (position is coded coarsely, so decoded
    /// objects drift; the odd-one-out rule ignores position).
    public var meanCentreOffset: Double
    /// Among matched objects: the parsed shape and colour are the true ones.
    public var shapeAccuracy: Double
    public var colourAccuracy: Double
    /// Scenes read back exactly: every object found with its shape and colour, nothing added.
    public var exactScenes: Double
    /// The most frequent wrong readings among matched objects, most frequent first (at most `confusionLimit`).
    public var shapeConfusions: [Confusion]
    public var colourConfusions: [Confusion]
}

public enum ObjectRecovery {
    /// Confusions listed per property.
    public static let confusionLimit = 10

    /// Pairs each true object with at most one parsed object and the reverse: closest centres first, a pair
    /// counted only when the centres lie within the true object's side (at least 4 px) — further away, the
    /// parsed object is not a rendering of that object. The reach is that wide because decoded objects drift:
    /// with half the side, a fifth of the bundled model's objects read as lost plus added, though the object
    /// count was right. Returns (true index, parsed index, centre distance) in order of the true index.
    public static func match(_ truth: [SpriteObject], _ parsed: [ParsedObject]) -> [(truth: Int, parsed: Int, distance: Double)] {
        var candidates: [(distance: Double, truth: Int, parsed: Int)] = []
        for (i, t) in truth.enumerated() {
            let reach = max(4, Double(t.size))
            for (j, p) in parsed.enumerated() {
                let (dx, dy) = (p.centerX - t.centerX, p.centerY - t.centerY)
                let d = (dx * dx + dy * dy).squareRoot()
                if d <= reach { candidates.append((d, i, j)) }
            }
        }
        // Ties broken by index so that the matching does not depend on the sort's stability.
        candidates.sort { ($0.distance, $0.truth, $0.parsed) < ($1.distance, $1.truth, $1.parsed) }
        var usedTruth = Set<Int>(), usedParsed = Set<Int>()
        var pairs: [(truth: Int, parsed: Int, distance: Double)] = []
        for c in candidates where !usedTruth.contains(c.truth) && !usedParsed.contains(c.parsed) {
            usedTruth.insert(c.truth)
            usedParsed.insert(c.parsed)
            pairs.append((c.truth, c.parsed, c.distance))
        }
        return pairs.sorted { $0.truth < $1.truth }
    }

    /// The report over scenes (ground truth) and the objects parsed from their decoded images, in the same order.
    public static func report(truth scenes: [[SpriteObject]], parsed: [[ParsedObject]]) -> ObjectRecoveryReport {
        precondition(scenes.count == parsed.count, "one parsed scene per true scene")
        var objects = 0, found = 0, extra = 0, shapeRight = 0, colourRight = 0, exact = 0
        var offset = 0.0
        var shapeMistakes: [String: [String: Int]] = [:], colourMistakes: [String: [String: Int]] = [:]
        for (truth, read) in zip(scenes, parsed) {
            let pairs = match(truth, read)
            objects += truth.count
            found += pairs.count
            extra += read.count - pairs.count
            var allRight = pairs.count == truth.count && read.count == truth.count
            for (i, j, distance) in pairs {
                let (t, p) = (truth[i], read[j])
                offset += distance
                if p.shape == t.shape { shapeRight += 1 } else {
                    shapeMistakes[t.shapeName, default: [:]][p.shapeName, default: 0] += 1
                    allRight = false
                }
                if p.colour == t.colour { colourRight += 1 } else {
                    colourMistakes[t.colourName, default: [:]][p.colourName, default: 0] += 1
                    allRight = false
                }
            }
            if allRight { exact += 1 }
        }
        func fraction(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        return ObjectRecoveryReport(
            scenes: scenes.count, objects: objects,
            found: fraction(found, objects), extra: fraction(extra, objects),
            meanCentreOffset: found == 0 ? 0 : offset / Double(found),
            shapeAccuracy: fraction(shapeRight, found), colourAccuracy: fraction(colourRight, found),
            exactScenes: fraction(exact, scenes.count),
            shapeConfusions: ranked(shapeMistakes), colourConfusions: ranked(colourMistakes))
    }

    private static func ranked(_ mistakes: [String: [String: Int]]) -> [Confusion] {
        let all = mistakes.flatMap { truth, row in row.map { Confusion(truth: truth, parsed: $0.key, count: $0.value) } }
        return Array(all.sorted { ($1.count, $0.truth, $0.parsed) < ($0.count, $1.truth, $1.parsed) }.prefix(confusionLimit))
    }
}
