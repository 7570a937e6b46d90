// A small strict JSON parser and writer for safetensors headers.
//
// Why not JSONSerialization: it yields NSNumber (whose Int/Double bridging differs between
// platforms), silently keeps one of two duplicate keys, and gives no control over recursion
// depth. This parser
//   * accepts exactly RFC 8259 JSON (plus trailing whitespace, which is how headers are padded),
//   * keeps object members in file order and records the first duplicate key of each object,
//   * keeps numbers as their literal plus an exact `Int` when the literal is a plain integer,
//   * validates UTF-8 inside strings (JSON outside strings is ASCII by grammar),
//   * bounds nesting depth so hostile headers cannot overflow the stack.

/// A parsed JSON value.
indirect enum JSONValue {
    case object(JSONObject)
    case array([JSONValue])
    case string(String)
    case number(JSONNumber)
    case bool(Bool)
    case null

    /// Short description of the JSON type, for error messages.
    var typeName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number(let n): return "the number \(n.literal)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

struct JSONMember {
    var key: String
    var value: JSONValue
}

struct JSONObject {
    /// Members in file order (duplicates included).
    var members: [JSONMember] = []
    /// The first key that occurred more than once, if any.
    var firstDuplicateKey: String?

    /// The first member with this key.
    subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }
}

struct JSONNumber {
    /// The literal as written (shortened if very long).
    var literal: String
    /// The exact value if the literal is a plain integer (`-?[0-9]+`, no fraction or exponent)
    /// that fits in `Int`; otherwise nil.
    var intValue: Int?
    /// Whether the literal is a plain integer (possibly too large for `Int`).
    var isPlainInteger: Bool
}

struct JSONParseError: Error {
    enum Reason { case syntax, utf8 }
    var reason: Reason
    var message: String
}

struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private var scratch: [UInt8] = []

    /// Parses a complete document: one value, optionally surrounded by whitespace.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.i != bytes.count {
            throw parser.syntaxError("unexpected \(parser.describeByte()) after the JSON value")
        }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    // MARK: - Helpers

    private func syntaxError(_ message: String) -> JSONParseError {
        JSONParseError(reason: .syntax, message: "\(message) at byte \(i) of the header")
    }

    private func describeByte() -> String {
        guard i < bytes.count else { return "end of header" }
        let b = bytes[i]
        if b >= 0x21 && b < 0x7F {
            return "character '\(Character(Unicode.Scalar(b)))'"
        }
        return "byte 0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
    }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard i < bytes.count, bytes[i] == byte else {
            throw syntaxError("expected \(what) but found \(describeByte())")
        }
        i += 1
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard i < bytes.count else { throw syntaxError("unexpected end of header") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["):
            return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        default:
            throw syntaxError("unexpected \(describeByte())")
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let start = word.utf8Start
        for k in 0..<n {
            guard i < bytes.count, bytes[i] == start[k] else {
                throw syntaxError("invalid literal (expected \(word))")
            }
            i += 1
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONObject {
        let close = UInt8(ascii: "}")
        var object = JSONObject()
        var seen = Set<String>()
        guard try enterContainer(depth: depth, close: close) else { return object }
        repeat {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw syntaxError("expected a string key but found \(describeByte())")
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if object.firstDuplicateKey == nil, !seen.insert(key).inserted {
                object.firstDuplicateKey = key
            }
            object.members.append(JSONMember(key: key, value: value))
        } while try moreElements(close: close, in: "object")
        return object
    }

    private mutating func parseArray(depth: Int) throws -> [JSONValue] {
        let close = UInt8(ascii: "]")
        var array: [JSONValue] = []
        guard try enterContainer(depth: depth, close: close) else { return array }
        repeat {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
        } while try moreElements(close: close, in: "array")
        return array
    }

    /// Steps past an object's or array's opening bracket (refusing to nest deeper than `maxDepth`). Returns
    /// whether elements follow; if not, the closing bracket is consumed too.
    private mutating func enterContainer(depth: Int, close: UInt8) throws -> Bool {
        guard depth <= JSONParser.maxDepth else {
            throw syntaxError("JSON nested deeper than \(JSONParser.maxDepth) levels")
        }
        i += 1
        skipWhitespace()
        if i < bytes.count, bytes[i] == close {
            i += 1
            return false
        }
        return true
    }

    /// After an element: consumes the ',' before another one (true) or the closing bracket (false).
    private mutating func moreElements(close: UInt8, in container: String) throws -> Bool {
        skipWhitespace()
        guard i < bytes.count else { throw syntaxError("unterminated \(container)") }
        if bytes[i] == UInt8(ascii: ",") {
            i += 1
            return true
        }
        try expect(close, "',' or '\(Character(Unicode.Scalar(close)))'")
        return false
    }

    private mutating func parseNumber() throws -> JSONNumber {
        let start = i
        var negative = false
        if bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        // Integer part: 0 | [1-9][0-9]*
        guard i < bytes.count, isDigit(bytes[i]) else {
            throw syntaxError("invalid number")
        }
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) {
                if !overflow {
                    let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[i] - UInt8(ascii: "0")))
                    if o1 || o2 { overflow = true } else { magnitude = m2 }
                }
                i += 1
            }
        }
        var plainInteger = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            plainInteger = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw syntaxError("invalid number: digit expected after '.'") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            plainInteger = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw syntaxError("invalid number: digit expected in exponent") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        let length = i - start
        var literal = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(i, start + 40)]), as: UTF8.self)
        if length > 40 { literal += "…(\(length) characters)" }

        var intValue: Int?
        if plainInteger, !overflow {
            if negative {
                if magnitude <= UInt64(Int.max) { intValue = -Int(magnitude) }
                else if magnitude == UInt64(Int.max) + 1 { intValue = Int.min }
            } else if magnitude <= UInt64(Int.max) {
                intValue = Int(magnitude)
            }
        }
        return JSONNumber(literal: literal, intValue: intValue, isPlainInteger: plainInteger)
    }

    private func isDigit(_ b: UInt8) -> Bool {
        b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    private mutating func parseString() throws -> String {
        let stringStart = i
        i += 1  // opening quote
        scratch.removeAll(keepingCapacity: true)
        var asciiOnly = true
        while true {
            guard i < bytes.count else {
                i = stringStart
                throw syntaxError("unterminated string")
            }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                if asciiOnly {
                    return String(decoding: scratch, as: UTF8.self)
                }
                guard let s = String(validating: scratch, as: UTF8.self) else {
                    i = stringStart
                    throw JSONParseError(reason: .utf8, message: "invalid UTF-8 in the string starting at byte \(stringStart) of the header")
                }
                return s
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw syntaxError("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if code >= 0xD800 && code <= 0xDBFF {
                        // High surrogate: must be followed by \uDC00-\uDFFF.
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw syntaxError("unpaired UTF-16 surrogate in \\u escape")
                        }
                        i += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00 && low <= 0xDFFF else {
                            throw syntaxError("unpaired UTF-16 surrogate in \\u escape")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if code >= 0xDC00 && code <= 0xDFFF {
                        throw syntaxError("unpaired UTF-16 surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else {
                        throw syntaxError("invalid \\u escape")
                    }
                    if code >= 0x80 { asciiOnly = false }
                    scratch.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    i -= 1
                    throw syntaxError("invalid escape sequence")
                }
            default:
                if b < 0x20 {
                    throw syntaxError("unescaped control character in string")
                }
                if b >= 0x80 { asciiOnly = false }
                scratch.append(b)
                i += 1
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw syntaxError("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }
}

// MARK: - Writing

/// Appends `s` to `out` as a JSON string literal (with quotes). Escapes `"`, `\` and control
/// characters; everything else is written as UTF-8, so output is deterministic.
func appendJSONString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case 0x22: out.append(contentsOf: [0x5C, 0x22])
        case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
        default:
            out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}

func appendASCII(_ s: String, to out: inout [UInt8]) {
    out.append(contentsOf: s.utf8)
}
