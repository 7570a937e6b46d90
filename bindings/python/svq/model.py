"""The SVQ model from Python: numpy arrays in, numpy arrays out, errors as :class:`svq.SVQError`.

The library checks every input; this module only turns arrays into the C layout (C-contiguous, the
right dtype) and checks what the C API cannot see (array ranks and the order of their axes).
"""

import ctypes
import dataclasses
import operator
import os
from typing import Optional

import numpy as np

from . import _library as _c
from .errors import SVQError, Status


def _check(status):
    """Raises SVQError with the library's message unless ``status`` is OK."""
    if status != Status.OK:
        raise SVQError(status, _c.library().svq_last_error().decode("utf-8", "replace"))


class _Watched:
    """The C call inside it reports its progress to ``progress(fraction)`` (on this thread, after each step)
    and stops, raising SVQError(CANCELLED), when ``progress`` returns False. An exception raised by
    ``progress`` stops the call too and is raised in its place. ``progress=None`` watches nothing."""

    def __init__(self, progress):
        if progress is not None and not callable(progress):
            raise SVQError(Status.INVALID_ARGUMENT, f"progress must be callable, got {progress!r}")
        self._progress = progress
        self._stop = False
        self._error = None

    def _report(self, fraction, _user_data):
        try:
            if self._progress(float(fraction)) is False:
                self._stop = True
        except BaseException as e:   # noqa: B036 -- re-raised after the call, which is stopped first
            self._error = e
            self._stop = True

    def _abort(self, _user_data):
        return self._stop

    def __enter__(self):
        if self._progress is not None:
            # Kept on self: the C function pointers live as long as these ctypes objects.
            self._callbacks = _c.Callbacks(_c.PROGRESS_CALLBACK(self._report), None,
                                           _c.ABORT_CALLBACK(self._abort), None)
            _check(_c.library().svq_set_callbacks(ctypes.byref(self._callbacks)))
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            _c.library().svq_set_callbacks(None)
            if self._error is not None:
                raise self._error
        return False


