"""The golden-tiny export (the official code's tiny model, imported with `svq import-official`) run by ONNX
Runtime against the official PyTorch code's own outputs (Tests/SVQModelsTests/Fixtures/nlotm-tiny): a check
that does not go through our runtime at all."""

from pathlib import Path

import numpy as np
import pytest

from onnx_helpers import max_abs_diff, read_safetensors

TOL = 1e-4
FIXTURE = Path(__file__).resolve().parents[2] / "Tests/SVQModelsTests/Fixtures/nlotm-tiny/golden.safetensors"


@pytest.fixture(scope="module")
def golden():
    return read_safetensors(FIXTURE)[1]


def test_encoder_matches_the_official_code(golden_export, golden, record_diff):
    out = golden_export.run("encoder", image=golden["images_nchw"].astype(np.float32),
                            noise=golden["slot_init_noise"].astype(np.float32))
    np.testing.assert_array_equal(out["codes"], golden["codes_local"])
    record_diff("official encoder.slots", max_abs_diff(out["slots"], golden["slots_quantized"]), TOL)
    record_diff("official encoder.attention", max_abs_diff(out["attention"], golden["attention"]), TOL)


def test_decoder_matches_the_official_code(golden_export, golden, record_diff):
    codes = golden["codes_local"].astype(np.int64)
    memory = golden_export.run("decoder_memory", codes=codes)["memory"]
    record_diff("official decoder_memory.memory", max_abs_diff(memory, golden["decoder_memory"]), TOL)
    _, logits = golden_export.decode_steps(codes, tokens=golden["dvae_tokens"].astype(np.int64))
    record_diff("official teacher-forced logits", max_abs_diff(logits, golden["teacher_forced_logits"]), TOL)
    tokens, _ = golden_export.decode_steps(codes)
    np.testing.assert_array_equal(tokens, golden["decoded_tokens"])


def test_dvae_matches_the_official_code(golden_export, golden, record_diff):
    tokens = golden_export.run("dvae_encoder", image=golden["images_nchw"].astype(np.float32))["tokens"]
    np.testing.assert_array_equal(tokens, golden["dvae_tokens"])
    image = golden_export.run("dvae_decoder", tokens=golden["dvae_tokens"].astype(np.int64))["image"]
    record_diff("official dVAE decode of tokens", max_abs_diff(image, golden["dvae_decode_of_tokens"]), TOL)
    image = golden_export.run("dvae_decoder", tokens=golden["decoded_tokens"].astype(np.int64))["image"]
    record_diff("official decoded image", max_abs_diff(image, golden["decoded_image"]), TOL)


def test_prior_matches_the_official_code(golden_export, golden, record_diff):
    logits = golden_export.prior_steps(golden["prior_input_codes"].astype(np.int64))
    record_diff("official prior logits", max_abs_diff(logits, golden["prior_logits"]), TOL)
