// Reading a model file into memory with plain POSIX calls: only regular files (never a device such as
// /dev/zero, which would be read forever), up to a size no SVQ model comes near, from a path given as
// the raw bytes the file system uses (so C callers' paths need not be valid UTF-8).

import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum FileReading {
    /// Larger than any SVQ model (the official default is about 0.25 GB); guards against sparse files.
    static let maxFileSize = 1 << 34

    /// The whole regular file at `path`. Throws `SVQError.ioError` with the reason.
    static func read(path: UnsafePointer<CChar>) throws -> Data {
        let shown = String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
        func fail(_ why: String) -> SVQError { SVQError(.ioError, "cannot read \(shown): \(why)") }
        func errnoText() -> String { String(cString: strerror(errno)) }

        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(st.st_size)
        guard size <= maxFileSize else { throw fail("\(size) bytes is more than the \(maxFileSize) an SVQ model file may have") }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            while done < size {
                let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail(errnoText())
                }
                guard n > 0 else { throw fail("the file shrank while it was read") }
                done += n
            }
        }
        return data
    }
}

extension Model {
    /// Loads the SVQ weights file at a file-system path given as a C string (as the C API receives it).
    /// Throws `SVQError` as `init(contentsOf:)` does.
    @_spi(CAPI) public convenience init(path: UnsafePointer<CChar>) throws {
        try self.init(data: try FileReading.read(path: path))
    }
}
