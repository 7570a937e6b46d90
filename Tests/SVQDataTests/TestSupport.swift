import Foundation
import SVQData
import SVQEngine

/// `count` pseudo-random bytes from `rng` (deterministic per seed).
func randomBytes(_ count: Int, _ rng: inout RandomGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.nextUInt32()) }
}

func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var rng = RandomGenerator(seed: seed)
    return RGBImage(width: width, height: height, pixels: randomBytes(3 * width * height, &rng))
}

/// A fresh empty directory under the system temporary directory; removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("svqdata-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
