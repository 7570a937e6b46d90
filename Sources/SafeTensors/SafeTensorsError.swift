/// An error thrown while reading, validating or writing a safetensors file.
///
/// Every error has a machine-checkable ``kind`` and a human-readable ``message`` that names
/// the problem and, where there is one, the tensor involved:
///
/// ```swift
/// do {
///     let file = try SafeTensorsFile(contentsOf: url)
///     let w = try file.floats("a.weight")
/// } catch let error as SafeTensorsError where error.kind == .shapeMismatch {
///     print(error)   // tensor "a.weight": shape [2, 3] × F32 needs 24 bytes but data_offsets [0, 20] cover 20
/// }
/// ```
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: String, Sendable, Equatable, Hashable, CaseIterable {
        // MARK: File layout
        /// The file is shorter than the 8-byte header length prefix.
        case truncatedFile
        /// The header length exceeds ``SafeTensorsFile/maxHeaderSize`` (100 000 000 bytes).
        case headerTooLarge
        /// The header length points past the end of the file.
        case headerPastEndOfFile
        /// The header contains bytes that are not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON (includes nesting deeper than the parser allows).
        case headerNotJSON
        /// The header is JSON but not an object, or does not start with `{`.
        case headerNotObject

        // MARK: Header entries
        /// A tensor entry is not an object, lacks `dtype`/`shape`/`data_offsets`, or has a field of the wrong JSON type.
        case invalidEntry
        /// The `dtype` string is not a supported safetensors dtype.
        case unknownDType
        /// A shape dimension is negative, fractional, non-numeric or too large for `Int`.
        case invalidShape
        /// `data_offsets` is not two non-negative integers `[begin, end]` with `begin <= end`.
        case invalidOffsets
        /// The element or byte count implied by a shape overflows `Int`.
        case sizeOverflow
        /// The byte size implied by dtype × shape differs from the byte range (or, when
        /// writing, the number of values differs from the product of the shape).
        case shapeMismatch
        /// A tensor's byte range ends past the end of the byte buffer.
        case offsetsOutOfBounds
        /// Two tensors' byte ranges overlap.
        case offsetsOverlap
        /// There are unused bytes between two tensors (or before the first one).
        case offsetsGap
        /// The byte buffer has bytes after the last tensor.
        case bufferNotCovered
        /// A tensor name (or metadata key) occurs more than once.
        case duplicateName
        /// A tensor was named `__metadata__` when writing.
        case reservedName
        /// `__metadata__` is not an object whose values are all strings.
        case metadataNotStrings

        // MARK: Access
        /// No tensor with the requested name.
        case tensorNotFound
        /// The tensor's dtype cannot be returned by the accessor that was called.
        case wrongDType
        /// A value does not fit the requested Swift type (e.g. a U64 above `Int.max`).
        case valueOutOfRange

        // MARK: I/O
        /// Reading or writing the file failed.
        case ioError
    }

    /// What went wrong.
    public let kind: Kind
    /// The tensor involved, if any.
    public let tensor: String?
    /// A human-readable explanation (includes the tensor name when there is one).
    public let message: String

    public init(_ kind: Kind, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor {
            return "tensor \(quoted(tensor)): \(message)"
        }
        return message
    }
}

/// Quotes a name for an error message, escaping what would make the message ambiguous and
/// shortening absurdly long names (which hostile files may contain).
func quoted(_ name: String) -> String {
    var out = "\""
    var count = 0
    for scalar in name.unicodeScalars {
        if count == 200 {
            out += "…"
            break
        }
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        count += 1
    }
    return out + "\""
}

/// `[2, 3, 4]`
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
