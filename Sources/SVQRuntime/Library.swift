// Library-wide functions of svq.h: versions, status names, the last error, threads, default params.

import CSVQ
#if canImport(Glibc)
import Glibc
#endif
import SVQ

@c @implementation
public func svq_api_version() -> Int32 { SVQ_API_VERSION }

/// Runtime.version as a C string made once, for the life of the process.
private let versionCString: UnsafePointer<CChar> = UnsafePointer(strdup(Runtime.version)!)

@c @implementation
public func svq_version() -> UnsafePointer<CChar>? { versionCString }

@c @implementation
public func svq_status_string(_ status: svq_status) -> UnsafePointer<CChar>? {
    switch status {
    case SVQ_STATUS_OK: return immortalCString("ok")
    case SVQ_STATUS_INVALID_ARGUMENT: return immortalCString("invalid argument")
    case SVQ_STATUS_SHAPE_MISMATCH: return immortalCString("shape mismatch")
    case SVQ_STATUS_INVALID_VALUE: return immortalCString("invalid value")
    case SVQ_STATUS_BUFFER_TOO_SMALL: return immortalCString("buffer too small")
    case SVQ_STATUS_IO_ERROR: return immortalCString("I/O error")
    case SVQ_STATUS_INVALID_MODEL: return immortalCString("invalid model file")
    case SVQ_STATUS_NO_PRIOR: return immortalCString("model has no prior")
    case SVQ_STATUS_INTERNAL_ERROR: return immortalCString("internal error")
    case SVQ_STATUS_CANCELLED: return immortalCString("cancelled")
    default: return immortalCString("unknown status")
    }
}

@c @implementation
public func svq_last_error() -> UnsafePointer<CChar>? { LastError.message }

@c @implementation
public func svq_set_threads(_ n: Int32) -> svq_status {
    guarded { try Runtime.setThreadCount(Int(n)) }
}

@c @implementation
public func svq_get_threads() -> Int32 { Int32(clamping: Runtime.threadCount) }

@c @implementation
public func svq_encode_default_params() -> svq_encode_params {
    svq_encode_params(seed: 0)
}

@c @implementation
public func svq_decode_default_params() -> svq_decode_params {
    svq_decode_params(sampling: SVQ_SAMPLING_SAMPLE, temperature: Sampling.recommendedTemperature, top_k: 0, seed: 0,
                      candidates: 1)
}

@c @implementation
public func svq_prior_default_params() -> svq_prior_params {
    svq_prior_params(temperature: 1, top_k: 0, seed: 0)
}
