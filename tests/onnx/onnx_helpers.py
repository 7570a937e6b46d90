"""Helpers of the ONNX export tests: a numpy safetensors reader, ONNX Runtime sessions and the
key/value-cached loops over decoder_step and prior_step (as a caller of the exported graphs runs them)."""

import json
import struct
from pathlib import Path

import numpy as np
import onnxruntime as ort

_DTYPES = {"F32": "<f4", "I64": "<i8", "I32": "<i4", "F64": "<f8"}


def read_safetensors(path):
    """(metadata, {name: numpy array}) of a safetensors file, with numpy only."""
    blob = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}, which these tests do not read")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return meta, tensors


class Export:
    """One `svq export-onnx` folder: manifest, sessions (made on first use) and the reference outputs."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.manifest = json.loads((self.folder / "manifest.json").read_text())
        self.sizes = self.manifest["sizes"]
        self._sessions = {}
        ref = self.folder / "reference.safetensors"
        self.reference = read_safetensors(ref)[1] if ref.exists() else None

    @property
    def name(self):
        return self.folder.name

    def path(self, graph):
        return self.folder / self.manifest["graphs"][graph]["file"]

    def session(self, graph):
        if graph not in self._sessions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1   # the machine is shared; results do not depend on it
            self._sessions[graph] = ort.InferenceSession(str(self.path(graph)), options,
                                                         providers=["CPUExecutionProvider"])
        return self._sessions[graph]

    def run(self, graph, **inputs):
        """The graph's outputs as a dict by name."""
        s = self.session(graph)
        names = [o.name for o in s.get_outputs()]
        return dict(zip(names, s.run(names, inputs)))

    # The loops a caller runs.

    def empty_cache(self, prefix, batch):
        s = self.sizes
        layers, heads, hd = s[prefix + "Layers"], s[prefix + "Heads"], s[prefix + "HeadDim"]
        return np.zeros((layers, batch, heads, 0, hd), np.float32)

    def decode_steps(self, codes, tokens=None):
        """Runs decoder_step over all T positions from codes [B, N, M]. With `tokens` [B, T] the inputs are
        teacher-forced; otherwise each step's next_token is fed back (greedy). Returns (tokens, logits [B, T, V])."""
        codes = np.asarray(codes, np.int64)
        b, t = codes.shape[0], self.sizes["tokens"]
        mem = self.run("decoder_memory", codes=codes)
        keys = values = self.empty_cache("decoder", b)
        previous = np.zeros(b, np.int64)
        chosen, logits = [], []
        for pos in range(t):
            out = self.run("decoder_step", previous_token=previous, position=np.array(pos, np.int64),
                           cross_keys=mem["cross_keys"], cross_values=mem["cross_values"],
                           past_keys=keys, past_values=values)
            keys, values = out["present_keys"], out["present_values"]
            logits.append(out["logits"])
            chosen.append(out["next_token"])
            previous = tokens[:, pos].astype(np.int64) if tokens is not None else out["next_token"]
        return np.stack(chosen, 1), np.stack(logits, 1)

    def prior_steps(self, codes):
        """prior_step logits [B, N·M, M·P] at every position, fed the global codes [B, N·M] (teacher forcing)."""
        codes = np.asarray(codes, np.int64)
        b = codes.shape[0]
        keys = values = self.empty_cache("prior", b)
        logits = []
        for pos in range(codes.shape[1]):
            previous = codes[:, pos - 1] if pos > 0 else np.zeros(b, np.int64)
            out = self.run("prior_step", previous_code=previous, position=np.array(pos, np.int64),
                           past_keys=keys, past_values=values)
            keys, values = out["present_keys"], out["present_values"]
            logits.append(out["logits"])
        return np.stack(logits, 1)


def max_abs_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    return float(np.max(np.abs(a - b))) if a.size else 0.0
