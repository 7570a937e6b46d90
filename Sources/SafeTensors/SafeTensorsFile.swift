import Foundation

/// Name, dtype, shape and location of one tensor in a safetensors file.
public struct TensorInfo: Sendable, Equatable, Hashable {
    /// The tensor's name (its key in the header).
    public let name: String
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The shape; `[]` for a scalar. Row-major.
    public let shape: [Int]
    /// The tensor's byte range, relative to the start of the byte buffer (`data_offsets`).
    public let dataOffsets: Range<Int>

    /// Number of elements (product of `shape`; 1 for a scalar).
    public var elementCount: Int { byteCount / dtype.byteSize }
    /// Number of bytes (`dataOffsets.count`).
    public var byteCount: Int { dataOffsets.count }
}

/// A parsed, fully validated safetensors file held in memory.
///
/// The safetensors format is an 8-byte little-endian header length `N`, then `N` bytes of
/// UTF-8 JSON describing each tensor (`dtype`, `shape`, `data_offsets`) plus optional string
/// `__metadata__`, then the tensors' little-endian, row-major bytes.
///
/// Initialisation validates everything up front — header size and syntax, every entry, and
/// that the tensors tile the byte buffer exactly — so any file that loads can be read without
/// further structural errors. No input, however hostile, makes the initialiser crash: every
/// problem is reported as a ``SafeTensorsError`` with a specific ``SafeTensorsError/Kind``.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// print(file.metadata["format"] ?? "-")
/// for name in file.names {
///     let info = file.info(name)!
///     print(name, info.dtype, info.shape)
/// }
/// let weight: [Float] = try file.floats("linear.weight")   // F32, F64, F16 or BF16
/// let ids: [Int] = try file.ints("token_ids")               // any integer dtype
/// ```
///
/// Notes on the header:
/// * Duplicate keys (tensor names, metadata keys, or fields in an entry) are rejected rather
///   than silently resolved. Names are compared with Swift `String` equality, i.e. up to
///   Unicode canonical equivalence.
/// * Unknown fields in a tensor entry are ignored, as in the reference implementation;
///   `"__metadata__": null` is accepted as empty metadata.
public struct SafeTensorsFile: Sendable {
    /// The largest header the reader accepts, in bytes (same limit as the reference reader).
    public static let maxHeaderSize = 100_000_000

    /// The string key/value pairs of `__metadata__` (empty if absent).
    public let metadata: [String: String]

    /// All tensors, ordered by their position in the byte buffer.
    public let tensors: [TensorInfo]

    /// Tensor names, ordered by their position in the byte buffer.
    public var names: [String] { tensors.map(\.name) }

    /// Where the bytes are: the whole file in memory, or an open file read tensor by tensor.
    private let storage: Storage
    /// Offset of the byte buffer within the file (8 + header length).
    private let bufferStart: Int
    private let index: [String: Int]

    private enum Storage: Sendable {
        case memory(Data)
        case file(OpenFile)
    }

    /// Reads the whole file at `url` into memory and validates it.
    ///
    /// - Throws: ``SafeTensorsError`` with kind ``SafeTensorsError/Kind/ioError`` if the file cannot
    ///   be read or is not a regular file (a FIFO or device is refused, not waited on), or any validation
    ///   error (see ``init(data:)``).
    public init(contentsOf url: URL) throws {
        guard url.isFileURL else {
            throw SafeTensorsError(.ioError, "cannot read \(url.absoluteString): not a file URL")
        }
        let data = try url.withUnsafeFileSystemRepresentation { path in
            guard let path else { throw SafeTensorsError(.ioError, "cannot read \(url.path): not a valid file-system path") }
            let file = try OpenFile(path: path)
            return try file.read(at: 0, count: file.size)
        }
        try self.init(data: data)
    }

    /// Parses and validates a complete safetensors file held in `data`.
    ///
    /// - Throws: ``SafeTensorsError`` describing the first problem found.
    public init(data: Data) throws {
        // Work on a zero-based copy-on-write view so that slices of larger Data work too.
        let bytes = data.startIndex == 0 ? data : Data(data)
        try self.init(prefix: bytes, total: bytes.count, storage: .memory(bytes))
    }

