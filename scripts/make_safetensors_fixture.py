#!/usr/bin/env python3
"""Regenerate Tests/SafeTensorsTests/Fixtures/python_written.safetensors.

The file is written by the reference implementation (Hugging Face's
`safetensors` Python package) so the Swift reader is tested against a file it
did not produce itself. The Swift test recomputes every value from the same
formulas used below; keep the two in sync if you change anything here.

Usage (any Python 3 with a throwaway virtualenv):

    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install safetensors numpy
    /tmp/stvenv/bin/python scripts/make_safetensors_fixture.py

The output is small (well under 10 KB). Tensor data is deterministic; the
reference writer may order the __metadata__ keys differently from run to run.
"""

import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "SafeTensorsTests", "Fixtures", "python_written.safetensors")


def tensors():
    return {
        # F32 [2,3,4]: 0, 1, ..., 23
        "f32_arange": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        # F32 [3]: i * 0.25 - 1 (exactly representable)
        "f32_quarters": (np.arange(3, dtype=np.float32) * np.float32(0.25) - np.float32(1.0)),
        # I64 [5]: i * 1_000_000_007 - 2_000_000_000 (needs more than 32 bits)
        "i64_big": np.arange(5, dtype=np.int64) * 1_000_000_007 - 2_000_000_000,
        # I32 [3,2]: i * 3 - 7
        "i32_mixed": (np.arange(6, dtype=np.int32) * 3 - 7).reshape(3, 2),
        # F16 [2,3]: i * 0.5 - 1.25 (exactly representable in half precision)
        "f16_halves": (np.arange(6, dtype=np.float16) * np.float16(0.5) - np.float16(1.25)).reshape(2, 3),
        # F64 [4]: i / 8 + 0.1 (rounds when converted to Float)
        "f64_values": np.arange(4, dtype=np.float64) / 8.0 + 0.1,
        # I16 [4]: i * 1000 - 1500
        "i16_values": np.arange(4, dtype=np.int16) * 1000 - 1500,
        # I8 [4]: i * 50 - 100
        "i8_values": (np.arange(4, dtype=np.int8) * 50 - 100).astype(np.int8),
        # U8 [4]: i * 80 + 15
        "u8_values": (np.arange(4, dtype=np.uint8) * 80 + 15).astype(np.uint8),
        # F32 scalar (shape []): 3.5
        "f32_scalar": np.array(3.5, dtype=np.float32),
        # F32 [0, 3]: empty
        "f32_empty": np.zeros((0, 3), dtype=np.float32),
    }


def main():
    data = tensors()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(data, OUT, metadata={"format": "test", "version": "1"})

    # Sanity check with the reference reader.
    back = load_file(OUT)
    for name, value in data.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape, name
        assert np.array_equal(back[name], value), name
    size = os.path.getsize(OUT)
    assert size < 10 * 1024, size
    print(f"wrote {os.path.normpath(OUT)} ({size} bytes)")


if __name__ == "__main__":
    sys.exit(main())
