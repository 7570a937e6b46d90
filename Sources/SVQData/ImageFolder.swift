// A folder of PNG images as a dataset, split the way the official SVQ code (yfw/nlotm `data.py`,
// `GlobDataset`) splits its sorted glob: train = [0, ⌊0.7n⌋), validation = [⌊0.7n⌋, ⌊0.85n⌋),
// test = [⌊0.85n⌋, n), with the products computed in double precision exactly as Python's
// `int(len(files) * 0.7)` does (so the same folder gives the same split in both implementations).

import Foundation
import SVQEngine

/// A part of a dataset under the official 70 / 15 / 15 split.
public enum DatasetSplit: String, CaseIterable, Codable, Sendable {
    case train, validation, test
}

/// Why a folder could not be listed or one of its images loaded.
public enum ImageFolderError: Error, CustomStringConvertible {
    case unreadableDirectory(path: String, reason: String)
    case unreadableImage(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path, let reason): return "cannot list \(path): \(reason)"
        case .unreadableImage(let file, let reason): return "\(file): \(reason)"
        }
    }
}

/// The `*.png` files directly inside a directory, matched and ordered as the official code's
/// `sorted(glob("dir/*.png"))` does: lower-case `.png` suffix (case-sensitive, as glob is on Linux), no hidden
/// files, no subdirectories, sorted by name in byte order. Other files (e.g. JSON ground truth) are ignored.
public struct ImageFolder: Sendable {
    public let directory: URL
    /// The PNG files, in sorted order.
    public let files: [URL]

    public init(directory: URL) throws {
        self.directory = directory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw ImageFolderError.unreadableDirectory(path: directory.path, reason: error.localizedDescription)
        }
        let pngs = names.filter { name in
            guard name.hasSuffix(".png"), !name.hasPrefix(".") else { return false }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path,
                                                        isDirectory: &isDirectory)
            return exists && !isDirectory.boolValue
        }
        files = pngs.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { directory.appendingPathComponent($0) }
    }

    private init(directory: URL, files: [URL]) {
        self.directory = directory
        self.files = files
    }

    public var count: Int { files.count }

    /// The first `n` files (all of them when there are fewer).
    public func prefix(_ n: Int) -> ImageFolder { ImageFolder(directory: directory, files: Array(files.prefix(max(0, n)))) }

    /// The index range of `split` among `count` sorted files (official 70 / 15 / 15).
    public static func range(of split: DatasetSplit, count: Int) -> Range<Int> {
        let trainEnd = Int(Double(count) * 0.7)
        let validationEnd = Int(Double(count) * 0.85)
        switch split {
        case .train: return 0..<trainEnd
        case .validation: return trainEnd..<validationEnd
        case .test: return validationEnd..<count
        }
    }

    /// The files of one split, as a folder of its own.
    public func split(_ split: DatasetSplit) -> ImageFolder {
        ImageFolder(directory: directory, files: Array(files[Self.range(of: split, count: count)]))
    }

    /// Decodes every file (in parallel), resizing to `size`×`size` when a side differs (nil keeps sizes).
    /// The first unreadable file (in sorted order) is reported by name.
    public func loadAll(size: Int? = nil, threads: Int = Engine.threadCount) throws -> [RGBImage] {
        try parallelMap(files.count, threads: threads) { i in
            let image: RGBImage
            do {
                image = try PNG.read(contentsOf: files[i])
            } catch {
                throw ImageFolderError.unreadableImage(file: files[i].path, reason: "\(error)")
            }
            guard let size, image.width != size || image.height != size else { return image }
            return image.resized(width: size, height: size)
        }
    }
}
