import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a safetensors file from named tensors.
///
/// Tensors are stored in insertion order; the header lists `__metadata__` first (keys sorted
/// by their UTF-8 bytes, omitted when empty), then the tensors in insertion order, each as
/// `{"dtype":…,"shape":…,"data_offsets":…}`. The header is padded with spaces to a multiple
/// of 8 bytes. The same tensors and metadata therefore always serialize to the same bytes.
///
/// ```swift
/// var writer = SafeTensorsWriter(metadata: ["format": "pt"])
/// try writer.add("linear.weight", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
/// try writer.add("step", int64s: [1000], shape: [])
/// try writer.write(to: URL(fileURLWithPath: "model.safetensors"))   // atomic replace
/// ```
public struct SafeTensorsWriter: Sendable {
    private struct Entry: Sendable {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var bytes: Data
    }

    /// String metadata written as `__metadata__`.
    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var nameSet: Set<String> = []

    /// Creates an empty writer.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Names of the tensors added so far, in insertion (= file) order.
    public var names: [String] { entries.map(\.name) }

    /// Adds an F32 tensor. `floats.count` must equal the product of `shape` (1 for `[]`).
    public mutating func add(_ name: String, floats: [Float], shape: [Int]) throws {
        try checkName(name)
        try checkCount(name, count: floats.count, shape: shape, dtype: .f32)
        append(name, .f32, shape, littleEndianBytes(floats) { $0.bitPattern })
    }

    /// Adds an I64 tensor. `int64s.count` must equal the product of `shape` (1 for `[]`).
    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) throws {
        try checkName(name)
        try checkCount(name, count: int64s.count, shape: shape, dtype: .i64)
        append(name, .i64, shape, littleEndianBytes(int64s) { UInt64(bitPattern: $0) })
    }

    /// Adds an I32 tensor. `int32s.count` must equal the product of `shape` (1 for `[]`).
    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) throws {
        try checkName(name)
        try checkCount(name, count: int32s.count, shape: shape, dtype: .i32)
        append(name, .i32, shape, littleEndianBytes(int32s) { UInt32(bitPattern: $0) })
    }

    /// Adds a tensor of any dtype from its raw little-endian, row-major bytes.
    /// `rawBytes.count` must equal the product of `shape` × `dtype.byteSize`.
    public mutating func add(_ name: String, rawBytes: Data, dtype: SafeTensorsDType, shape: [Int]) throws {
        try checkName(name)
        let elements = try elementCount(name, shape: shape)
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else {
            throw SafeTensorsError(.sizeOverflow, tensor: name, "byte size of shape \(formatShape(shape)) × \(dtype) overflows Int")
        }
        guard rawBytes.count == expected else {
            throw SafeTensorsError(.shapeMismatch, tensor: name,
                "shape \(formatShape(shape)) × \(dtype) needs \(expected) bytes but \(rawBytes.count) were given")
        }
        append(name, dtype, shape, Data(rawBytes))
    }

    // MARK: - Validation helpers

    private func checkName(_ name: String) throws {
        guard name != "__metadata__" else {
            throw SafeTensorsError(.reservedName, tensor: name, "the name __metadata__ is reserved for the metadata map")
        }
        guard !nameSet.contains(name) else {
            throw SafeTensorsError(.duplicateName, tensor: name, "a tensor with this name was already added")
        }
    }

    private func elementCount(_ name: String, shape: [Int]) throws -> Int {
        var elements = 1
        for (axis, dim) in shape.enumerated() {
            guard dim >= 0 else {
                throw SafeTensorsError(.invalidShape, tensor: name, "shape[\(axis)] is \(dim) but must be non-negative")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw SafeTensorsError(.sizeOverflow, tensor: name, "element count of shape \(formatShape(shape)) overflows Int")
            }
            elements = product
        }
        return elements
    }

    private func checkCount(_ name: String, count: Int, shape: [Int], dtype: SafeTensorsDType) throws {
        let elements = try elementCount(name, shape: shape)
        guard elements == count else {
            throw SafeTensorsError(.shapeMismatch, tensor: name,
                "shape \(formatShape(shape)) has \(elements) elements but \(count) \(dtype) values were given")
        }
    }

    private mutating func append(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int], _ bytes: Data) {
        entries.append(Entry(name: name, dtype: dtype, shape: shape, bytes: bytes))
        nameSet.insert(name)
    }

    // MARK: - Output

    /// The complete file as bytes.
    ///
    /// - Throws: ``SafeTensorsError/Kind/headerTooLarge`` if the header would exceed
    ///   ``SafeTensorsFile/maxHeaderSize`` (readers would refuse the file).
    public func serialize() throws -> Data {
        var header: [UInt8] = []
        header.append(UInt8(ascii: "{"))
        var first = true
        if !metadata.isEmpty {
            appendJSONString("__metadata__", to: &header)
            header.append(contentsOf: Array(":{".utf8))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (k, key) in keys.enumerated() {
                if k > 0 { header.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key]!, to: &header)
            }
            header.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for entry in entries {
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            appendJSONString(entry.name, to: &header)
            appendASCII(":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[", to: &header)
            appendASCII(entry.shape.map(String.init).joined(separator: ","), to: &header)
            let end = offset + entry.bytes.count
            appendASCII("],\"data_offsets\":[\(offset),\(end)]}", to: &header)
            offset = end
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        guard header.count <= SafeTensorsFile.maxHeaderSize else {
            throw SafeTensorsError(.headerTooLarge, "header would be \(header.count) bytes, over the limit of \(SafeTensorsFile.maxHeaderSize)")
        }

        var out = Data()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for entry in entries { out.append(entry.bytes) }
        return out
    }

    /// Serializes and writes the file to `url` atomically.
    ///
    /// The bytes go to a temporary file in the same directory, `.NAME.tmp-UUID`, which is flushed to
    /// disk and then renamed over `url`. A failed write leaves any existing file at `url` untouched and
    /// removes the temporary file; one left by a writer that was killed is removed by the next write to
    /// the same `url` (a writer holds a lock on its temporary file, so a live one's is never touched).
    /// An existing file's permissions are kept.
    public func write(to url: URL) throws {
        try writeAtomically(try serialize(), to: url)
    }
}

