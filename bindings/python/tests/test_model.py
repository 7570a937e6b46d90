"""Good calls: shapes, dtypes, ranges, determinism per seed, and agreement between entry points."""

import numpy as np
import pytest

import svq
from conftest import make_images


def test_info_and_library(model):
    i = model.info
    assert (i.image_size, i.image_channels, i.num_slots, i.num_blocks, i.codebook_size) == (64, 3, 3, 4, 8)
    assert (i.slot_size, i.vocab_size, i.tokens_per_image, i.has_prior) == (64, 32, 256, True)
    assert "64x64x3" in repr(model)
    assert svq.api_version() == 3
    assert svq.version() == svq.__version__
    assert svq.library_path().exists()


def test_encode(model):
    images = make_images(2)
    enc = model.encode(images, seed=3, masks=True, slots=True)
    assert enc.codes.shape == (2, 3, 4) and enc.codes.dtype == np.int32
    assert enc.codes.min() >= 0 and enc.codes.max() < 8
    assert enc.masks.shape == (2, 3, 64, 64) and enc.masks.dtype == np.float32
    np.testing.assert_allclose(enc.masks.sum(axis=1), 1, atol=1e-4)
    assert enc.slots.shape == (2, 3, 64)
    # A quantized slot is its codes' codebook rows.
    for m in range(4):
        book = model.codebook(m)
        np.testing.assert_array_equal(enc.slots[:, :, m * 16:(m + 1) * 16], book[enc.codes[:, :, m]])
    plain = model.encode(images, seed=3)
    assert plain.masks is None and plain.slots is None
    np.testing.assert_array_equal(plain.codes, enc.codes)


def test_encode_is_deterministic_per_seed_and_dtypes_agree(model):
    images = make_images(3, seed=1)
    a = model.encode(images, seed=5, slots=True)
    np.testing.assert_array_equal(a.slots, model.encode(images, seed=5, slots=True).slots)
    floats = images.astype(np.float32) / 255
    np.testing.assert_array_equal(a.codes, model.encode(floats, seed=5).codes)
    np.testing.assert_array_equal(a.codes, model.encode(floats.astype(np.float64), seed=5).codes)
    # A non-contiguous view is copied into the C layout.
    view = images[::-1, :, ::-1]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(model.encode(view, seed=5).codes, model.encode(view.copy(), seed=5).codes)
    slots = {model.encode(images, seed=s, slots=True).slots.tobytes() for s in range(6)}
    assert len(slots) > 1, "the seed should matter"


def test_decode(model):
    codes = model.sample_prior(2, seed=4)
    images = model.decode(codes, greedy=True)
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    as_bytes = model.decode(codes, greedy=True, dtype=np.uint8)
    assert as_bytes.dtype == np.uint8
    np.testing.assert_array_equal(as_bytes, np.rint(images * 255).astype(np.uint8))
    np.testing.assert_array_equal(model.decode(codes, greedy=True, dtype="uint8"), as_bytes)
    np.testing.assert_array_equal(images, model.decode(codes.astype(np.int64), greedy=True))
    # The default draws tokens at 0.75, seed 0: the library's default params, not greedy decoding.
    default = model.decode(codes)
    np.testing.assert_array_equal(default, model.decode(codes, temperature=0.75, seed=0))
    assert not np.array_equal(default, images)
    sampled = model.decode(codes, temperature=1.5, seed=2)
    np.testing.assert_array_equal(sampled, model.decode(codes, temperature=1.5, seed=2))
    assert not np.array_equal(sampled, model.decode(codes, temperature=1.5, seed=3))
    best = model.decode(codes, temperature=1.5, seed=2, candidates=4)
    assert best.shape == images.shape
    np.testing.assert_array_equal(best, model.decode(codes, temperature=1.5, seed=2, candidates=4))
    for bad in (-1, 65):
        with pytest.raises(svq.SVQError, match="candidates") as e:
            model.decode(codes, temperature=1.5, candidates=bad)
        assert e.value.status == svq.Status.INVALID_ARGUMENT
    with pytest.raises(svq.SVQError, match="greedy"):
        model.decode(codes, greedy=True, candidates=2)
    np.testing.assert_array_equal(model.decode(codes, temperature=1.0, top_k=1, seed=9), images)


