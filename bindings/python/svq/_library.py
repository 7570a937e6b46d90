"""Finding and loading libsvq.so, and the C declarations of svq.h as ctypes.

The library is looked for, in order: the file named by the ``SVQ_LIBRARY`` environment variable; the
``libsvq.so`` inside this package (the wheel scripts/build-wheel.sh makes carries one, with its run-time
libraries beside it); the repository's build (``.build/release/libsvq.so``, or SwiftPM's own name for it,
``libSVQRuntime.so``), for an editable install in a checkout; then the system's library path
(``ctypes.util.find_library``).
"""

import ctypes
import ctypes.util
import os
import pathlib
import threading

from .errors import LibraryNotFoundError

API_VERSION = 3  # SVQ_API_VERSION of the svq.h these declarations follow
MAX_THREADS = 1024  # SVQ_MAX_THREADS: the most threads svq_set_threads accepts


class Info(ctypes.Structure):
    _fields_ = [
        ("image_size", ctypes.c_int32),
        ("image_channels", ctypes.c_int32),
        ("num_slots", ctypes.c_int32),
        ("num_blocks", ctypes.c_int32),
        ("codebook_size", ctypes.c_int32),
        ("slot_size", ctypes.c_int32),
        ("vocab_size", ctypes.c_int32),
        ("tokens_per_image", ctypes.c_int32),
        ("has_prior", ctypes.c_bool),
    ]


class EncodeParams(ctypes.Structure):
    _fields_ = [("seed", ctypes.c_uint64)]


SAMPLING_GREEDY = 0
SAMPLING_SAMPLE = 1


class DecodeParams(ctypes.Structure):
    _fields_ = [
        ("sampling", ctypes.c_int),  # enum svq_sampling
        ("temperature", ctypes.c_float),
        ("top_k", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
        ("candidates", ctypes.c_int32),
    ]


class PriorParams(ctypes.Structure):
    _fields_ = [
        ("temperature", ctypes.c_float),
        ("top_k", ctypes.c_int32),
        ("seed", ctypes.c_uint64),
    ]


PROGRESS_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_float, ctypes.c_void_p)
ABORT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p)


class Callbacks(ctypes.Structure):
    _fields_ = [
        ("progress_callback", PROGRESS_CALLBACK),
        ("progress_callback_user_data", ctypes.c_void_p),
        ("abort_callback", ABORT_CALLBACK),
        ("abort_callback_user_data", ctypes.c_void_p),
    ]


_p = ctypes.POINTER
_status = ctypes.c_int
_size = ctypes.c_size_t
_model = ctypes.c_void_p
_i32, _u64 = ctypes.c_int32, ctypes.c_uint64
_f32p, _u8p, _i32p = _p(ctypes.c_float), _p(ctypes.c_uint8), _p(ctypes.c_int32)

# name: (result type, argument types), as in svq.h
_PROTOTYPES = {
    "svq_api_version": (_i32, []),
    "svq_version": (ctypes.c_char_p, []),
    "svq_status_string": (ctypes.c_char_p, [_status]),
    "svq_last_error": (ctypes.c_char_p, []),
    "svq_set_threads": (_status, [_i32]),
    "svq_get_threads": (_i32, []),
    "svq_encode_default_params": (EncodeParams, []),
    "svq_decode_default_params": (DecodeParams, []),
    "svq_prior_default_params": (PriorParams, []),
    "svq_model_load_file": (_status, [ctypes.c_char_p, _p(_model)]),
    "svq_model_load_memory": (_status, [ctypes.c_void_p, _size, _p(_model)]),
    "svq_model_free": (None, [_model]),
    "svq_model_info": (_status, [_model, _p(Info)]),
    "svq_encode_f32": (_status, [_model, _f32p, _i32, _i32, _i32, _i32, _p(EncodeParams),
                                 _i32p, _size, _f32p, _size, _f32p, _size]),
    "svq_encode_u8": (_status, [_model, _u8p, _i32, _i32, _i32, _i32, _p(EncodeParams),
                                _i32p, _size, _f32p, _size, _f32p, _size]),
    "svq_decode_f32": (_status, [_model, _i32p, _i32, _p(DecodeParams), _f32p, _size]),
    "svq_decode_u8": (_status, [_model, _i32p, _i32, _p(DecodeParams), _u8p, _size]),
    "svq_prior_sample": (_status, [_model, _i32, _p(PriorParams), _i32p, _u8p, _i32p, _size]),
    "svq_codebook": (_status, [_model, _i32, _f32p, _size]),
    "svq_set_callbacks": (_status, [_p(Callbacks)]),
}


def candidates():
    """Where the library is looked for, in order."""
    env = os.environ.get("SVQ_LIBRARY")
    if env:
        return [pathlib.Path(env)]  # explicit: no fallback that could hide a mistake
    here = pathlib.Path(__file__).resolve().parent
    repo_build = here.parents[2] / ".build" / "release"
    paths = [here / "libsvq.so", repo_build / "libsvq.so", repo_build / "libSVQRuntime.so"]
    system = ctypes.util.find_library("svq")
    if system:
        paths.append(pathlib.Path(system))
    return paths


_lock = threading.Lock()
_lib = None
_path = None


def library():
    """The loaded library with its prototypes declared (loaded on first use)."""
    global _lib, _path
    with _lock:
        if _lib is None:
            tried = []
            for path in candidates():
                if not (path.exists() or path.name == str(path)):  # find_library may give a bare name
                    tried.append(f"{path} (missing)")
                    continue
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError as e:
                    tried.append(f"{path} ({e})")
                    continue
                for name, (restype, argtypes) in _PROTOTYPES.items():
                    fn = getattr(lib, name)
                    fn.restype = restype
                    fn.argtypes = argtypes
                if lib.svq_api_version() != API_VERSION:
                    tried.append(f"{path} (API version {lib.svq_api_version()}, this package needs {API_VERSION})")
                    continue
                _lib, _path = lib, path
                break
            else:
                raise LibraryNotFoundError(
                    "libsvq not found; build it (scripts/install.sh, or swift build -c release --product SVQRuntime) "
                    "or set SVQ_LIBRARY to its path. Tried: " + "; ".join(tried))
        return _lib


def library_path():
    """The path of the loaded library."""
    library()
    return _path
