"""Writes the golden fixture Tests/SVQModelsTests/Fixtures/nlotm-tiny from the official SVQ code.

    python scripts/golden/make_nlotm_tiny.py --official PATH/TO/nlotm --out DIR [--config config.json]

PATH/TO/nlotm is a checkout of the official repository (github yfw/nlotm); its modules are imported from
there, never copied here. Needs torch (CPU is enough), einops, numpy and safetensors; torchvision, which the
official utils.py imports for its training visualisation only, is stubbed when it is missing.

The fixture's README lists what is written. In short: the tiny model is built from config.json with the
official classes (NlotmImageAutoEncoder, then DiscreteBlockTransformerPrior) after torch.manual_seed(seed), then
  - the decoder's head.weight is scaled by 8 (greedy decoding gets clear winners),
  - the VQ's _ema_cluster_size is drawn from U(0.5, 3) (state that must survive the import),
  - block_pos is drawn from N(0, 0.5^2) (zero-init upstream, which would hide the block positions),
  - the BlockGRU masks are applied to the GRU weights (the official forward does it on every call),
and every output is computed in eval mode (no dropout, no EMA update), as the official forward, encode and
decode compute them; forward hooks read the intermediate values those functions do not return.

Reproducibility (the README's last section): both state_dicts and slot_init_noise come out bit for bit as in
the committed fixture (torch 2.15, CPU); the images follow its recipe but not its rectangles' sizes and places.
"""

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def import_official(root):
    sys.path.insert(0, str(Path(root).resolve()))
    try:
        import torchvision  # noqa: F401
    except ImportError:
        # utils.py imports torchvision.utils for visualize() only.
        stub = types.ModuleType("torchvision")
        stub.utils = types.ModuleType("torchvision.utils")
        sys.modules["torchvision"] = stub
        sys.modules["torchvision.utils"] = stub.utils
    import nlotm
    import prior
    return nlotm, prior


