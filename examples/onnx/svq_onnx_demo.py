#!/usr/bin/env python3
"""Encode → decode → sample with an SVQ model exported by `svq export-onnx`, in ONNX Runtime alone.

    python svq_onnx_demo.py EXPORT_DIR [IMAGE.png ...] [--npy images.npy] [--out demo-out]
                            [--samples 4] [--prior-temperature 1.0] [--prior-top-k K] [--seed 0]

Needs numpy, onnxruntime and pypng (`pip install numpy onnxruntime pypng`); nothing from the SVQ library.
Without images it draws a few sprite-like scenes itself. Writes OUT/reconstructions.png (per row: input,
reconstruction from the codes, slot masks) and OUT/samples.png (scenes sampled from the prior).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import png


class SVQ:
    """The exported graphs of one model, with the loops that drive them."""

    def __init__(self, folder, threads=None):
        """threads: ONNX Runtime's intra-op threads (None: its default, one per core)."""
        folder = Path(folder)
        self.manifest = json.loads((folder / "manifest.json").read_text())
        self.sizes = self.manifest["sizes"]
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.sessions = {name: ort.InferenceSession(str(folder / g["file"]), options, providers=["CPUExecutionProvider"])
                         for name, g in self.manifest["graphs"].items()}

    def run(self, graph, **inputs):
        session = self.sessions[graph]
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, inputs)))

    def empty_cache(self, prefix, batch):
        s = self.sizes
        return np.zeros((s[prefix + "Layers"], batch, s[prefix + "Heads"], 0, s[prefix + "HeadDim"]), np.float32)

    def encode(self, images, rng, noise=None):
        """images [B, C, I, I] in [0, 1] → local codes [B, N, M] and slot masks [B, N, I, I].
        The slots start from `noise` [B, N, S] if given, else from standard normal draws of `rng`."""
        s = self.sizes
        if noise is None:
            noise = rng.standard_normal((len(images), s["numSlots"], s["slotSize"])).astype(np.float32)
        out = self.run("encoder", image=images.astype(np.float32), noise=noise)
        return out["codes"], out["masks"]

    def decode(self, codes):
        """Local codes [B, N, M] → images [B, C, I, I]: greedy dVAE tokens, one cached step per token."""
        codes = np.asarray(codes, np.int64)
        batch = len(codes)
        memory = self.run("decoder_memory", codes=codes)
        keys = values = self.empty_cache("decoder", batch)
        previous = np.zeros(batch, np.int64)          # ignored at position 0 (bos)
        tokens = []
        for position in range(self.sizes["tokens"]):
            out = self.run("decoder_step", previous_token=previous, position=np.array(position, np.int64),
                           cross_keys=memory["cross_keys"], cross_values=memory["cross_values"],
                           past_keys=keys, past_values=values)
            keys, values = out["present_keys"], out["present_values"]
            previous = out["next_token"]              # the argmax of out["logits"], first index on ties
            tokens.append(previous)
        return self.run("dvae_decoder", tokens=np.stack(tokens, 1))["image"]

    def sample(self, batch, rng, temperature=1.0, top_k=None):
        """Draws local codes [B, N, M] from the prior. Position n·M + m draws among block m's P codes only."""
        s = self.sizes
        m_blocks, p = s["numBlocks"], s["numPrototypes"]
        keys = values = self.empty_cache("prior", batch)
        previous = np.zeros(batch, np.int64)
        local = []
        for position in range(s["priorSequenceLength"]):
            out = self.run("prior_step", previous_code=previous, position=np.array(position, np.int64),
                           past_keys=keys, past_values=values)
            keys, values = out["present_keys"], out["present_values"]
            block = position % m_blocks
            logits = out["logits"][:, block * p:(block + 1) * p].astype(np.float64) / temperature
            if top_k is not None and top_k < p:
                kth = np.sort(logits, axis=1)[:, -top_k][:, None]
                logits = np.where(logits >= kth, logits, -np.inf)
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            drawn = np.array([rng.choice(p, p=row) for row in probs], np.int64)
            local.append(drawn)
            previous = block * p + drawn              # the prior reads global ids m·P + p
        return np.stack(local, 1).reshape(batch, s["numSlots"], m_blocks)


