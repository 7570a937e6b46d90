"""A process that used the library on several threads forks (multiprocessing's "fork" start method, the
default on Linux before Python 3.14): the children's calls finish and give the parent's results."""

import multiprocessing

import numpy as np

import svq
from conftest import make_images

# Inherited by the forked children: the parent's model, images and thread setting.
_model = None
_images = make_images(2, seed=5)


def _encode_decode(seed):
    codes = _model.encode(_images, seed=seed).codes
    return codes, _model.decode(codes, seed=seed, dtype=np.uint8)


def test_forked_children_give_the_parents_results(model):
    global _model
    _model = model
    threads = svq.get_threads()
    svq.set_threads(2)
    try:
        # The parent uses the library on two threads first: the state a fork copies.
        expected = [_encode_decode(seed) for seed in range(4)]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            # A child that hangs (as one did inside the OpenMP runtime) fails here instead of hanging the run.
            got = pool.map_async(_encode_decode, range(4)).get(timeout=120)
        assert len(got) == len(expected)
        for (codes, pixels), (want_codes, want_pixels) in zip(got, expected):
            np.testing.assert_array_equal(codes, want_codes)
            np.testing.assert_array_equal(pixels, want_pixels)
        # The parent keeps working after the fork.
        np.testing.assert_array_equal(_encode_decode(0)[1], expected[0][1])
    finally:
        svq.set_threads(threads)
        _model = None