def make_images(batch, size, seed):
    """Scenes the encoder can tell apart: a dark grey background and three axis-aligned rectangles of random
    colours and sizes, later ones drawn over earlier ones; values in [0, 1], channels first."""
    rng = np.random.default_rng(seed)
    images = np.empty((batch, 3, size, size), np.float32)
    for b in range(batch):
        images[b] = 0.3 * rng.random()
        for _ in range(3):
            h, w = rng.integers(size // 10, size // 3, size=2)
            y, x = rng.integers(0, [size - h + 1, size - w + 1])
            images[b, :, y:y + h, x:x + w] = (0.2 + 0.8 * rng.random(3))[:, None, None]
    return torch.from_numpy(images)


class Capture:
    """Forward hooks that keep the last input or output of a module."""

    def __init__(self):
        self.values = {}
        self.handles = []

    def output(self, name, module, pick=lambda out: out):
        self.handles.append(module.register_forward_hook(
            lambda _m, _inputs, out: self.values.__setitem__(name, pick(out).detach().clone())))

    def every_output(self, name, module):
        self.values[name] = []
        self.handles.append(module.register_forward_hook(
            lambda _m, _inputs, out: self.values[name].append(out.detach().clone())))

    def input(self, name, module, index):
        self.handles.append(module.register_forward_hook(
            lambda _m, inputs, _out: self.values.__setitem__(name, inputs[index].detach().clone())))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official", required=True, help="checkout of github yfw/nlotm")
    parser.add_argument("--out", required=True, help="folder for the three .safetensors files")
    parser.add_argument("--config", default=str(Path(__file__).resolve().parents[2]
                                                / "Tests/SVQModelsTests/Fixtures/nlotm-tiny/config.json"))
    opts = parser.parse_args()

    nlotm, prior_module = import_official(opts.official)
    config = json.loads(Path(opts.config).read_text())
    args = argparse.Namespace(**config)
    B, N, M, P = config["batch"], config["num_slots"], config["num_blocks"], config["num_prototypes"]
    size, V = config["image_size"], config["vocab_size"]

    torch.manual_seed(config["seed"])
    model = nlotm.NlotmImageAutoEncoder(args)
    prior = prior_module.DiscreteBlockTransformerPrior(args)

    with torch.no_grad():
        model.image_decoder.head.weight.mul_(8)
        model.image_encoder.nlotm.prototype_memory._ema_cluster_size.uniform_(0.5, 3)
        model.image_decoder.block_pos.normal_(0, 0.5)
        model.image_encoder.nlotm.gru.blockify_params()
    model.eval()
    prior.eval()

    images = make_images(B, size, config["seed"])

    out = {"images_nchw": images}
    with torch.no_grad():
        # Encoding: the slot init draws new_empty(B, N, slot_size).normal_() first thing, so the same draw
        # after the same seed is its noise.
        noise_seed = config["seed"] + 1
        out["slot_init_noise"] = torch.randn(B, N, config["slot_size"], generator=torch.Generator().manual_seed(noise_seed))
        capture = Capture()
        capture.output("encoder_features", model.image_encoder.mlp)
        capture.output("attention", model.image_encoder.nlotm, pick=lambda o: o[1])   # [B, inputs, N]
        torch.manual_seed(noise_seed)
        slots, _, _, indices = model.encode(images)
        capture.remove()
        out["encoder_features"] = capture.values["encoder_features"]
        out["attention"] = capture.values["attention"]
        out["slots_quantized"] = slots
        out["codes_global"] = indices.long()
        out["codes_local"] = indices.long() - torch.arange(M).view(1, 1, M) * P

        # The dVAE, as the official forward: log-softmax over the vocabulary; tokens are its argmax.
        log_probs = F.log_softmax(model.dvae.encoder(images), dim=1)                  # [B, V, 16, 16]
        tokens = log_probs.argmax(dim=1).flatten(1)                                   # [B, 256]
        side = size // 4
        one_hot = F.one_hot(tokens, V).float().transpose(1, 2).reshape(B, V, side, side)
        out["dvae_log_probs"] = log_probs
        out["dvae_tokens"] = tokens
        out["dvae_decode_of_tokens"] = model.dvae.decoder(one_hot).clamp(0, 1)

        # Greedy decoding with the official decode(): the memory is the transformer's second input, and the
        # head's last position at each step gives the token and its top-2 margin.
        dec = model.image_decoder
        capture = Capture()
        capture.input("decoder_memory", dec.tf, 1)
        capture.every_output("head", dec.head)
        out["decoded_image"] = model.decode(slots)
        capture.remove()
        memory = capture.values["decoder_memory"]
        steps = torch.stack([logits[:, -1] for logits in capture.values["head"]], dim=1)   # [B, 256, V]
        top2 = steps.topk(2, dim=-1).values
        out["decoder_memory"] = memory
        out["decoded_tokens"] = steps.argmax(dim=-1)
        out["decoded_top2_margin"] = top2[..., 0] - top2[..., 1]

        # Teacher forcing, as the official forward: BOS + embedded dvae_tokens[:, :-1], positions, transformer
        # over the memory, head.
        embedded = dec.dict(F.one_hot(tokens, V).float())
        embedded = torch.cat([dec.bos.expand(B, -1, -1), embedded], dim=1)
        embedded = dec.decoder_pos(embedded)
        out["teacher_forced_logits"] = dec.head(dec.tf(embedded[:, :-1], memory))

        # The prior over the codes, slot-major: BOS + codes[:, :-1].
        prior_codes = out["codes_global"].reshape(B, N * M)
        out["prior_input_codes"] = prior_codes
        out["prior_logits"] = prior(prior_codes)

    folder = Path(opts.out)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "svq_state_dict.safetensors")
    save_file({k: v.contiguous() for k, v in prior.state_dict().items()}, folder / "prior_state_dict.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, folder / "golden.safetensors")
    margin = out["decoded_top2_margin"].min().item()
    print(f"wrote {folder}: {len(out)} golden tensors; smallest greedy top-2 margin {margin:.4f}")


if __name__ == "__main__":
    main()
