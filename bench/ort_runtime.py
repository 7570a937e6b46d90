#!/usr/bin/env python3
"""The ONNX Runtime side of bench/compare.py: one operation of an exported model, timed in this process alone.

    python bench/ort_runtime.py EXPORT_DIR INPUTS --op encode|decode|sample --batch B [--threads N] [--budget S]

Drives the graphs exactly as examples/onnx/svq_onnx_demo.py does (encoder; decoder_memory, then one
decoder_step per token with the key/value cache, then dvae_decoder; one prior_step per code). Prints one JSON
object with the same fields as `svq-bench runtime`, plus `agreement`: the fraction of codes equal to ours
(encode) or the largest pixel difference from our decode (decode), so the two sides are known to compute the
same thing.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "onnx"))
from svq_onnx_demo import SVQ  # noqa: E402  (the same driver users are shown)


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_resident_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("export")
    parser.add_argument("inputs")
    parser.add_argument("--op", choices=["encode", "decode", "sample"], required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--min-runs", type=int, default=2)
    args = parser.parse_args()

    inputs = load_file(args.inputs)
    b = args.batch
    rss_before = resident_bytes()
    svq = SVQ(args.export, threads=args.threads)
    rng = np.random.default_rng(0)

    if args.op == "encode":
        images, noise = inputs["images"][:b], inputs["noise"][:b]
        operation = lambda: svq.encode(images, rng, noise=noise)[0]
    elif args.op == "decode":
        codes = inputs["codes"][:b]
        operation = lambda: svq.decode(codes)
    else:
        operation = lambda: svq.sample(b, rng)

    result = operation()                                  # warm-up, and the output to check
    times = []
    start = time.perf_counter()
    while len(times) < args.min_runs or (time.perf_counter() - start < args.budget and len(times) < 50):
        t0 = time.perf_counter()
        operation()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]

    out = {"impl": "onnxruntime", "op": args.op, "batch": b, "threads": args.threads, "runs": len(times),
           "seconds": median, "seconds_best": times[0], "items_per_second": b / median,
           "rss_before_model_bytes": rss_before, "rss_peak_bytes": peak_resident_bytes()}
    if args.op == "encode":
        out["agreement"] = float(np.mean(result == inputs["codes"][:b]))
    elif args.op == "decode":
        n = min(b, len(inputs["decoded"]))
        out["agreement"] = float(np.abs(result[:n] - inputs["decoded"][:n]).max())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
