"""examples/onnx/svq_onnx_demo.py: its loops give our outputs, and the script runs end to end."""

import sys
from pathlib import Path

import numpy as np
import png
import pytest

from onnx_helpers import max_abs_diff

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples/onnx"))
import svq_onnx_demo  # noqa: E402


def test_demo_decode_is_our_reconstruction(export, record_diff):
    ref = export.reference
    demo = svq_onnx_demo.SVQ(export.folder)
    record_diff("demo decode(codes) image", max_abs_diff(demo.decode(ref["codes"]), ref["image"]), 1e-4)


def test_demo_samples_codes_of_each_block(export):
    if "prior_step" not in export.manifest["graphs"]:
        pytest.skip("this model has no prior")
    s = export.sizes
    codes = svq_onnx_demo.SVQ(export.folder).sample(3, np.random.default_rng(0), temperature=0.8, top_k=3)
    assert codes.shape == (3, s["numSlots"], s["numBlocks"])
    assert codes.min() >= 0 and codes.max() < s["numPrototypes"]


def test_demo_script_writes_pictures(export, tmp_path):
    svq_onnx_demo.main([str(export.folder), "--out", str(tmp_path), "--samples", "2",
                        "--prior-temperature", "0.9", "--prior-top-k", "4"])
    size = export.sizes["imageSize"]
    width, height, _, _ = png.Reader(filename=str(tmp_path / "reconstructions.png")).read()
    assert height == 4 * (size + 2)                        # four generated scenes, one row each
    assert width == (2 + export.sizes["numSlots"]) * (size + 2)
    if "prior_step" in export.manifest["graphs"]:
        width, height, _, _ = png.Reader(filename=str(tmp_path / "samples.png")).read()
        assert (width, height) == (2 * (size + 2), size + 2)