/// Little-endian bytes of `values`, each mapped to its bit pattern by `bits`.
private func littleEndianBytes<T, B: FixedWidthInteger>(_ values: [T], _ bits: (T) -> B) -> Data {
    #if _endian(little)
    return values.withUnsafeBytes { Data($0) }
    #else
    var data = Data(count: values.count * MemoryLayout<B>.size)
    data.withUnsafeMutableBytes { raw in
        for (k, v) in values.enumerated() {
            raw.storeBytes(of: bits(v).littleEndian, toByteOffset: k * MemoryLayout<B>.size, as: B.self)
        }
    }
    return data
    #endif
}

// MARK: - Atomic file replacement

private func posixError(_ what: String, _ path: String, _ code: Int32 = errno) -> SafeTensorsError {
    SafeTensorsError(.ioError, "\(what) \(path): \(String(cString: strerror(code)))")
}

/// The temporary files of writes to `name`: `.NAME.tmp-UUID`, in the target's directory.
enum TemporaryName {
    static func prefix(_ name: String) -> String { "." + name + ".tmp-" }

    static func make(_ name: String) -> String { prefix(name) + UUID().uuidString }

    /// Whether `file` (a name in the target's directory) is a temporary file of writes to `name`.
    static func isTemporary(_ file: String, of name: String) -> Bool {
        file.hasPrefix(prefix(name)) && UUID(uuidString: String(file.dropFirst(prefix(name).count))) != nil
    }
}

func writeAtomically(_ data: Data, to url: URL) throws {
    guard url.isFileURL else {
        throw SafeTensorsError(.ioError, "cannot write to \(url.absoluteString): not a file URL")
    }
    let destination = url.standardizedFileURL
    let path = destination.path
    let directory = destination.deletingLastPathComponent().path
    let name = destination.lastPathComponent

    #if os(Windows)
    let tempPath = directory + "/" + TemporaryName.make(name)
    do {
        try data.write(to: URL(fileURLWithPath: tempPath))
        if FileManager.default.fileExists(atPath: path) {
            _ = try FileManager.default.replaceItemAt(destination, withItemAt: URL(fileURLWithPath: tempPath))
        } else {
            try FileManager.default.moveItem(atPath: tempPath, toPath: path)
        }
    } catch {
        try? FileManager.default.removeItem(atPath: tempPath)
        throw SafeTensorsError(.ioError, "cannot write \(path): \(error.localizedDescription)")
    }
    #else
    // Keep the permissions of a file we replace; new files get 0666 & ~umask.
    var mode: mode_t = 0o666
    var existing = stat()
    if stat(path, &existing) == 0 {
        mode = existing.st_mode & 0o7777
    }

    removeStaleTemporaries(of: name, in: directory)
    let (fd, tempPath) = try createLockedTemporary(of: name, in: directory, mode: mode)
    var renamed = false
    defer {
        if !renamed { unlink(tempPath) }
        close(fd)   // after the rename: the lock marks the temporary file as in use until then
    }
    if stat(path, &existing) == 0 {
        _ = fchmod(fd, mode)  // open() applied the umask; restore the original mode exactly.
    }
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        var written = 0
        while written < raw.count {
            let n = Glue.write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("cannot write temporary file", tempPath)
            }
            written += n
        }
    }
    guard fsync(fd) == 0 else { throw posixError("cannot flush temporary file", tempPath) }
    guard rename(tempPath, path) == 0 else { throw posixError("cannot rename temporary file over", path) }
    renamed = true
    // Make the rename itself durable (best effort).
    let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
    if dirFD >= 0 {
        _ = fsync(dirFD)
        close(dirFD)
    }
    #endif
}

#if !os(Windows)
/// A new temporary file for a write to `name`, open for writing and locked (flock) for as long as it is
/// open: the lock is what tells a live writer's temporary file from one a killed writer left.
private func createLockedTemporary(of name: String, in directory: String, mode: mode_t) throws -> (Int32, String) {
    while true {
        let tempPath = directory + "/" + TemporaryName.make(name)
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw posixError("cannot create temporary file", tempPath) }
        var st = stat()
        // Another writer's cleanup may have taken the file between open and flock (it was not locked yet):
        // then it has no name any more, and a new one is made.
        if flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0 { return (fd, tempPath) }
        close(fd)
    }
}

/// Removes the temporary files of writes to `name` in `directory` that no live writer holds (left by a
/// writer that was killed mid-write). Best effort: what cannot be listed, locked or removed stays.
private func removeStaleTemporaries(of name: String, in directory: String) {
    guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    for file in files where TemporaryName.isTemporary(file, of: name) {
        let stale = directory + "/" + file
        let fd = open(stale, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { continue }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(stale) }
        close(fd)
    }
}

/// Disambiguates the POSIX `write` from methods named `write` in scope.
private enum Glue {
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
        #elseif canImport(Musl)
        return Musl.write(fd, buffer, count)
        #else
        return Darwin.write(fd, buffer, count)
        #endif
    }
}
#endif
