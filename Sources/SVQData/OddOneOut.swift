// The odd-one-out rule of the 2D Sprites downstream task. The properties are shape and colour (size and
// position are not part of the rule). A scene satisfies the rule when exactly one (property, value) pair
// occurs exactly once, and every other value of either property occurs at least twice; the object carrying
// that unique value is the odd one out.

/// A property the odd-one-out rule looks at.
public enum SceneProperty: String, Codable, CaseIterable, Sendable {
    case shape, colour
}

/// The answer of an odd-one-out scene: which property and value is unique, and which object has it.
public struct OddOneOutAnswer: Codable, Equatable, Sendable {
    public let property: SceneProperty
    public let value: Int
    /// Index of the odd object in the scene's object list.
    public let object: Int

    public init(property: SceneProperty, value: Int, object: Int) {
        self.property = property
        self.value = value
        self.object = object
    }
}

public enum OddOneOut {
    /// Whether the objects with these shapes and colours (parallel arrays) satisfy the rule.
    public static func holds(shapes: [Int], colours: [Int]) -> Bool {
        answer(shapes: shapes, colours: colours) != nil
    }

    /// The odd one out, or nil when the rule does not hold.
    public static func answer(shapes: [Int], colours: [Int]) -> OddOneOutAnswer? {
        precondition(shapes.count == colours.count, "one shape and one colour per object")
        var singletons: [OddOneOutAnswer] = []
        for (property, values) in [(SceneProperty.shape, shapes), (.colour, colours)] {
            var counts: [Int: Int] = [:]
            for v in values { counts[v, default: 0] += 1 }
            for (value, count) in counts where count == 1 {
                singletons.append(OddOneOutAnswer(property: property, value: value,
                                                  object: values.firstIndex(of: value)!))
            }
        }
        return singletons.count == 1 ? singletons[0] : nil
    }
}
