// A regular file opened for positioned reads (pread), for SafeTensorsFile(fileAt:).

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open regular file; closed when the last reference goes away.
final class OpenFile: @unchecked Sendable {
    let size: Int
    private let fd: Int32
    private let shownPath: String

    /// Opens `path` read-only. Only regular files: a device such as /dev/zero would never end, and a FIFO
    /// would block in open() until something writes to it — so the file is opened non-blocking, its type
    /// checked with fstat, and only then read (blocking again: a regular file's reads never wait anyway).
    init(path: UnsafePointer<CChar>) throws {
        shownPath = String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw SafeTensorsError(.ioError, "cannot read \(shownPath): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SafeTensorsError(.ioError, "cannot read \(shownPath): \(reason)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SafeTensorsError(.ioError, "cannot read \(shownPath): not a regular file")
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SafeTensorsError(.ioError, "cannot read \(shownPath): \(reason)")
        }
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Fills `buffer` with the bytes at `offset`; throws if the file ends first or a read fails.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(.ioError, "cannot read \(shownPath): \(String(cString: strerror(errno)))")
            }
            guard n > 0 else {
                throw SafeTensorsError(.ioError, "cannot read \(shownPath): the file ended at \(offset + done) bytes while it was read (it changed after it was opened)")
            }
            done += n
        }
    }

    /// `count` bytes at `offset`.
    func read(at offset: Int, count: Int) throws -> Data {
        var data = Data(count: count)
        if count > 0 {
            try data.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        }
        return data
    }
}
