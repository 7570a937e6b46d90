"""SVQ: semantic vector-quantized image representations — the runtime from Python.

Images become N x M small integer codes (one per object and factor) and back; the semantic prior samples
new code sets. A thin ctypes layer over libsvq (the C API in include/svq.h), numpy arrays in and out.

>>> import numpy as np, svq
>>> with svq.Model("models/sprites.safetensors") as model:
...     enc = model.encode(images, seed=0)               # images: uint8 [B, H, W, 3]
...     print(enc.codes.shape)                            # (B, N, M)
...     recon = model.decode(enc.codes, dtype=np.uint8)   # [B, H, W, 3]
"""

from ._library import MAX_THREADS
from .errors import LibraryNotFoundError, Status, SVQError
from .model import Encoding, Model, ModelInfo, api_version, get_threads, library_path, set_threads, version

__all__ = [
    "Encoding", "LibraryNotFoundError", "MAX_THREADS", "Model", "ModelInfo", "Status", "SVQError",
    "api_version", "get_threads", "library_path", "set_threads", "version",
]
__version__ = "0.1.0"
