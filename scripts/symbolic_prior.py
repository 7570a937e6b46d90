#!/usr/bin/env python3
"""How well can the semantic prior learn the odd-one-out rule when its codes are exact?

A diagnostic for issue 4 (generation accuracy). It separates the prior's own limit from the noise of the
SVQ codes and the decoder: the prior is trained on *symbols* read from the sprites ground truth instead
of on SVQ codes, and its samples are checked against the rule in symbol space, with no decoding.

Each scene becomes N = 5 slots of M = 8 codes (P = 32): block 0 is 0 for an object and 1 for an empty
slot, blocks 1-5 hold shape, colour, size bin, x bin and y bin (31 in empty slots), blocks 6-7 are 0.
Slots are in a random order (as slot attention lists them), sorted (objects first, by shape, colour…) or
objects-first (objects in a random order, then the empty slots).

    # 1. write the symbolic code caches into a new run folder; TEMPLATE is a train-prior run of the same
    #    model and data, whose cache records (model and data fingerprints) are copied so that
    #    `svq train-prior` reuses the symbolic caches instead of encoding the images
    python scripts/symbolic_prior.py write --data data/sprites --template runs/prior --out runs/prior-symbolic
    # 2. train a fresh prior on them
    svq train-prior --model models/sprites.safetensors --data data/sprites --run runs/prior-symbolic \\
        --steps 12000 --prior-width 96 --prior-layers 4 --prior-heads 4
    # 3. sample and check the rule
    python scripts/symbolic_prior.py check runs/prior-symbolic/model.safetensors --seed 1

Needs numpy and the Python bindings (bindings/python) built against the runtime.
"""

import argparse
import collections
import json
import os
import random
import struct
import sys

import numpy as np

SLOTS, BLOCKS, CODES = 5, 8, 32
EMPTY = 31
SHAPES, COLOURS = 12, 7


def slot_codes(objects, rng, order):
    slots = [[0, o["shape"], o["colour"], o["size_bin"], o["x_bin"], o["y_bin"], 0, 0] for o in objects]
    slots += [[1, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, 0, 0]] * (SLOTS - len(slots))
    if order == "sorted":
        slots.sort()
    else:
        rng.shuffle(slots)
        if order == "objects-first":
            slots.sort(key=lambda slot: slot[0])  # stable: objects in random order, then the empty slots
    return [block * CODES + code for slot in slots for block, code in enumerate(slot)]


def read_header(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(size)), 8 + size


def write_cache(path, rows, metadata):
    codes = np.asarray(rows, dtype="<i4")
    header = json.dumps({"__metadata__": metadata,
                         "codes": {"dtype": "I32", "shape": list(codes.shape), "data_offsets": [0, codes.nbytes]}})
    header = header.encode() + b" " * (-len(header) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + codes.tobytes())
    os.replace(tmp, path)


def write(args):
    files = sorted(f for f in os.listdir(args.data) if f.endswith(".png"))
    train_end, validation_end = int(len(files) * 0.7), int(len(files) * 0.85)  # ImageFolder's split
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name, split in (("codes", files[:train_end]), ("validation-codes", files[train_end:validation_end])):
        metadata = read_header(os.path.join(args.template, name + ".safetensors"))[0]["__metadata__"]
        if metadata.get("draws", "1") != "1" or metadata.get("slot_order", "encoded") != "encoded":
            sys.exit(f"{args.template}: use a template run with one encoding per image and encoded slot order")
        rows = []
        for png in split:
            with open(os.path.join(args.data, png[:-4] + ".json")) as f:
                rows.append(slot_codes(json.load(f)["objects"], rng, args.order))
        write_cache(os.path.join(args.out, name + ".safetensors"), rows, metadata)
        print(f"{name}: {len(rows)} scenes ({args.order} slot order)")


def verdict(slots):
    """'ok', 'none' (no unique value), 'many' (more than one), 'count' (not 3-4 objects) or 'invalid'."""
    objects = []
    for s in slots:
        if s[0] == 1:
            continue
        if s[0] != 0 or s[1] >= SHAPES or s[2] >= COLOURS:
            return "invalid"
        objects.append((int(s[1]), int(s[2])))
    if not 3 <= len(objects) <= 4:
        return "count"
    unique = sum(1 for k in (0, 1) for n in collections.Counter(o[k] for o in objects).values() if n == 1)
    return "ok" if unique == 1 else ("none" if unique == 0 else "many")


def tally(code_sets):
    counts = collections.Counter(verdict(s) for s in code_sets)
    return {k: round(100 * counts[k] / len(code_sets), 1) for k in ("ok", "none", "many", "count", "invalid")}


def check(args):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
    import svq
    samples = svq.Model(args.model).sample_prior(args.samples, seed=args.seed, temperature=args.temperature)
    print(json.dumps({"model": args.model, "samples": args.samples, "seed": args.seed,
                      "temperature": args.temperature, "percent": tally(samples)}))
    if args.cache:
        header, start = read_header(args.cache)
        with open(args.cache, "rb") as f:
            f.seek(start)
            cached = np.frombuffer(f.read(), dtype="<i4").reshape(-1, SLOTS, BLOCKS) % CODES
        print(json.dumps({"cache": args.cache, "percent": tally(cached)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="write symbolic code caches for svq train-prior")
    w.add_argument("--data", required=True, help="sprites folder (PNG + ground-truth JSON)")
    w.add_argument("--template", required=True, help="a train-prior run folder of the same model and data")
    w.add_argument("--out", required=True, help="the new run folder")
    w.add_argument("--order", choices=("random", "sorted", "objects-first"), default="random")
    w.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check", help="sample a symbolic prior and check the rule")
    c.add_argument("model")
    c.add_argument("--samples", type=int, default=2048)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--temperature", type=float, default=1.0)
    c.add_argument("--cache", help="also check a symbolic cache (should be 100%% ok)")
    args = parser.parse_args()
    write(args) if args.command == "write" else check(args)


if __name__ == "__main__":
    main()