def test_sample_prior(model):
    codes = model.sample_prior(5, seed=1, temperature=0.8, top_k=3)
    assert codes.shape == (5, 3, 4) and codes.dtype == np.int32
    assert codes.min() >= 0 and codes.max() < 8
    np.testing.assert_array_equal(codes, model.sample_prior(5, seed=1, temperature=0.8, top_k=3))
    assert not np.array_equal(codes, model.sample_prior(5, seed=2, temperature=0.8, top_k=3))


def test_completion_keeps_fixed_codes(model):
    base = model.sample_prior(3, seed=10)
    mask = np.zeros(base.shape, dtype=bool)
    mask[:, 0, :] = True
    fixed = np.where(mask, (base + 1) % 8, -5).astype(np.int64)   # unmasked entries are ignored
    out = model.sample_prior(3, seed=11, fixed_codes=fixed, fixed_mask=mask)
    np.testing.assert_array_equal(out[mask], fixed[mask])
    everything = model.sample_prior(3, seed=12, fixed_codes=base, fixed_mask=np.ones(base.shape, np.uint8))
    np.testing.assert_array_equal(everything, base)


def test_codebook(model):
    books = [model.codebook(m) for m in range(4)]
    assert all(b.shape == (8, 16) and b.dtype == np.float32 for b in books)
    assert np.isfinite(np.stack(books)).all()


def test_from_bytes_and_close(model_path, model):
    with open(model_path, "rb") as f:
        data = f.read()
    images = make_images(1)
    with svq.Model.from_bytes(data) as m:
        assert m.info == model.info
        np.testing.assert_array_equal(m.encode(images, seed=1).codes, model.encode(images, seed=1).codes)
    with pytest.raises(svq.SVQError) as e:
        m.encode(images)
    assert e.value.status == svq.Status.INVALID_ARGUMENT and "closed" in e.value.message
    m.close()  # again: nothing happens
    m2 = svq.Model.from_bytes(bytearray(data))
    del m2  # freed by the finaliser


def test_threads_setting(model):
    images = make_images(2)
    before = svq.get_threads()
    try:
        svq.set_threads(1)
        assert svq.get_threads() == 1
        one = model.encode(images, seed=2, slots=True).slots
        svq.set_threads(2)
        np.testing.assert_array_equal(one, model.encode(images, seed=2, slots=True).slots)
        svq.set_threads(0)
        assert svq.get_threads() >= 1
    finally:
        svq.set_threads(before)


def test_progress_reports_every_step_and_can_cancel(model):
    info = model.info
    codes = model.sample_prior(2, seed=1)
    seen = []
    plain = model.decode(codes, temperature=1.0, seed=4)
    watched = model.decode(codes, temperature=1.0, seed=4, progress=seen.append)
    np.testing.assert_array_equal(watched, plain)              # watching changes nothing
    assert len(seen) == info.tokens_per_image                   # one report per decoder step
    assert seen == sorted(seen) and seen[-1] == 1.0 and seen[0] > 0
    steps = []
    model.sample_prior(2, seed=1, progress=steps.append)
    assert len(steps) == info.num_slots * info.num_blocks

    calls = []

    def stop_at_third(fraction):
        calls.append(fraction)
        return len(calls) < 3

    with pytest.raises(svq.SVQError) as e:
        model.decode(codes, progress=stop_at_third)
    assert e.value.status == svq.Status.CANCELLED
    assert len(calls) == 3                                      # stopped at once, not at the end
    # The thread's callbacks are gone after the call: the next one runs to the end.
    np.testing.assert_array_equal(model.decode(codes, temperature=1.0, seed=4), plain)

    class Boom(Exception):
        pass

    def explode(fraction):
        raise Boom()

    with pytest.raises(Boom):
        model.encode(model.decode(codes, dtype=np.uint8), progress=explode)
