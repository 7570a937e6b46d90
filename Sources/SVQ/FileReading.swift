// Loading a model from a file path: the header is read and checked first, then each tensor is read from the
// file straight into the model (SafeTensorsFile(fileAt:)), so loading never holds the file's bytes and the
// weights at once. Paths are the raw bytes the file system uses (C callers' paths need not be valid UTF-8).

import Foundation
import SafeTensors

enum FileReading {
    /// Larger than any SVQ model (the official default is about 0.25 GB); guards against sparse files whose
    /// size alone would let a hostile header make the model allocate without bound.
    static let maxFileSize = 1 << 34

    /// Opens and checks the model file at `path`. Throws `SVQError.ioError` if it cannot be read, or
    /// `.invalidModel` if it is not safetensors.
    static func open(path: UnsafePointer<CChar>) throws -> SafeTensorsFile {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(fileAt: path)
        } catch let error as SafeTensorsError where error.kind == .ioError {
            throw SVQError(.ioError, error.message)
        } catch {
            throw SVQError(.invalidModel, "not a valid safetensors file: \(error)")
        }
        let bytes = file.tensors.map(\.dataOffsets.upperBound).max() ?? 0
        guard bytes <= maxFileSize else {
            let shown = String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
            throw SVQError(.ioError, "cannot read \(shown): \(bytes) bytes of tensors is more than the \(maxFileSize) an SVQ model file may have")
        }
        return file
    }
}

extension Model {
    /// Loads the SVQ weights file at a file-system path given as a C string (as the C API receives it).
    /// Throws `SVQError` as `init(contentsOf:)` does.
    @_spi(CAPI) public convenience init(path: UnsafePointer<CChar>) throws {
        try self.init(file: try FileReading.open(path: path))
    }
}
