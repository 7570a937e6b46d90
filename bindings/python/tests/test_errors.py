"""Every bad input raises svq.SVQError with the right status and a message; nothing crashes."""

import os

import numpy as np
import pytest

import svq
from svq import Status
from conftest import make_images


def raises(status, fn, *args, fragment="", **kwargs):
    with pytest.raises(svq.SVQError) as e:
        fn(*args, **kwargs)
    assert e.value.status == status, e.value.message
    assert e.value.message and fragment in e.value.message, e.value.message
    return e.value


def test_status_values_match_the_library():
    lib = svq.model._c.library()
    for status in Status:
        assert lib.svq_status_string(int(status)) != b"unknown status"
    assert lib.svq_status_string(len(Status)) == b"unknown status"


def test_bad_files(tmp_path, model_path):
    raises(Status.IO_ERROR, svq.Model, tmp_path / "missing.safetensors", fragment="missing.safetensors")
    raises(Status.IO_ERROR, svq.Model, tmp_path, fragment="not a regular file")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(1000))
    raises(Status.INVALID_MODEL, svq.Model, junk)
    raises(Status.INVALID_MODEL, svq.Model.from_bytes, b"")
    with open(model_path, "rb") as f:
        data = f.read()
    for cut in [1, 8, 9, 64, len(data) // 2, len(data) - 1]:
        raises(Status.INVALID_MODEL, svq.Model.from_bytes, data[:cut])


def test_bad_images(model):
    good = make_images(1)
    raises(Status.SHAPE_MISMATCH, model.encode, good[0], fragment="images[None]")
    raises(Status.SHAPE_MISMATCH, model.encode, good[:, :32])
    raises(Status.SHAPE_MISMATCH, model.encode, good[..., :2])
    raises(Status.SHAPE_MISMATCH, model.encode, np.zeros((1, 3, 64, 64), np.uint8))
    raises(Status.INVALID_ARGUMENT, model.encode, good[:0], fragment="batch")
    raises(Status.INVALID_ARGUMENT, model.encode, good.astype(np.int32), fragment="int32")
    floats = good.astype(np.float32) / 255
    for bad, why in [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite"), (1.01, "outside"), (-0.5, "outside")]:
        x = floats.copy()
        x[0, 10, 20, 1] = bad
        raises(Status.INVALID_VALUE, model.encode, x, fragment=why)
    raises(Status.INVALID_VALUE, model.encode, good.astype(np.float32), fragment="[0, 1]")   # 0..255 as floats
    raises(Status.INVALID_ARGUMENT, model.encode, good, seed=-1)


def test_bad_codes(model):
    codes = np.zeros((2, 3, 4), np.int32)
    raises(Status.SHAPE_MISMATCH, model.decode, codes[0])
    raises(Status.SHAPE_MISMATCH, model.decode, np.zeros((2, 4, 3), np.int32))
    raises(Status.INVALID_ARGUMENT, model.decode, codes[:0], fragment="batch")
    raises(Status.INVALID_ARGUMENT, model.decode, codes.astype(np.float32), fragment="integers")
    for value in [8, -1, 2**40, -2**40]:
        bad = codes.astype(np.int64)
        bad[1, 2, 3] = value
        raises(Status.INVALID_VALUE, model.decode, bad, fragment=str(value))
    bad = codes.copy()
    bad[1, 2, 3] = 9
    raises(Status.INVALID_VALUE, model.decode, bad, fragment="[1, 2, 3]")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=0, fragment="temperature")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=float("nan"), fragment="temperature")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=1.0, top_k=-1, fragment="top_k")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=1.0, top_k=2**40, fragment="int32")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, dtype=np.int16, fragment="dtype")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, dtype="no such type", fragment="dtype")


def test_bad_prior_calls(model, no_prior_model):
    shape = (2, 3, 4)
    codes, mask = np.zeros(shape, np.int32), np.ones(shape, bool)
    raises(Status.NO_PRIOR, no_prior_model.sample_prior, 1, fragment="prior")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 0, fragment="count")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, -1, fragment="count")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 2, fixed_mask=mask, fragment="without the fixed codes")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 2, fixed_codes=codes, fragment="without a mask")
    raises(Status.SHAPE_MISMATCH, model.sample_prior, 3, fixed_codes=codes, fixed_mask=mask)
    raises(Status.SHAPE_MISMATCH, model.sample_prior, 2, fixed_codes=codes, fixed_mask=mask[0])
    bad = codes.copy()
    bad[0, 1, 2] = 8
    raises(Status.INVALID_VALUE, model.sample_prior, 2, fixed_codes=bad, fixed_mask=mask, fragment="8")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 1, temperature=0, fragment="temperature")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 1, temperature=float("inf"), fragment="temperature")
    raises(Status.INVALID_ARGUMENT, model.sample_prior, 1, top_k=-2, fragment="top_k")


def test_bad_codebook_and_threads(model):
    raises(Status.INVALID_ARGUMENT, model.codebook, -1, fragment="block")
    raises(Status.INVALID_ARGUMENT, model.codebook, 4, fragment="block")
    raises(Status.INVALID_ARGUMENT, svq.set_threads, -3, fragment="-3")


def test_thread_counts_above_the_maximum_are_refused():
    before = svq.get_threads()
    try:
        assert svq.MAX_THREADS == 1024
        raises(Status.INVALID_ARGUMENT, svq.set_threads, svq.MAX_THREADS + 1, fragment="1024")
        raises(Status.INVALID_ARGUMENT, svq.set_threads, 100000, fragment="100000")
        raises(Status.INVALID_ARGUMENT, svq.set_threads, 2**31 - 1, fragment="1024")
        raises(Status.INVALID_ARGUMENT, svq.set_threads, 2**32 + 2, fragment="int32")   # not wrapped to 2
        assert svq.get_threads() == before, "a refused count leaves the setting alone"
        svq.set_threads(svq.MAX_THREADS)   # the bound itself is allowed (no work runs on it here)
        assert svq.get_threads() == svq.MAX_THREADS
    finally:
        svq.set_threads(before)


def test_non_integer_counts_and_seeds_are_errors_not_truncated(model):
    codes = model.sample_prior(1, seed=np.uint64(3))       # numpy integers are integers
    assert codes.shape[0] == 1
    for bad in [2.7, 2.0, "2", True, None]:
        raises(Status.INVALID_ARGUMENT, model.sample_prior, bad, fragment="count must be an integer")
        raises(Status.INVALID_ARGUMENT, model.sample_prior, 1, seed=bad, fragment="seed must be an integer")
        raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=1.0, seed=bad, fragment="seed")
        raises(Status.INVALID_ARGUMENT, model.decode, codes, temperature=1.0, top_k=bad, fragment="top_k")
    images = make_images(1, size=model.info.image_size)
    raises(Status.INVALID_ARGUMENT, model.encode, images, seed=0.5, fragment="seed must be an integer")
    raises(Status.INVALID_ARGUMENT, model.codebook, 1.5, fragment="block must be an integer")


def test_greedy_decoding_takes_no_temperature_or_top_k(model):
    codes = model.sample_prior(1, seed=1)
    raises(Status.INVALID_ARGUMENT, model.decode, codes, greedy=True, top_k=5, fragment="top_k")
    raises(Status.INVALID_ARGUMENT, model.decode, codes, greedy=True, temperature=0.5, fragment="temperature")
    assert model.decode(codes, top_k=5).shape[0] == 1          # at the default temperature