def _ptr(array, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def set_threads(n: int) -> None:
    """Threads used inside each call (matrix products and parallel loops): 1 <= n <= MAX_THREADS (1024),
    or 0 for one per core. Raises SVQError(INVALID_ARGUMENT) otherwise. Process-wide; set it before
    starting work, not while other threads are inside the library."""
    _check(_c.library().svq_set_threads(_i32(n, "n")))


def get_threads() -> int:
    """The current thread setting."""
    return int(_c.library().svq_get_threads())


def version() -> str:
    """The library's version string."""
    return _c.library().svq_version().decode()


def api_version() -> int:
    """The library's C API version (SVQ_API_VERSION)."""
    return int(_c.library().svq_api_version())


def library_path():
    """The path of the loaded libsvq."""
    return _c.library_path()


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """A model's sizes."""

    image_size: int  #: height = width of images, in pixels
    image_channels: int  #: channels (3 = RGB)
    num_slots: int  #: N, objects per image
    num_blocks: int  #: M, codes per object
    codebook_size: int  #: P, values per code (0 .. P-1)
    slot_size: int  #: S, width of a slot vector; a codebook prototype has S / M values
    vocab_size: int  #: dVAE vocabulary
    tokens_per_image: int  #: dVAE tokens the decoder writes per image
    has_prior: bool  #: whether :meth:`Model.sample_prior` is available


@dataclasses.dataclass(frozen=True)
class Encoding:
    """What :meth:`Model.encode` returns for B images."""

    codes: np.ndarray  #: int32 [B, N, M]
    masks: Optional[np.ndarray] = None  #: float32 [B, N, H, W], each object's share of every pixel
    slots: Optional[np.ndarray] = None  #: float32 [B, N, S], the quantized slot vectors


class Model:
    """A loaded SVQ model.

    >>> with svq.Model("models/sprites.safetensors") as model:
    ...     codes = model.encode(images, seed=0).codes        # images: uint8 or float [B, H, W, 3]
    ...     recon = model.decode(codes)                        # float32 [B, H, W, 3] in [0, 1]
    ...     scenes = model.decode(model.sample_prior(4, seed=1), dtype=np.uint8)

    One model may be used from many threads at once (the library releases the GIL during each call);
    results depend only on the arguments. ``close()`` (or leaving the ``with`` block) frees it.
    """

    def __init__(self, path):
        """Loads an SVQ weights file. Raises SVQError (IO_ERROR, INVALID_MODEL)."""
        self._handle = None
        lib = _c.library()
        handle = ctypes.c_void_p()
        _check(lib.svq_model_load_file(os.fsencode(path), ctypes.byref(handle)))
        self._init(handle)

    @classmethod
    def from_bytes(cls, data) -> "Model":
        """Loads a model from the bytes of a weights file (bytes, bytearray or memoryview; copied)."""
        self = cls.__new__(cls)
        self._handle = None
        buffer = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
        handle = ctypes.c_void_p()
        _check(_c.library().svq_model_load_memory(buffer.ctypes.data_as(ctypes.c_void_p), buffer.size,
                                                  ctypes.byref(handle)))
        self._init(handle)
        return self

    def _init(self, handle):
        self._lib = _c.library()
        self._handle = handle
        info = _c.Info()
        _check(self._lib.svq_model_info(handle, ctypes.byref(info)))
        self._info = ModelInfo(**{name: (bool if name == "has_prior" else int)(getattr(info, name))
                                  for name, _ in _c.Info._fields_})

    # Lifetime

    def close(self) -> None:
        """Frees the model; later calls raise SVQError(INVALID_ARGUMENT). Calling it again does nothing."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.svq_model_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()

    def _live(self):
        if self._handle is None:
            raise SVQError(Status.INVALID_ARGUMENT, "the model is closed")
        return self._handle

    @property
    def info(self) -> ModelInfo:
        """The model's sizes."""
        return self._info

    def __repr__(self):
        i = self._info
        state = "closed" if self._handle is None else "open"
        return (f"<svq.Model {state}: {i.image_size}x{i.image_size}x{i.image_channels} images, "
                f"{i.num_slots} slots x {i.num_blocks} codes of {i.codebook_size}, prior: {i.has_prior}>")

    # Encode / decode

    def encode(self, images, *, seed: int = 0, masks: bool = False, slots: bool = False,
               progress=None) -> Encoding:
        """Encodes images [B, H, W, C] (NHWC): uint8 0..255, or floats in [0, 1] (converted to float32).

        The same seed and images give the same codes (encoding starts from random slots). With ``masks``
        and ``slots``, also returns the per-object attention masks [B, N, H, W] and the quantized slots
        [B, N, S]. Raises SVQError: SHAPE_MISMATCH (not [B, image_size, image_size, channels]),
        INVALID_ARGUMENT (B = 0, integer pixels that are not uint8), INVALID_VALUE (NaN, infinite or
        out-of-range pixels), CANCELLED. ``progress``: as in decode, one step per slot attention iteration.
        """
        handle, i = self._live(), self._info
        images = np.asarray(images)
        if images.ndim != 4:
            raise SVQError(Status.SHAPE_MISMATCH,
                           f"images must be [batch, height, width, channels] (NHWC), got shape {images.shape}; "
                           "use images[None] for a single image")
        if images.dtype == np.uint8:
            fn, ctype = self._lib.svq_encode_u8, ctypes.c_uint8
        elif np.issubdtype(images.dtype, np.floating):
            images, fn, ctype = images.astype(np.float32, copy=False), self._lib.svq_encode_f32, ctypes.c_float
        else:
            raise SVQError(Status.INVALID_ARGUMENT,
                           f"images must be uint8 (0..255) or floating point (0..1), got {images.dtype}")
        images = np.ascontiguousarray(images)
        b, h, w, c = images.shape
        codes = np.empty((b, i.num_slots, i.num_blocks), dtype=np.int32)
        mask_out = np.empty((b, i.num_slots, i.image_size, i.image_size), np.float32) if masks else None
        slot_out = np.empty((b, i.num_slots, i.slot_size), np.float32) if slots else None
        params = _c.EncodeParams(seed=_seed(seed))
        with _Watched(progress):
            _check(fn(handle, _ptr(images, ctype), _i32(b, "batch"), _i32(h, "height"), _i32(w, "width"),
                      _i32(c, "channels"), ctypes.byref(params), _ptr(codes, ctypes.c_int32), codes.size,
                      _ptr(mask_out, ctypes.c_float) if masks else None, mask_out.size if masks else 0,
                      _ptr(slot_out, ctypes.c_float) if slots else None, slot_out.size if slots else 0))
        return Encoding(codes=codes, masks=mask_out, slots=slot_out)

    def decode(self, codes, *, temperature: Optional[float] = None, top_k: int = 0, seed: int = 0,
               candidates: int = 1, greedy: bool = False, dtype=np.float32, progress=None) -> np.ndarray:
        """Decodes codes [B, N, M] to images [B, H, W, C]: float32 in [0, 1], or uint8 with ``dtype=np.uint8``.

        Each dVAE token is drawn from softmax(logits / temperature) among the ``top_k`` most likely (0: all),
        reproducibly per ``seed``. ``temperature`` defaults to the library's, 0.75: greedy decoding drops
        objects (svq.h says why), as in C, Swift and the command line. ``greedy=True`` takes the most likely
        token instead (deterministic; no temperature or top_k). With ``candidates`` > 1 (drawn tokens only),
        that many images are drawn per code set and the one whose re-encoding gives back the codes most
        closely is kept.
        Raises SVQError: SHAPE_MISMATCH, INVALID_ARGUMENT (B = 0, bad temperature, top_k or candidates, a
        temperature or top_k with greedy=True), INVALID_VALUE (a code outside 0 .. P-1), CANCELLED.
        ``progress(fraction)`` is called on this thread after each of the decoder's tokens_per_image steps;
        returning False stops the call (SVQError CANCELLED), and an exception it raises stops the call and
        is raised in its place. The same ``progress`` works for encode and sample_prior.
        """
        handle, i = self._live(), self._info
        codes = self._codes(codes, "codes")
        b = codes.shape[0]
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise SVQError(Status.INVALID_ARGUMENT, f"dtype must be numpy.float32 or numpy.uint8, got {dtype!r}") from None
        if dtype == np.float32:
            out, fn, ctype = np.empty((b, i.image_size, i.image_size, i.image_channels), np.float32), \
                self._lib.svq_decode_f32, ctypes.c_float
        elif dtype == np.uint8:
            out, fn, ctype = np.empty((b, i.image_size, i.image_size, i.image_channels), np.uint8), \
                self._lib.svq_decode_u8, ctypes.c_uint8
        else:
            raise SVQError(Status.INVALID_ARGUMENT, f"dtype must be numpy.float32 or numpy.uint8, got {dtype}")
        params = self._lib.svq_decode_default_params()
        if greedy:
            if temperature is not None or top_k != 0:
                raise SVQError(Status.INVALID_ARGUMENT, "greedy=True takes the most likely token: it has no "
                               f"temperature or top_k (got temperature={temperature!r}, top_k={top_k!r})")
            params.sampling = _c.SAMPLING_GREEDY
        else:
            params.sampling = _c.SAMPLING_SAMPLE
            if temperature is not None:
                params.temperature = float(temperature)
            params.top_k = _i32(top_k, "top_k")
        params.seed = _seed(seed)   # checked even where greedy decoding does not use it
        params.candidates = _i32(candidates, "candidates")
        with _Watched(progress):
            _check(fn(handle, _ptr(codes, ctypes.c_int32), _i32(b, "batch"), ctypes.byref(params), _ptr(out, ctype),
                      out.size))
        return out

    # Prior and codebooks

    def sample_prior(self, count: int, *, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                     fixed_codes=None, fixed_mask=None, progress=None) -> np.ndarray:
        """Samples ``count`` code sets [count, N, M] (int32) from the semantic prior.

        To complete partial code sets, pass ``fixed_codes`` [count, N, M] and a boolean ``fixed_mask`` of the
        same shape: codes where the mask is true are kept, the rest is sampled to go with them. Raises
        SVQError: NO_PRIOR (none, or never trained), INVALID_ARGUMENT (count < 1, bad temperature or top_k,
        only one of fixed_codes / fixed_mask), SHAPE_MISMATCH, INVALID_VALUE (a fixed code out of range),
        CANCELLED. ``progress``: as in decode, one step per position (N · M).
        """
        handle, i = self._live(), self._info
        count = _i32(count, "count")
        shape = (count, i.num_slots, i.num_blocks)
        codes_ptr = mask_ptr = None
        if fixed_codes is not None:
            fixed_codes = self._codes(fixed_codes, "fixed_codes", masked=fixed_mask)
            if fixed_codes.shape != shape:
                raise SVQError(Status.SHAPE_MISMATCH, f"fixed_codes must be {shape}, got {fixed_codes.shape}")
            codes_ptr = _ptr(fixed_codes, ctypes.c_int32)
        if fixed_mask is not None:
            fixed_mask = np.ascontiguousarray(np.asarray(fixed_mask) != 0, dtype=np.uint8)
            if fixed_mask.shape != shape:
                raise SVQError(Status.SHAPE_MISMATCH, f"fixed_mask must be {shape}, got {fixed_mask.shape}")
            mask_ptr = _ptr(fixed_mask, ctypes.c_uint8)
        out = np.empty((max(count, 0), i.num_slots, i.num_blocks), dtype=np.int32)
        params = _c.PriorParams(temperature=float(temperature), top_k=_i32(top_k, "top_k"), seed=_seed(seed))
        with _Watched(progress):
            _check(self._lib.svq_prior_sample(handle, count, ctypes.byref(params), codes_ptr, mask_ptr,
                                              _ptr(out, ctypes.c_int32), out.size))
        return out

    def codebook(self, block: int) -> np.ndarray:
        """Block ``block``'s codebook, float32 [P, S / M]: row p is what code p of that block stands for."""
        handle, i = self._live(), self._info
        out = np.empty((i.codebook_size, i.slot_size // i.num_blocks), dtype=np.float32)
        _check(self._lib.svq_codebook(handle, _i32(block, "block"), _ptr(out, ctypes.c_float), out.size))
        return out

    def _codes(self, codes, name, masked=None):
        """Codes as C-contiguous int32 [B, N, M]; values that do not fit int32 are an error, not wrapped."""
        i = self._info
        codes = np.asarray(codes)
        if not np.issubdtype(codes.dtype, np.integer):
            raise SVQError(Status.INVALID_ARGUMENT, f"{name} must be integers, got {codes.dtype}")
        if codes.ndim != 3 or codes.shape[1:] != (i.num_slots, i.num_blocks):
            raise SVQError(Status.SHAPE_MISMATCH,
                           f"{name} must be [batch, {i.num_slots}, {i.num_blocks}] ([batch, slots, blocks]), "
                           f"got shape {codes.shape}")
        if codes.dtype != np.int32 and codes.size:
            checked = codes if masked is None or np.shape(masked) != codes.shape else codes[np.asarray(masked) != 0]
            if checked.size and (checked.min() < 0 or checked.max() >= i.codebook_size):
                bad = checked[(checked < 0) | (checked >= i.codebook_size)][0]
                raise SVQError(Status.INVALID_VALUE, f"{name} holds {bad}, outside 0..{i.codebook_size - 1}")
            codes = np.where((codes < -2**31) | (codes >= 2**31), 0, codes)   # ignored entries only
        return np.ascontiguousarray(codes, dtype=np.int32)


def _integer(value, name) -> int:
    """An int from an int or a numpy integer; anything else (a float, a bool, a string) is an error, not
    truncated: 2.7 samples is a mistake to report, not 2."""
    if isinstance(value, (bool, np.bool_)):
        raise SVQError(Status.INVALID_ARGUMENT, f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise SVQError(Status.INVALID_ARGUMENT, f"{name} must be an integer, got {value!r}") from None


def _i32(value, name) -> int:
    """An int for an int32 argument; out of range is an error (ctypes would wrap it silently)."""
    value = _integer(value, name)
    if not -2**31 <= value < 2**31:
        raise SVQError(Status.INVALID_ARGUMENT, f"{name} is {value}, which does not fit in an int32")
    return value


def _seed(value) -> int:
    value = _integer(value, "seed")
    if not 0 <= value < 2**64:
        raise SVQError(Status.INVALID_ARGUMENT, f"seed must be in 0 .. 2**64-1, got {value}")
    return value
