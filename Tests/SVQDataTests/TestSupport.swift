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
