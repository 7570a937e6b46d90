"""Test models: SVQ_TEST_MODEL (with a prior) and SVQ_TEST_MODEL_NO_PRIOR, made by scripts/test-python.sh
from the official tiny checkpoint (64x64x3 images, 3 slots x 4 blocks, 8 codes per block)."""

import os

import numpy as np
import pytest

import svq


def _model_path(variable):
    path = os.environ.get(variable)
    if not path or not os.path.isfile(path):
        pytest.fail(f"{variable} must name a model file; run scripts/test-python.sh", pytrace=False)
    return path


@pytest.fixture(scope="session")
def model_path():
    return _model_path("SVQ_TEST_MODEL")


@pytest.fixture(scope="session")
def model(model_path):
    with svq.Model(model_path) as m:
        yield m


@pytest.fixture(scope="session")
def no_prior_model():
    with svq.Model(_model_path("SVQ_TEST_MODEL_NO_PRIOR")) as m:
        yield m


def make_images(batch, size=64, seed=0):
    """Deterministic uint8 NHWC images: coloured squares on a dark background."""
    rng = np.random.default_rng(seed)
    images = np.full((batch, size, size, 3), 12, dtype=np.uint8)
    for b in range(batch):
        for _ in range(3):
            x, y = rng.integers(0, size - 16, 2)
            images[b, y:y + 16, x:x + 16] = rng.integers(0, 256, 3)
    return images
