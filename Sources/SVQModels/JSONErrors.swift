// A JSON decoding error in a user's terms: which key, where, and what was wrong, with the key spelled as the
// file spells it — not Swift's `DecodingError.keyNotFound(CodingKeys(stringValue: …), Context(…))`.

import Foundation

/// How the keys of a JSON file are spelled, so an error names them as the file does.
public enum JSONKeySpelling: Sendable {
    /// As the Swift properties (`numSlots`): SVQ configs.
    case asDeclared
    /// snake_case (`num_slots`): files read with `.convertFromSnakeCase`.
    case snakeCase

    func spell(_ key: String) -> String {
        switch self {
        case .asDeclared:
            return key
        case .snakeCase:
            var out = ""
            for ch in key {
                if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
            }
            return out
        }
    }
}

/// `error` in a sentence: for a `DecodingError`, the key path and the problem; otherwise its own text.
public func describe(_ error: any Error, keysIn spelling: JSONKeySpelling = .asDeclared) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? spelling.spell($0.stringValue) }
            .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
    func place(_ keys: [any CodingKey]) -> String { keys.isEmpty ? "" : " in \"\(path(keys))\"" }
    switch error {
    case let .keyNotFound(key, context):
        return "the key \"\(spelling.spell(key.stringValue))\" is missing\(place(context.codingPath))"
    case let .typeMismatch(type, context):
        return "\"\(path(context.codingPath))\" is not \(jsonKind(type))"
    case let .valueNotFound(type, context):
        return "\"\(path(context.codingPath))\" is null, but must be \(jsonKind(type))"
    case let .dataCorrupted(context):
        if context.codingPath.isEmpty { return "not valid JSON" }
        return "\"\(path(context.codingPath))\" has a value that is not allowed"
    @unknown default:
        return "\(error)"
    }
}

/// What a JSON value of Swift type `type` is called in JSON.
private func jsonKind(_ type: Any.Type) -> String {
    switch type {
    case is any BinaryInteger.Type: return "an integer"
    case is any BinaryFloatingPoint.Type: return "a number"
    case is String.Type: return "a string"
    case is Bool.Type: return "true or false"
    default: return "\(type)".hasPrefix("Array") ? "a list" : "an object"
    }
}
