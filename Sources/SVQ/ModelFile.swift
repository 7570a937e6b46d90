// Turning untrusted bytes or a file path into a ready model, or into an SVQError that says why not. The
// model layer does every check (SVQModel(file:): format, config, allocation bounds, tensors, finite
// values); here its errors become SVQError codes, in one function. Paths are the raw bytes the file
// system uses (C callers' paths need not be valid UTF-8); a file is read tensor by tensor straight into
// the model (SafeTensorsFile(fileAt:)), so loading never holds the file's bytes and the weights at once.

import Foundation
import SafeTensors
import SVQModels

enum ModelFile {
    /// Parses a weights file held in memory (its header is read and checked).
    static func parse(_ data: Data) throws -> SafeTensorsFile {
        try mappingErrors { try SafeTensorsFile(data: data) }
    }

    /// Opens the weights file at `path` (its header is read and checked; tensors are read when loaded).
    static func open(path: UnsafePointer<CChar>) throws -> SafeTensorsFile {
        try mappingErrors { try SafeTensorsFile(fileAt: path) }
    }

    /// Loads an opened weights file; the model comes back frozen and in evaluation mode.
    static func load(_ file: SafeTensorsFile) throws -> SVQModel {
        let model = try mappingErrors { try SVQModel(file: file) }
        model.freeze()          // no autodiff graph at inference
        model.train(false)      // no dropout
        return model
    }

    /// The code legend in the file's metadata (`svq eval --legend-model` stores it), nil if it has none.
    static func codeLegend(_ file: SafeTensorsFile) throws -> CodeLegend? {
        try mappingErrors { try CodeLegend(metadata: file.metadata) }
    }

    /// Runs `body`, turning the errors of reading and loading a model into `SVQError`s.
    private static func mappingErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw SVQError(loading: error) }
    }
}

extension SVQError {
    /// The runtime's error for a failure to read or load a model: what cannot be read is `.ioError`, a file
    /// that is not a usable SVQ model `.invalidModel` (the message says why), anything else a bug.
    init(loading error: any Error) {
        switch error {
        case let error as SafeTensorsError where error.kind == .ioError:
            self.init(.ioError, error.message)
        case let error as SafeTensorsError:
            self.init(.invalidModel, "not a valid safetensors file: \(error)")
        case let error as SVQModelError:
            switch error.kind {
            case .invalidConfig, .unsupported, .tensorMismatch, .nonFiniteWeights, .numericalOverflow:
                self.init(.invalidModel, error.message)
            }
        default:
            self.init(.internalError, "internal error while loading a model: \(error)")
        }
    }
}

extension Model {
    /// Loads the SVQ weights file at a file-system path given as a C string (as the C API receives it).
    /// Throws `SVQError` as `init(contentsOf:)` does.
    @_spi(CAPI) public convenience init(path: UnsafePointer<CChar>) throws {
        try self.init(file: try ModelFile.open(path: path))
    }
}