# Images.

def read_png(path, size):
    """A PNG as [3, size, size] floats in [0, 1] (nearest resize if needed)."""
    width, height, rows, _ = png.Reader(filename=str(path)).asRGBA8()
    rgba = np.vstack([np.asarray(r, np.uint8) for r in rows]).reshape(height, width, 4)
    ys = np.arange(size) * height // size
    xs = np.arange(size) * width // size
    return rgba[ys][:, xs, :3].transpose(2, 0, 1).astype(np.float32) / 255


def write_png(path, image):
    """image [H, W, 3] floats in [0, 1]."""
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    h, w, _ = pixels.shape
    with open(path, "wb") as f:
        png.Writer(w, h, greyscale=False).write(f, pixels.reshape(h, w * 3))


def sprite_scenes(count, size, rng):
    """Sprite-like test scenes: two or three coloured squares, circles and triangles on black."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    scenes = np.zeros((count, 3, size, size), np.float32)
    for scene in scenes:
        for _ in range(rng.integers(2, 4)):
            r = rng.uniform(0.08, 0.16) * size
            cy, cx = rng.uniform(r, size - r, 2)
            shape = rng.integers(3)
            if shape == 0:
                inside = (abs(yy - cy) < r) & (abs(xx - cx) < r)
            elif shape == 1:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
            else:
                inside = (yy > cy - r) & (yy < cy + r) & (abs(xx - cx) < (yy - cy + r) / 2)
            scene[:, inside] = rng.uniform(0.3, 1.0, 3)[:, None]
    return scenes


def grid(rows):
    """Rows of [3, H, W] images → one [H·rows, W·cols, 3] picture with 2-pixel gaps."""
    h, w = rows[0][0].shape[1:]
    cols = max(len(r) for r in rows)
    out = np.ones((len(rows) * (h + 2), cols * (w + 2), 3), np.float32)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            out[i * (h + 2):i * (h + 2) + h, j * (w + 2):j * (w + 2) + w] = image.transpose(1, 2, 0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", help="folder written by svq export-onnx")
    parser.add_argument("images", nargs="*", help="PNG images to encode")
    parser.add_argument("--npy", help="or a .npy array [B, 3, I, I] of images in [0, 1]")
    parser.add_argument("--out", default="demo-out")
    parser.add_argument("--samples", type=int, default=4, help="scenes to sample from the prior (0: none)")
    parser.add_argument("--prior-temperature", type=float, default=1.0, help="the prior's sampling temperature")
    parser.add_argument("--prior-top-k", type=int, help="keep the prior's k most likely codes at each step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    svq = SVQ(args.export)
    size = svq.sizes["imageSize"]
    rng = np.random.default_rng(args.seed)
    if args.npy:
        images = np.load(args.npy).astype(np.float32)
    elif args.images:
        images = np.stack([read_png(p, size) for p in args.images])
    else:
        images = sprite_scenes(4, size, rng)
    if images.shape[1:] != (3, size, size):
        sys.exit(f"images must be [B, 3, {size}, {size}], got {list(images.shape)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    codes, masks = svq.encode(images, rng)
    for i, c in enumerate(codes):
        print(f"image {i}: codes (one row per slot)\n{c}")
    recon = svq.decode(codes)
    rows = [[images[i], recon[i]] + [np.repeat(m[None], 3, 0) for m in masks[i]] for i in range(len(images))]
    write_png(out / "reconstructions.png", grid(rows))
    print(f"wrote {out / 'reconstructions.png'}")

    if args.samples > 0 and "prior_step" not in svq.sessions:
        print("this model has no prior: no samples")
    elif args.samples > 0:
        sampled = svq.sample(args.samples, rng, args.prior_temperature, args.prior_top_k)
        write_png(out / "samples.png", grid([list(svq.decode(sampled))]))
        print(f"wrote {out / 'samples.png'}")


if __name__ == "__main__":
    main()
