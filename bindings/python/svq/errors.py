"""Errors of the SVQ runtime: a status (the C API's ``svq_status``) and the library's message."""

import enum


class Status(enum.IntEnum):
    """The C API's ``svq_status`` values."""

    OK = 0
    INVALID_ARGUMENT = 1  #: a bad argument: empty batch, bad parameter, mask without codes, closed model
    SHAPE_MISMATCH = 2  #: array shapes that do not fit the model (image size, channels, code layout)
    INVALID_VALUE = 3  #: a NaN, infinite or out-of-range pixel; a code out of range
    BUFFER_TOO_SMALL = 4  #: an output buffer too small (not raised by this package: it sizes them)
    IO_ERROR = 5  #: the model file cannot be opened or read
    INVALID_MODEL = 6  #: not a valid SVQ weights file
    NO_PRIOR = 7  #: the model has no semantic prior, or one that was never trained
    INTERNAL_ERROR = 8  #: a bug in the library
    CANCELLED = 9  #: the call's progress callback returned False


class SVQError(Exception):
    """A failed SVQ call.

    ``status`` is a :class:`Status`; ``message`` says what was wrong.

    >>> try:
    ...     svq.Model("missing.safetensors")
    ... except svq.SVQError as e:
    ...     print(e.status.name, e.message)
    IO_ERROR cannot read missing.safetensors: No such file or directory
    """

    def __init__(self, status, message):
        self.status = Status(status)
        self.message = message
        super().__init__(f"{self.status.name.lower()}: {message}")


class LibraryNotFoundError(OSError):
    """libsvq.so could not be found or loaded (see :func:`svq.library_path`)."""