    /// Opens the regular file at `path` (a file-system path as C bytes), reads and validates its header, and
    /// reads tensors from the file only when asked for them — so a caller that copies tensors into its own
    /// buffers one at a time never holds more than one tensor's bytes besides its own copy.
    ///
    /// The file stays open while this value (or a copy) exists. It must not change meanwhile: the header's
    /// checks held when it was opened, and a file that shrinks later makes the reads throw.
    ///
    /// - Throws: ``SafeTensorsError`` with kind ``SafeTensorsError/Kind/ioError`` if the file cannot be
    ///   opened or read or is not a regular file, or any validation error (see ``init(data:)``).
    public init(fileAt path: UnsafePointer<CChar>) throws {
        let file = try OpenFile(path: path)
        // The length prefix and the header: at most 8 + maxHeaderSize bytes, checked before they are read.
        let lengthBytes = try file.read(at: 0, count: min(8, file.size))
        var prefix = lengthBytes
        if lengthBytes.count == 8 {
            let headerLength = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            if headerLength <= UInt64(SafeTensorsFile.maxHeaderSize) && Int(headerLength) <= file.size - 8 {
                prefix += try file.read(at: 8, count: Int(headerLength))
            }
        }
        try self.init(prefix: prefix, total: file.size, storage: .file(file))
    }

