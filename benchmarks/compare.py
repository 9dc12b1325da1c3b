"""Side-by-side comparison of Kiln and PyTorch on the issue-9 workloads (run by compare.sh).

Each round runs every workload once in PyTorch and once in Kiln, alternating, each in a fresh
process; a process's figure is the median of its steady-state repetitions (epochs, steps or
passes after the first, which holds warm-up). The table gives the median over rounds. The
environment (OpenBLAS threads, jemalloc) is set up by compare.sh.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
PYTORCH = os.path.join(ROOT, "benchmarks", "pytorch_workloads.py")
SIZES = [256, 512, 1024, 2048]


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def run(cmd, env=None, timeout=3600):
    """Runs a workload process and returns {name: value} from its RESULT lines."""
    start = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"RESULT (\S+) (\S+) (\S+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    sys.stderr.write(f"    {os.path.basename(cmd[0])} {' '.join(cmd[-4:])}: {time.time() - start:.0f} s\n")
    return out


def steady(results, prefix):
    """Median of the repetitions named prefix1, prefix2, ... after the first (all of them if only one)."""
    values = [results[k] for k in sorted((k for k in results if re.fullmatch(prefix + r"\d+", k)),
                                         key=lambda k: int(k[len(prefix):]))]
    if not values:
        raise SystemExit(f"no {prefix}N results in {results}")
    return statistics.median(values[1:] if len(values) > 1 else values), values[0]


def java_cmd(args):
    opts = os.environ.get("KILN_JAVA_OPTS", "").split()
    return ["java", *opts, "-cp", JAR, "dev.kiln.benchmarks.Workloads", *args]


def py_cmd(args):
    return ["/usr/bin/python3", PYTORCH, *args]


def pytorch_env(blas_threads=1):
    """PyTorch at its best here: OpenBLAS single-threaded under torch's 2 threads, jemalloc without decay.

    A bare torch.mm runs no torch threads of its own, so the SGEMM comparison gives OpenBLAS both cores
    (blas_threads=2): that is OpenBLAS at its best, the figure the issue's 0.7x target refers to.
    """
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    blas = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
    env["LD_LIBRARY_PATH"] = blas + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["LD_PRELOAD"] = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    env["MALLOC_CONF"] = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
    return env


def sgemm_kiln(sizes, quick):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    opts = os.environ.get("KILN_JAVA_OPTS", "").split()
    cmd = ["java", *opts, "-jar", JAR, "SgemmBenchmark", "-p", "size=" + ",".join(map(str, sizes)),
           "-p", "threads=2", "-f", "1", "-wi", "2" if quick else "4", "-w", "1", "-i", "3" if quick else "5", "-r", "1",
           "-rf", "json", "-rff", path]
    if opts:
        cmd += ["-jvmArgsAppend", " ".join(opts)]  # JMH forks its own JVM
    start = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit("JMH failed")
    sys.stderr.write(f"    JMH SgemmBenchmark: {time.time() - start:.0f} s\n")
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    out = {}
    for b in data:
        size = int(b["params"]["size"])
        out[f"sgemm{size}"] = b["secondaryMetrics"]["gflops"]["score"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="sgemm,mlp,cnn,mlp-adam,inference")
    ap.add_argument("--quick", action="store_true", help="short runs (subsets, fewer steps) to check the harness")
    ap.add_argument("--markdown", default=os.path.join(ROOT, "benchmarks", "target", "compare.md"))
    a = ap.parse_args()
    workloads = a.workloads.split(",")
    q = a.quick
    # (workload, args, {metric label: (result prefix, unit, lower is better)}). Inference runs 100 passes
    # on both sides: the JIT needs tens of them to finish compiling the Vector API kernel.
    plans = {
        "mlp": (["mlp", "--epochs", "2" if q else "3"] + (["--limit", "6400"] if q else []),
                [("Fashion-MNIST MLP, s/epoch", "mlp_epoch", "s", True)]),
        "cnn": (["cnn", "--epochs", "2"] + (["--limit", "1280"] if q else []),
                [("CNN, s/epoch", "cnn_epoch", "s", True)]),
        "mlp-adam": (["mlp-adam", "--steps", "3" if q else "6"] + (["--rows", "200000"] if q else []),
                     [("mlp-adam, s/step", "mlpadam_step", "s", True)]),
        "inference": (["inference", "--passes", "5" if q else "100"],
                      [("inference, images/s", "inference_pass", "images/s", False)]),
    }
    rows = {}  # label -> {"pytorch": [..], "kiln": [..], "unit", "lower"}
    rss = {"pytorch": [], "kiln": []}
    loads = []
    print(f"Kiln vs PyTorch, {a.rounds} round(s); Kiln JVM options: '{os.environ.get('KILN_JAVA_OPTS', '')}';"
          f" load average at start: {load()}", flush=True)
    for r in range(1, a.rounds + 1):
        loads.append(os.getloadavg()[0])
        print(f"round {r}/{a.rounds} (load {load()})", flush=True)
        for w in workloads:
            if w == "sgemm":
                sizes = [256, 1024] if q else SIZES
                pt = run(py_cmd(["sgemm", "--sizes", ",".join(map(str, sizes)), "--seconds", "0.5" if q else "1"]), pytorch_env(2))
                kl = sgemm_kiln(sizes, q)
                for n in sizes:
                    d = rows.setdefault(f"SGEMM {n}, GFLOP/s", {"pytorch": [], "kiln": [], "unit": "GFLOP/s", "lower": False})
                    d["pytorch"].append(pt[f"sgemm{n}"])
                    d["kiln"].append(kl[f"sgemm{n}"])
                    print(f"  SGEMM {n}: PyTorch {pt[f'sgemm{n}']:.1f}, Kiln {kl[f'sgemm{n}']:.1f} GFLOP/s", flush=True)
                continue
            args, metrics = plans[w]
            pt = run(py_cmd(args), pytorch_env())
            kl = run(java_cmd(args))
            for label, prefix, unit, lower in metrics:
                d = rows.setdefault(label, {"pytorch": [], "kiln": [], "unit": unit, "lower": lower})
                pv, pfirst = steady(pt, prefix)
                kv, kfirst = steady(kl, prefix)
                d["pytorch"].append(pv)
                d["kiln"].append(kv)
                ratio = kv / pv if lower else pv / kv
                print(f"  {label}: PyTorch {pv:.4g} (first {pfirst:.4g}), Kiln {kv:.4g} (first {kfirst:.4g}) {unit};"
                      f" Kiln/PyTorch time {ratio:.2f}", flush=True)
            if w == "mlp-adam":
                rss["pytorch"].append(pt["mlpadam_peak_rss"])
                rss["kiln"].append(kl["mlpadam_peak_rss"])
                print(f"  mlp-adam peak RSS: PyTorch {pt['mlpadam_peak_rss']:.0f} MB, Kiln {kl['mlpadam_peak_rss']:.0f} MB;"
                      f" ratio {kl['mlpadam_peak_rss'] / pt['mlpadam_peak_rss']:.2f}", flush=True)
    lines = ["| workload | PyTorch 1.13 | Kiln | Kiln / PyTorch |", "| --- | ---: | ---: | ---: |"]
    for label, d in rows.items():
        p = statistics.median(d["pytorch"])
        k = statistics.median(d["kiln"])
        if d["unit"] == "GFLOP/s":
            ratio = f"{k / p:.2f} (GFLOP/s)"
        else:
            ratio = f"{(k / p if d['lower'] else p / k):.2f} (time)"
        lines.append(f"| {label} | {p:.4g} | {k:.4g} | {ratio} |")
    if rss["kiln"]:
        p = statistics.median(rss["pytorch"])
        k = statistics.median(rss["kiln"])
        lines.append(f"| mlp-adam peak RSS, MB | {p:.0f} | {k:.0f} | {k / p:.2f} (memory) |")
    table = "\n".join(lines)
    summary = (f"Medians of {a.rounds} round(s){' (quick mode)' if q else ''}, Kiln JVM options"
               f" '{os.environ.get('KILN_JAVA_OPTS', '')}'; load average (1 min) at the start of"
               f" each round: {', '.join(f'{x:.2f}' for x in loads)}, at the end: {load()}.")
    print()
    print(table)
    print()
    print(summary)
    os.makedirs(os.path.dirname(a.markdown), exist_ok=True)
    with open(a.markdown, "w") as f:
        f.write(table + "\n\n" + summary + "\n")


if __name__ == "__main__":
    main()
