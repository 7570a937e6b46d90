#!/usr/bin/env python3
"""Our runtime against ONNX Runtime on our exported graphs: same weights, same inputs, same machine, one run.

    python bench/compare.py --svq PATH --svq-bench PATH [--out bench-out] [--threads 2] [--quick]

For the bundled model (models/sprites.safetensors) and, unless --quick, a randomly initialised model of the
paper's CLEVR-Easy size: encode, decode (per image, key/value cache) and prior sampling at batch 1 and 16,
each in a process of its own on both sides (so each peak RSS is that operation's); our encode and decode at
batch 1 again beside two CPU-burning processes (the busy / idle ratio); then the machine's sgemm rate and the
bundled preset's training speed. Prints a table of ratios (ours / ONNX Runtime: below 1 means
we are faster or smaller) and writes all figures to OUT/results.json. Exits non-zero if the two sides'
outputs disagree (codes not all equal, decoded pixels off by more than 1e-4), since then they did not do the
same work. scripts/bench.sh sets up and runs this.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = [
    ("sprites", ["--model", str(ROOT / "models" / "sprites.safetensors")]),
    ("paper-clevr-easy", ["--random-preset", "paper-clevr-easy", "--seed", "1"]),
]
OPS = ["encode", "decode", "sample"]
BATCHES = [1, 16]
COMPETITORS = 2   # CPU-burning processes beside the busy-machine timings
MiB = 1 << 20


def run_json(command):
    """Runs a command that prints one JSON object as its last line of output."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}{done.stdout}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--svq", required=True, help="the svq command-line tool (release build)")
    parser.add_argument("--svq-bench", required=True, help="the svq-bench tool (release build)")
    parser.add_argument("--out", default=str(ROOT / "bench-out"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed runs per operation (at least 2 runs)")
    parser.add_argument("--quick", action="store_true", help="the bundled model only")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = MODELS[:1] if args.quick else MODELS
    rows, failures = [], []
    for name, source in models:
        folder = out / name
        print(f"[{name}] preparing weights, inputs and ONNX graphs", flush=True)
        subprocess.run([args.svq_bench, "prepare", *source, "--out", str(folder), "--batch", str(max(BATCHES))],
                       check=True, capture_output=True)
        subprocess.run([args.svq, "export-onnx", str(folder / "model.safetensors"), str(folder / "onnx")],
                       check=True, capture_output=True)
        for op in OPS:
            for batch in BATCHES:
                common = ["--op", op, "--batch", str(batch), "--threads", str(args.threads), "--budget", str(args.budget)]
                ours = run_json([args.svq_bench, "runtime", str(folder / "model.safetensors"),
                                 str(folder / "inputs.safetensors"), *common])
                theirs = run_json([sys.executable, str(ROOT / "bench" / "ort_runtime.py"), str(folder / "onnx"),
                                   str(folder / "inputs.safetensors"), *common])
                row = {"model": name, "op": op, "batch": batch, "svq": ours, "onnxruntime": theirs,
                       "time_ratio": ours["seconds"] / theirs["seconds"],
                       "rss_ratio": ours["rss_peak_bytes"] / theirs["rss_peak_bytes"],
                       # The runtime's own memory: what the process gained from loading the model onwards,
                       # against twice the weights plus one batch's activations (both measured).
                       "memory_budget_ratio": (ours["rss_peak_bytes"] - ours["rss_before_model_bytes"])
                       / (2 * (ours["weights_bytes"] + ours["activation_bytes"]))}
                rows.append(row)
                failure = disagreement(row)
                if failure:
                    failures.append(f"{name} {op} batch {batch}: {failure}")
                print(f"  {op:6} batch {batch:2}: ours {ours['seconds'] * 1e3:9.2f} ms, "
                      f"ONNX Runtime {theirs['seconds'] * 1e3:9.2f} ms, ratio {row['time_ratio']:.2f}", flush=True)

    print(f"[{models[0][0]}] beside {COMPETITORS} busy processes", flush=True)
    busy = busy_rows(args, out / models[0][0], models[0][0], rows)
    for b in busy:
        print(f"  {b['op']:6} batch {b['batch']:2}: idle {b['idle_seconds'] * 1e3:9.2f} ms, "
              f"busy {b['busy_seconds'] * 1e3:9.2f} ms, ratio {b['ratio']:.2f}", flush=True)

    print("[machine] sgemm and training speed", flush=True)
    sgemm = run_json([args.svq_bench, "sgemm", "--threads", str(args.threads)])
    training = run_json([args.svq_bench, "train", "cpu-sprites", "--batch", "16", "--steps", "10",
                         "--threads", str(args.threads)])
    results = {"machine": machine(args, sgemm),
               "sgemm": sgemm, "training": training, "rows": rows, "busy": busy}
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nwrote {out / 'results.json'}")
    if failures:
        sys.exit("the two runtimes disagree:\n  " + "\n  ".join(failures))


def machine(args, sgemm):
    """What the figures apply to: the CPU, its vector ISA, the kernels OpenBLAS picked, the date and command."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == (platform.processor() or platform.machine()):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    isa = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile") if f in flags]
    return {"cpu": model, "isa": isa, "cores": os.cpu_count(), "threads": args.threads,
            "blas_core": sgemm.get("blas_core"), "date": time.strftime("%Y-%m-%d"),
            "command": "./scripts/bench.sh" + (" --quick" if args.quick else "") + f" --threads {args.threads}"}


def busy_rows(args, folder, name, rows):
    """Encode and decode at batch 1 again while COMPETITORS processes burn CPU: an embedded library shares
    the cores with its host. The ratio busy / idle is against the idle row measured above (ideal: about the
    share of the cores the competitors leave to the parallel part, never the 20-60x of spinning workers)."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(COMPETITORS)]
    try:
        busy = []
        for op in ["encode", "decode"]:
            idle = next(r["svq"] for r in rows if r["model"] == name and r["op"] == op and r["batch"] == 1)
            ours = run_json([args.svq_bench, "runtime", str(folder / "model.safetensors"),
                             str(folder / "inputs.safetensors"), "--op", op, "--batch", "1",
                             "--threads", str(args.threads), "--budget", str(args.budget)])
            busy.append({"model": name, "op": op, "batch": 1, "competitors": COMPETITORS,
                         "idle_seconds": idle["seconds"], "busy_seconds": ours["seconds"],
                         "ratio": ours["seconds"] / idle["seconds"]})
        return busy
    finally:
        for b in burners:
            b.kill()
            b.wait()


def disagreement(row):
    """Why ONNX Runtime's outputs differ from ours beyond float rounding, or None: a timing of different
    work would be meaningless."""
    agreement = row["onnxruntime"].get("agreement")
    if row["op"] == "encode" and agreement < 1:
        return f"only {agreement:.1%} of the codes are equal"
    if row["op"] == "decode" and agreement > 1e-4:
        return f"decoded pixels differ by up to {agreement:.2e}"
    return None


def table(results):
    """The figures as a Markdown table (also pasted into the README)."""
    sgemm = results["sgemm"]["gflops"]
    m = results["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores ({m['threads']} threads used), ISA {' '.join(m['isa'])}, "
             f"OpenBLAS kernels {m['blas_core']}; {m['date']}, `{m['command']}`", "",
             "| model | op | batch | ours ms | ORT ms | time ratio | ours MiB | ORT MiB | RSS ratio | memory / budget | agreement |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results["rows"]:
        ours, theirs = r["svq"], r["onnxruntime"]
        agreement = theirs.get("agreement")
        if agreement is None:
            agreement = "—"
        elif r["op"] == "encode":
            agreement = f"{agreement:.0%} codes equal"
        else:
            agreement = f"max Δpixel {agreement:.1e}"
        lines.append(f"| {r['model']} | {r['op']} | {r['batch']} | {ours['seconds'] * 1e3:.2f} | "
                     f"{theirs['seconds'] * 1e3:.2f} | **{r['time_ratio']:.2f}** | {ours['rss_peak_bytes'] / MiB:.0f} | "
                     f"{theirs['rss_peak_bytes'] / MiB:.0f} | {r['rss_ratio']:.2f} | {r['memory_budget_ratio']:.2f} | {agreement} |")
    lines.append("")
    lines.append(f"sgemm 1024³: {sgemm:.1f} GFLOP/s ({results['sgemm']['threads']} threads)")
    for r in results["rows"]:
        if r["op"] == "encode":
            g = r["svq"]["gflops"]
            lines.append(f"encode {r['model']} batch {r['batch']}: {g:.1f} GFLOP/s = {g / sgemm:.0%} of sgemm")
    for b in results["busy"]:
        lines.append(f"{b['op']} {b['model']} batch 1 beside {b['competitors']} busy processes: "
                     f"{b['busy_seconds'] * 1e3:.2f} ms = {b['ratio']:.2f}x idle")
    t = results["training"]
    lines.append(f"training {t['preset']} batch {t['batch']}: {t['steps_per_second']:.2f} steps/s "
                 f"({t['images_per_second']:.1f} images/s, {t['threads']} threads)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