    /// Validates the header in `prefix` (the file's first bytes: at least the length prefix and the header
    /// when they fit in the file) against a file of `total` bytes.
    private init(prefix storage: Data, total: Int, storage whole: Storage) throws {

        guard total >= 8 else {
            throw SafeTensorsError(.truncatedFile, "file is \(total) bytes; a safetensors file needs at least 8 bytes for the header length")
        }
        let headerLength64: UInt64 = storage.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength64 <= UInt64(SafeTensorsFile.maxHeaderSize) else {
            throw SafeTensorsError(.headerTooLarge, "header length \(headerLength64) exceeds the limit of \(SafeTensorsFile.maxHeaderSize) bytes")
        }
        let headerLength = Int(headerLength64)
        guard headerLength <= total - 8 else {
            throw SafeTensorsError(.headerPastEndOfFile, "header length \(headerLength) extends past the end of the file (only \(total - 8) bytes follow the length prefix)")
        }
        let bufferStart = 8 + headerLength
        let bufferLength = total - bufferStart

        let root: JSONValue
        do {
            root = try storage.withUnsafeBytes { raw in
                try JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[8..<bufferStart]))
            }
        } catch let error as JSONParseError {
            switch error.reason {
            case .utf8: throw SafeTensorsError(.headerNotUTF8, "header is not valid UTF-8: \(error.message)")
            case .syntax: throw SafeTensorsError(.headerNotJSON, "header is not valid JSON: \(error.message)")
            }
        }
        guard case .object(let object) = root else {
            throw SafeTensorsError(.headerNotObject, "header must be a JSON object but is \(root.typeName)")
        }
        guard storage[8] == UInt8(ascii: "{") else {
            throw SafeTensorsError(.headerNotObject, "header must start with '{' (no leading whitespace)")
        }
        if let duplicate = object.firstDuplicateKey {
            if duplicate == "__metadata__" {
                throw SafeTensorsError(.duplicateName, "header contains \"__metadata__\" more than once")
            }
            throw SafeTensorsError(.duplicateName, tensor: duplicate, "name occurs more than once in the header")
        }

        var metadata: [String: String] = [:]
        var entries: [(info: TensorInfo, headerPosition: Int)] = []
        entries.reserveCapacity(object.members.count)
        for (position, member) in object.members.enumerated() {
            if member.key == "__metadata__" {
                metadata = try SafeTensorsFile.parseMetadata(member.value)
            } else {
                let info = try SafeTensorsFile.parseEntry(name: member.key, member.value, bufferLength: bufferLength)
                entries.append((info, position))
            }
        }

        // The tensors must tile the buffer exactly. Zero-size tensors may sit at any boundary.
        entries.sort { a, b in
            if a.info.dataOffsets.lowerBound != b.info.dataOffsets.lowerBound {
                return a.info.dataOffsets.lowerBound < b.info.dataOffsets.lowerBound
            }
            if a.info.dataOffsets.upperBound != b.info.dataOffsets.upperBound {
                return a.info.dataOffsets.upperBound < b.info.dataOffsets.upperBound
            }
            return a.headerPosition < b.headerPosition
        }
        var covered = 0
        var previous: TensorInfo?
        for (info, _) in entries {
            let begin = info.dataOffsets.lowerBound
            if begin < covered, let previous {
                throw SafeTensorsError(.offsetsOverlap, tensor: info.name,
                    "data_offsets [\(begin), \(info.dataOffsets.upperBound)] overlap tensor \(quoted(previous.name)) at [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]")
            }
            if begin > covered {
                if let previous {
                    throw SafeTensorsError(.offsetsGap, tensor: info.name,
                        "gap of \(begin - covered) bytes between the end of tensor \(quoted(previous.name)) (offset \(covered)) and the start of this tensor (offset \(begin))")
                }
                throw SafeTensorsError(.offsetsGap, tensor: info.name,
                    "first tensor in the buffer starts at offset \(begin), leaving \(begin) unused bytes before it")
            }
            covered = info.dataOffsets.upperBound
            previous = info
        }
        if covered != bufferLength {
            throw SafeTensorsError(.bufferNotCovered,
                "byte buffer is \(bufferLength) bytes but the tensors cover only \(covered); \(bufferLength - covered) trailing bytes are not part of any tensor")
        }

        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (k, entry) in entries.enumerated() { index[entry.info.name] = k }

        self.storage = whole
        self.bufferStart = bufferStart
        self.metadata = metadata
        self.tensors = entries.map(\.info)
        self.index = index
    }

    // MARK: - Header validation

    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let object):
            if let duplicate = object.firstDuplicateKey {
                throw SafeTensorsError(.duplicateName, "__metadata__ contains the key \(quoted(duplicate)) more than once")
            }
            var result: [String: String] = [:]
            result.reserveCapacity(object.members.count)
            for member in object.members {
                let key = member.key, v = member.value
                guard case .string(let s) = v else {
                    throw SafeTensorsError(.metadataNotStrings, "__metadata__ value for key \(quoted(key)) must be a string but is \(v.typeName)")
                }
                result[key] = s
            }
            return result
        default:
            throw SafeTensorsError(.metadataNotStrings, "__metadata__ must be an object of strings but is \(value.typeName)")
        }
    }

    private static func parseEntry(name: String, _ value: JSONValue, bufferLength: Int) throws -> TensorInfo {
        guard case .object(let entry) = value else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "entry must be an object with dtype, shape and data_offsets but is \(value.typeName)")
        }
        if let duplicate = entry.firstDuplicateKey {
            throw SafeTensorsError(.invalidEntry, tensor: name, "entry contains the field \(quoted(duplicate)) more than once")
        }

        // dtype
        guard let dtypeValue = entry["dtype"] else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "entry has no \"dtype\"")
        }
        guard case .string(let dtypeString) = dtypeValue else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "\"dtype\" must be a string but is \(dtypeValue.typeName)")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeString) else {
            let subByte = ["F4", "F6_E2M3", "F6_E3M2"].contains(dtypeString)
            throw SafeTensorsError(.unknownDType, tensor: name,
                subByte ? "sub-byte dtype \(quoted(dtypeString)) is not supported"
                        : "unknown dtype \(quoted(dtypeString))")
        }

        // shape
        guard let shapeValue = entry["shape"] else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "entry has no \"shape\"")
        }
        guard case .array(let shapeArray) = shapeValue else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "\"shape\" must be an array but is \(shapeValue.typeName)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for (axis, dim) in shapeArray.enumerated() {
            shape.append(try nonNegativeInteger(dim, tensor: name, kind: .invalidShape, what: "shape[\(axis)]"))
        }

        // data_offsets
        guard let offsetsValue = entry["data_offsets"] else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "entry has no \"data_offsets\"")
        }
        guard case .array(let offsets) = offsetsValue else {
            throw SafeTensorsError(.invalidEntry, tensor: name, "\"data_offsets\" must be an array but is \(offsetsValue.typeName)")
        }
        guard offsets.count == 2 else {
            throw SafeTensorsError(.invalidOffsets, tensor: name, "\"data_offsets\" must have exactly 2 elements [begin, end] but has \(offsets.count)")
        }
        let begin = try nonNegativeInteger(offsets[0], tensor: name, kind: .invalidOffsets, what: "data_offsets[0]")
        let end = try nonNegativeInteger(offsets[1], tensor: name, kind: .invalidOffsets, what: "data_offsets[1]")
        guard begin <= end else {
            throw SafeTensorsError(.invalidOffsets, tensor: name, "data_offsets [\(begin), \(end)] end before they begin")
        }

        // dtype × shape must match the byte range.
        var elements = 1
        for dim in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw SafeTensorsError(.sizeOverflow, tensor: name, "element count of shape \(formatShape(shape)) overflows Int")
            }
            elements = product
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw SafeTensorsError(.sizeOverflow, tensor: name, "byte size of shape \(formatShape(shape)) × \(dtype) overflows Int")
        }
        guard bytes == end - begin else {
            throw SafeTensorsError(.shapeMismatch, tensor: name,
                "shape \(formatShape(shape)) × \(dtype) needs \(bytes) bytes but data_offsets [\(begin), \(end)] cover \(end - begin)")
        }
        guard end <= bufferLength else {
            throw SafeTensorsError(.offsetsOutOfBounds, tensor: name,
                "data_offsets [\(begin), \(end)] extend past the end of the \(bufferLength)-byte buffer")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func nonNegativeInteger(_ value: JSONValue, tensor: String, kind: SafeTensorsError.Kind, what: String) throws -> Int {
        guard case .number(let number) = value else {
            throw SafeTensorsError(kind, tensor: tensor, "\(what) must be a non-negative integer but is \(value.typeName)")
        }
        guard number.isPlainInteger else {
            throw SafeTensorsError(kind, tensor: tensor, "\(what) must be a non-negative integer but is \(number.literal) (fractions and exponents are not allowed)")
        }
        guard let int = number.intValue else {
            throw SafeTensorsError(kind, tensor: tensor, "\(what) is \(number.literal), which is too large")
        }
        guard int >= 0 else {
            throw SafeTensorsError(kind, tensor: tensor, "\(what) is \(int) but must be non-negative")
        }
        return int
    }

    // MARK: - Access

    /// Whether the file has a tensor with this name.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The dtype, shape and byte range of a tensor, or nil if there is none with this name.
    public func info(_ name: String) -> TensorInfo? {
        index[name].map { tensors[$0] }
    }

    private func lookup(_ name: String) throws -> TensorInfo {
        guard let k = index[name] else {
            throw SafeTensorsError(.tensorNotFound, tensor: name, "no tensor with this name in the file (it has \(tensors.count) tensors)")
        }
        return tensors[k]
    }

    /// Calls `body` with the tensor's bytes (valid only during the call), read from the file if it is not in
    /// memory.
    private func withBytes<R>(_ info: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let start = bufferStart + info.dataOffsets.lowerBound
        switch storage {
        case .memory(let data):
            return try data.withUnsafeBytes { raw in
                try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + info.byteCount)]))
            }
        case .file(let file):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(info.byteCount, 1), alignment: 16)
            defer { buffer.deallocate() }
            try file.read(at: start, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<info.byteCount]))
            return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<info.byteCount]))
        }
    }

    private func wrongDType(_ info: TensorInfo, _ accessor: String, _ accepted: String) -> SafeTensorsError {
        SafeTensorsError(.wrongDType, tensor: info.name, "dtype is \(info.dtype) but \(accessor) reads only \(accepted)")
    }

    /// A copy of the tensor's raw little-endian bytes (any dtype).
    public func rawBytes(_ name: String) throws -> Data {
        let info = try lookup(name)
        return try withBytes(info) { Data($0) }
    }

    /// The tensor's values as `Float`, row-major.
    ///
    /// Accepts F32 (exact), F16 and BF16 (exact widening) and F64 (rounded to nearest Float).
    public func floats(_ name: String) throws -> [Float] {
        let info = try lookup(name)
        let n = info.elementCount
        switch info.dtype {
        case .f32:
            #if _endian(little)
            return try withBytes(info) { raw in
                [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                    if n > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw) }
                    initialized = n
                }
            }
            #else
            return try withBytes(info) { load($0, count: n, as: UInt32.self) { Float(bitPattern: $0) } }
            #endif
        case .f64: return try withBytes(info) { load($0, count: n, as: UInt64.self) { Float(Double(bitPattern: $0)) } }
        case .f16: return try withBytes(info) { load($0, count: n, as: UInt16.self, floatFromHalfBits) }
        case .bf16: return try withBytes(info) { load($0, count: n, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) } }
        default:
            throw wrongDType(info, "floats()", "F32, F64, F16 and BF16")
        }
    }

    /// Reads the tensor's values as `Float` (the dtypes `floats(_:)` accepts) into `buffer`, which must hold
    /// exactly its element count. F32 tensors of a file opened with `init(fileAt:)` are read straight into
    /// `buffer`, with no copy in between.
    public func readFloats(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let info = try lookup(name)
        guard buffer.count == info.elementCount else {
            throw SafeTensorsError(.shapeMismatch, tensor: name,
                                   "has \(info.elementCount) values but the destination holds \(buffer.count)")
        }
        #if _endian(little)
        if info.dtype == .f32, case .file(let file) = storage {
            try file.read(at: bufferStart + info.dataOffsets.lowerBound, into: UnsafeMutableRawBufferPointer(buffer))
            return
        }
        #endif
        let values = try floats(name)
        if let dst = buffer.baseAddress, !values.isEmpty {
            values.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: values.count) }
        }
    }

    /// The values of an I64 tensor, row-major.
    public func int64s(_ name: String) throws -> [Int64] {
        let info = try lookup(name)
        guard info.dtype == .i64 else { throw wrongDType(info, "int64s()", "I64 (use ints() for other integer dtypes)") }
        return try withBytes(info) { load($0, count: info.elementCount, as: UInt64.self) { Int64(bitPattern: $0) } }
    }

    /// The values of an I32 tensor, row-major.
    public func int32s(_ name: String) throws -> [Int32] {
        let info = try lookup(name)
        guard info.dtype == .i32 else { throw wrongDType(info, "int32s()", "I32 (use ints() for other integer dtypes)") }
        return try withBytes(info) { load($0, count: info.elementCount, as: UInt32.self) { Int32(bitPattern: $0) } }
    }

    /// The values of any integer tensor (I64, I32, I16, I8, U64, U32, U16, U8) as `Int`, row-major.
    ///
    /// - Throws: ``SafeTensorsError/Kind/valueOutOfRange`` for a U64 value above `Int.max`.
    public func ints(_ name: String) throws -> [Int] {
        let info = try lookup(name)
        let n = info.elementCount
        switch info.dtype {
        case .i64: return try withBytes(info) { load($0, count: n, as: UInt64.self) { Int(Int64(bitPattern: $0)) } }
        case .i32: return try withBytes(info) { load($0, count: n, as: UInt32.self) { Int(Int32(bitPattern: $0)) } }
        case .i16: return try withBytes(info) { load($0, count: n, as: UInt16.self) { Int(Int16(bitPattern: $0)) } }
        case .i8: return try withBytes(info) { load($0, count: n, as: UInt8.self) { Int(Int8(bitPattern: $0)) } }
        case .u32: return try withBytes(info) { load($0, count: n, as: UInt32.self) { Int($0) } }
        case .u16: return try withBytes(info) { load($0, count: n, as: UInt16.self) { Int($0) } }
        case .u8: return try withBytes(info) { load($0, count: n, as: UInt8.self) { Int($0) } }
        case .u64:
            let values = try withBytes(info) { load($0, count: n, as: UInt64.self) { $0 } }
            var result = [Int]()
            result.reserveCapacity(n)
            for (k, v) in values.enumerated() {
                guard v <= UInt64(Int.max) else {
                    throw SafeTensorsError(.valueOutOfRange, tensor: name, "U64 element \(k) is \(v), which does not fit in Int")
                }
                result.append(Int(v))
            }
            return result
        default:
            throw wrongDType(info, "ints()", "integer dtypes (I64, I32, I16, I8, U64, U32, U16, U8)")
        }
    }
}

/// Loads `count` little-endian `T`s from `raw` and maps each through `transform`.
@inline(__always)
private func load<T: FixedWidthInteger, R>(_ raw: UnsafeRawBufferPointer, count: Int, as: T.Type, _ transform: (T) -> R) -> [R] {
    [R](unsafeUninitializedCapacity: count) { buffer, initialized in
        let stride = MemoryLayout<T>.size
        for k in 0..<count {
            buffer[k] = transform(T(littleEndian: raw.loadUnaligned(fromByteOffset: stride * k, as: T.self)))
        }
        initialized = count
    }
}

/// Exact conversion of IEEE 754 binary16 bits to Float (Float16 is unavailable on some platforms).
func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign: UInt32 = UInt32(h & 0x8000) << 16
    let exponent = UInt32((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: mantissa × 2^-24.
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    }
    if exponent == 0x1F {
        // Infinity or NaN (payload preserved).
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}
