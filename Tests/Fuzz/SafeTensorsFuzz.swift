// libFuzzer harness: any bytes as a safetensors file, read from memory (SafeTensorsFile(data:)) and from a
// file (SafeTensorsFile(fileAt:), which reads the header and then each tensor separately). Each reader must
// accept or throw a SafeTensorsError, never crash; both must agree on whether the bytes are valid; and every
// tensor of a valid file must read the same through both, through every accessor.

import Foundation
import SafeTensors

/// What reading one tensor through one accessor gave: its values as bit patterns, or a refusal.
enum Read: Equatable {
    case values([UInt64])
    case refused
}

func read(_ accessor: () throws -> [UInt64]) -> Read {
    do { return .values(try accessor()) } catch is SafeTensorsError { return .refused } catch {
        fatalError("a read threw \(type(of: error)), not a SafeTensorsError: \(error)")
    }
}

/// Every tensor through every accessor, in file order.
func readEverything(_ file: SafeTensorsFile) -> [Read] {
    var reads: [Read] = []
    for info in file.tensors {
        let name = info.name
        let raw = read { try file.rawBytes(name).map(UInt64.init) }
        if case .values(let bytes) = raw, bytes.count != info.byteCount {
            fatalError("tensor \(name): \(bytes.count) raw bytes, but its info says \(info.byteCount)")
        }
        reads.append(raw)
        reads.append(read { try file.floats(name).map { UInt64($0.bitPattern) } })
        reads.append(read {
            var buffer = [Float](repeating: 0, count: info.elementCount)
            try buffer.withUnsafeMutableBufferPointer { try file.readFloats(name, into: $0) }
            return buffer.map { UInt64($0.bitPattern) }
        })
        reads.append(read { try file.int64s(name).map { UInt64(bitPattern: $0) } })
        reads.append(read { try file.int32s(name).map { UInt64(UInt32(bitPattern: $0)) } })
        reads.append(read { try file.ints(name).map { UInt64(bitPattern: Int64($0)) } })
    }
    return reads
}

func parse(_ open: () throws -> SafeTensorsFile) -> SafeTensorsFile? {
    do { return try open() } catch is SafeTensorsError { return nil } catch {
        fatalError("parsing threw \(type(of: error)), not a SafeTensorsError: \(error)")
    }
}

/// The same bytes as a file: written to a scratch path, opened, and unlinked at once (the reader keeps its
/// descriptor), so no file outlives the run.
let scratchPath = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/svq-fuzz-safetensors-\(getpid())"

func parseFile(_ bytes: UnsafeBufferPointer<UInt8>) -> SafeTensorsFile? {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    require(fd >= 0, "cannot create \(scratchPath)")
    var written = 0
    while written < bytes.count {
        let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
        require(n > 0, "cannot write \(scratchPath)")
        written += n
    }
    close(fd)
    defer { unlink(scratchPath) }
    return parse { try SafeTensorsFile(fileAt: scratchPath) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let inMemory = parse { try SafeTensorsFile(data: Data(bytes)) }
    let onDisk = parseFile(bytes)
    guard let inMemory, let onDisk else {
        require(inMemory == nil && onDisk == nil, "one reader accepted what the other refused")
        return 0
    }
    require(inMemory.tensors == onDisk.tensors && inMemory.metadata == onDisk.metadata,
                 "the readers parsed different headers")
    var covered = 0
    for info in inMemory.tensors {
        require(info.dataOffsets.lowerBound == covered, "tensors do not tile the buffer")
        covered = info.dataOffsets.upperBound
    }
    require(readEverything(inMemory) == readEverything(onDisk), "the readers read different values")
    return 0
}
