// Training images held in memory as bytes (a 10k-image 64×64 dataset is 123 MB), turned into float batches
// on demand.

import SVQEngine

/// `count` RGB (or C-channel) images of one size, stored planar `[count, C, H, W]` as bytes.
public struct ImageSet: Sendable {
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    private let bytes: [UInt8]

    /// Images from planar bytes `[count, C, H, W]`.
    public init(planar bytes: [UInt8], count: Int, channels: Int, height: Int, width: Int) {
        precondition(bytes.count == count * channels * height * width, "ImageSet: \(bytes.count) bytes for \(count)×\(channels)×\(height)×\(width)")
        self.bytes = bytes
        self.count = count
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Images from interleaved RGB bytes (`[H, W, 3]` each, as PNG decoders produce them).
    public init(interleavedRGB images: [[UInt8]], height: Int, width: Int) {
        let plane = height * width
        var planar = [UInt8](repeating: 0, count: images.count * 3 * plane)
        for (i, img) in images.enumerated() {
            precondition(img.count == plane * 3, "ImageSet: image \(i) has \(img.count) bytes, expected \(plane * 3)")
            for p in 0..<plane {
                for c in 0..<3 { planar[(i * 3 + c) * plane + p] = img[p * 3 + c] }
            }
        }
        self.init(planar: planar, count: images.count, channels: 3, height: height, width: width)
    }

    /// A subset in the given order.
    public func subset(_ indices: [Int]) -> ImageSet {
        let per = channels * height * width
        var out = [UInt8](); out.reserveCapacity(indices.count * per)
        for i in indices { out += bytes[(i * per)..<((i + 1) * per)] }
        return ImageSet(planar: out, count: indices.count, channels: channels, height: height, width: width)
    }

    /// Images `indices` as a float batch `[B, C, H, W]` in [0, 1].
    public func batch(_ indices: [Int]) -> Tensor {
        let per = channels * height * width
        let out = Tensor(zeros: [indices.count, channels, height, width], zeroed: false)
        let p = out.data
        bytes.withUnsafeBufferPointer { src in
            for (k, i) in indices.enumerated() {
                precondition(i >= 0 && i < count, "ImageSet: index \(i) outside 0..<\(count)")
                let s = src.baseAddress! + i * per, d = p + k * per
                for j in 0..<per { d[j] = Float(s[j]) * (1 / 255) }
            }
        }
        return out
    }

    /// A checksum of the pixels (FNV-1a), so a resumed run can tell it is on the same data.
    public var fingerprint: UInt64 { fnv1a(bytes) }
}

/// Which examples each step sees: epochs of a seeded permutation, `batchSize` at a time, the incomplete
/// last batch dropped (as the official loader's `drop_last`). A pure function of the step, so a resumed
/// run sees exactly the batches the uninterrupted run would have.
public struct BatchSchedule: Sendable {
    public let count: Int
    public let batchSize: Int
    public let seed: UInt64

    public init(count: Int, batchSize: Int, seed: UInt64) {
        precondition(batchSize >= 1 && count >= batchSize, "need at least one full batch: \(count) examples, batch \(batchSize)")
        self.count = count
        self.batchSize = batchSize
        self.seed = seed
    }

    public var batchesPerEpoch: Int { count / batchSize }

    /// The example indices of step `step` (0-based).
    public func indices(step: Int) -> [Int] {
        let epoch = step / batchesPerEpoch, k = step % batchesPerEpoch
        var rng = RandomGenerator(seed: seed, stream: RandomStreams.epochBase + UInt64(epoch))
        let order = rng.permutation(count)
        return Array(order[(k * batchSize)..<((k + 1) * batchSize)])
    }
}

/// Stream ids under a run's seed: each use has its own counter space, so draws never overlap.
public enum RandomStreams {
    /// Model initialisation.
    public static let initialisation: UInt64 = 0
    /// The data order of epoch e uses stream `epochBase + e`.
    public static let epochBase: UInt64 = 1 << 32
    /// The noise of training step s (Gumbel, slot init, dropout, restarts) uses stream `stepBase + s`.
    public static let stepBase: UInt64 = 1 << 48
    /// The slot noise of the prior's one-off encoding of the dataset.
    public static let encodingCache: UInt64 = 1 << 40
}

/// FNV-1a of bytes: a cheap identity for cache keys and resume checks (not a cryptographic hash).
public func fnv1a<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
