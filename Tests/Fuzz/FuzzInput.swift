// The fuzzer's bytes read as a sequence of values, front to back: the harnesses that call the C API take
// each argument from here. Past the end every read gives zero bytes, so any input is a complete call.

struct FuzzInput {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) { bytes = UnsafeBufferPointer(start: data, count: size) }

    var isEmpty: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    /// A little-endian value of `T`'s width, any bit pattern.
    mutating func raw<T: FixedWidthInteger>(_: T.Type) -> T {
        var value: T = 0
        for i in 0..<(T.bitWidth / 8) { value |= T(truncatingIfNeeded: byte()) << (8 * i) }
        return value
    }

    /// Mostly small values near what a call expects, sometimes any value of the type (negative, huge).
    mutating func int32(near expected: Int32) -> Int32 {
        switch byte() % 8 {
        case 0: return raw(Int32.self)
        case 1: return Int32(Int8(bitPattern: byte()))
        default: return expected &+ Int32(Int8(bitPattern: byte()) % 3)
        }
    }

    /// Any float bit pattern (NaN, infinities, negatives) one time in four, else a value in [0, 2].
    mutating func float() -> Float {
        byte() % 4 == 0 ? Float(bitPattern: raw(UInt32.self)) : Float(byte()) / 128
    }
}
