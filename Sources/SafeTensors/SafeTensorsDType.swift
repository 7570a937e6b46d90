/// The element type of a tensor stored in a safetensors file.
///
/// The raw value is the spelling used in the file's JSON header (`"F32"`, `"BF16"`, …).
/// All byte-sized dtypes of the reference implementation are supported; the sub-byte
/// formats (`F4`, `F6_E2M3`, `F6_E3M2`) are rejected with ``SafeTensorsError/Kind/unknownDType``.
///
/// ```swift
/// let dtype = SafeTensorsDType(rawValue: "BF16")   // .bf16
/// dtype?.byteSize                                   // 2
/// ```
public enum SafeTensorsDType: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .c64, .f64, .i64, .u64: return 8
        }
    }

    /// Whether ``SafeTensorsFile/floats(_:)`` can return this dtype (F32, F64, F16, BF16).
    public var isConvertibleToFloat: Bool {
        switch self {
        case .f32, .f64, .f16, .bf16: return true
        default: return false
        }
    }

    /// Whether ``SafeTensorsFile/ints(_:)`` can return this dtype (signed and unsigned integers).
    public var isInteger: Bool {
        switch self {
        case .i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64: return true
        default: return false
        }
    }

    public var description: String { rawValue }
}
