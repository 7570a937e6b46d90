"""The exported graphs are valid ONNX and, run by ONNX Runtime on the reference inputs, give our runtime's
outputs: codes and tokens identical, everything else within 1e-4."""

import numpy as np
import onnx
import pytest

from onnx_helpers import max_abs_diff

TOL = 1e-4


def test_graphs_are_valid_onnx_with_the_manifest_signatures(export):
    for name, graph in export.manifest["graphs"].items():
        model = onnx.load(str(export.path(name)))
        onnx.checker.check_model(model, full_check=True)
        onnx.shape_inference.infer_shapes(model, strict_mode=True, check_type=True)
        assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
        for declared, values in ((graph["inputs"], model.graph.input), (graph["outputs"], model.graph.output)):
            assert [v["name"] for v in declared] == [v.name for v in values]
            for spec, value in zip(declared, values):
                dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
                assert dims == spec["shape"], f"{name}.{value.name}"
                # Every batch axis is dynamic.
                assert ("batch" in dims) == (value.name != "position"), f"{name}.{value.name}"


def test_encoder_gives_our_codes_slots_and_attention(export, record_diff):
    ref = export.reference
    out = export.run("encoder", image=ref["images"], noise=ref["noise"])
    assert out["codes"].dtype == np.int64
    np.testing.assert_array_equal(out["codes"], ref["codes"])
    for name in ("slots", "attention", "masks"):
        record_diff(f"encoder.{name}", max_abs_diff(out[name], ref[name]), TOL)


def test_encoder_batch_is_dynamic(export, record_diff):
    ref = export.reference
    one = export.run("encoder", image=ref["images"][-1:], noise=ref["noise"][-1:])
    np.testing.assert_array_equal(one["codes"], ref["codes"][-1:])
    record_diff("encoder.slots (batch 1)", max_abs_diff(one["slots"], ref["slots"][-1:]), TOL)
    three = export.run("encoder", image=np.concatenate([ref["images"]] * 2)[:3],
                       noise=np.concatenate([ref["noise"]] * 2)[:3])
    np.testing.assert_array_equal(three["codes"], np.concatenate([ref["codes"]] * 2)[:3])


def test_decoder_memory_is_ours(export, record_diff):
    ref = export.reference
    out = export.run("decoder_memory", codes=ref["codes"])
    record_diff("decoder_memory.memory", max_abs_diff(out["memory"], ref["memory"]), TOL)


def test_decoder_step_logits_are_ours_at_every_position(export, record_diff):
    ref = export.reference
    _, logits = export.decode_steps(ref["codes"], tokens=ref["tokens"])
    record_diff("decoder_step.logits (all T steps)", max_abs_diff(logits, ref["decoder_logits"]), TOL)


def test_greedy_decoding_gives_our_tokens(export):
    ref = export.reference
    tokens, _ = export.decode_steps(ref["codes"])
    mismatch = np.argwhere(tokens != ref["tokens"])
    if len(mismatch):
        b, t = mismatch[0]
        pytest.fail(f"{len(mismatch)} tokens differ; first at image {b}, step {t}: ONNX {tokens[b, t]}, ours "
                    f"{ref['tokens'][b, t]} (our top-2 margin there {ref['decoder_margins'][b, t]:.3g})")


def test_dvae_decoder_gives_our_image(export, record_diff):
    ref = export.reference
    out = export.run("dvae_decoder", tokens=ref["tokens"])
    record_diff("dvae_decoder.image", max_abs_diff(out["image"], ref["image"]), TOL)
    assert out["image"].min() >= 0 and out["image"].max() <= 1


def test_dvae_encoder_gives_our_tokens(export):
    ref = export.reference
    np.testing.assert_array_equal(export.run("dvae_encoder", image=ref["images"])["tokens"], ref["dvae_tokens"])


def test_prior_step_logits_are_ours_at_every_position(export, record_diff):
    if "prior_step" not in export.manifest["graphs"]:
        pytest.skip("this model has no prior")
    ref = export.reference
    logits = export.prior_steps(ref["prior_codes"])
    record_diff("prior_step.logits (all N·M steps)", max_abs_diff(logits, ref["prior_logits"]), TOL)


def test_out_of_range_inputs_are_runtime_errors(export):
    # Runtimes report a bad index as an error instead of reading outside a table.
    t, v = export.sizes["tokens"], export.sizes["vocabSize"]
    with pytest.raises(Exception, match="(?i)indices|out of|bounds"):
        export.run("dvae_decoder", tokens=np.full((1, t), v, np.int64))
    p = export.sizes["numPrototypes"]
    with pytest.raises(Exception, match="(?i)indices|out of|bounds"):
        codes = np.zeros((1, export.sizes["numSlots"], export.sizes["numBlocks"]), np.int64)
        codes[0, 0, -1] = p * 2   # past the last block's codebook
        export.run("decoder_memory", codes=codes)
