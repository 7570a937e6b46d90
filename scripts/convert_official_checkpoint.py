#!/usr/bin/env python3
"""Convert a checkpoint of the official PyTorch code (github yfw/nlotm) to a safetensors state_dict.

    python3 scripts/convert_official_checkpoint.py svq_checkpoint.pt [svq_state_dict.safetensors]

`svq import-official` reads the output (`--svq`, `--prior`). The state_dict is taken from a `model`,
`state_dict` or `model_state_dict` entry when the file holds one (a training checkpoint), else the file is
the state_dict itself; DataParallel's `module.` prefix is removed; floating-point tensors are written as
float32. The output defaults to the input's name with the suffix .safetensors.

Needs torch and safetensors (`pip install torch safetensors`). A .pt file is a pickle that can run code
when loaded: convert only files you trust.
"""

import argparse
import sys
from pathlib import Path


def state_dict(checkpoint):
    """The tensors of a loaded checkpoint, by their official names."""
    import torch

    if isinstance(checkpoint, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        raise ValueError(f"expected a state_dict or a checkpoint holding one, got {type(checkpoint).__name__}")
    tensors = {name: t for name, t in checkpoint.items() if torch.is_tensor(t)}
    if not tensors:
        raise ValueError("no tensors in the checkpoint")
    if all(name.startswith("module.") for name in tensors):
        tensors = {name[len("module."):]: t for name, t in tensors.items()}
    return {name: (t.detach().float() if t.is_floating_point() else t.detach()).contiguous()
            for name, t in tensors.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path, help="the official .pt/.pth file")
    parser.add_argument("output", type=Path, nargs="?", help="the safetensors file to write")
    args = parser.parse_args(argv)
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError as error:
        sys.exit(f"convert_official_checkpoint: needs torch and safetensors ({error})")
    output = args.output or args.checkpoint.with_suffix(".safetensors")
    try:
        tensors = state_dict(torch.load(args.checkpoint, map_location="cpu", weights_only=False))
    except (OSError, ValueError) as error:
        sys.exit(f"convert_official_checkpoint: {args.checkpoint}: {error}")
    save_file(tensors, str(output))
    print(f"wrote {output}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
