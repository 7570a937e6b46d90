// Do sampled scenes obey the data's rule? Scenes sampled from the prior are decoded to images, parsed back
// into objects (the sprites generator knows its palette and shapes), and checked: the right number of
// objects, and exactly one property value that no other object shares.

import SVQData

public struct GenerationReport: Codable, Equatable, Sendable {
    public var samples: Int
    /// Scenes whose parsed object count lies in the data's range.
    public var countOK: Double
    /// Scenes with a valid count that obey the odd-one-out rule: the generation accuracy.
    public var accuracy: Double
    /// Mean parsed objects per scene.
    public var meanObjects: Double
}

public enum GenerationCheck {
    /// Checks parsed scenes against the odd-one-out rule with `objects` objects allowed per scene.
    public static func report(_ scenes: [[ParsedObject]], objects: ClosedRange<Int>) -> GenerationReport {
        report(scenes.map { (shapes: $0.map(\.shape), colours: $0.map(\.colour)) }, objects: objects)
    }

    /// The same over each scene's object shapes and colours.
    public static func report(_ scenes: [(shapes: [Int], colours: [Int])], objects: ClosedRange<Int>) -> GenerationReport {
        var countOK = 0, ruleOK = 0, total = 0
        for s in scenes {
            total += s.shapes.count
            guard objects.contains(s.shapes.count) else { continue }
            countOK += 1
            if OddOneOut.holds(shapes: s.shapes, colours: s.colours) { ruleOK += 1 }
        }
        let n = Double(max(scenes.count, 1))
        return GenerationReport(samples: scenes.count, countOK: Double(countOK) / n, accuracy: Double(ruleOK) / n,
                                meanObjects: Double(total) / n)
    }
}
