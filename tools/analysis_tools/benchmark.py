"""Speed, memory and FLOPs of a config's segmentor, beside mmseg's BEiT and transformers' BEiT.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint K] [--shape H W] [--batch N]
        [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--compare mmseg hf]
        [--modes infer train flops settings] [--with-cp]
        [--repeats R] [--warmup W] [--agreement IMAGE_DIR] [--peak-tflops P]
        [--keep-freed-memory] [--json OUT]

Every measurement runs in a fresh process, so peak memory is that measurement's own: CUDA
max-allocated, or on CPU the peak RSS (VmHWM) above the RSS once the model is loaded, i.e.
activations, gradients, optimiser state and workspace. All
implementations hold identical weights: the checkpoint's or random ones (with --compare hf,
transformers' random initialisation converted to this package's keys). Inference is the
model's forward on a (batch, 3, H, W) tensor: backbone, neck and decode head. It is timed after
warm-up, with the median and the spread of the repeats. ``--modes train`` measures full
training steps (forward, losses, backward, AdamW step) at 2 images or more (``--with-cp``: ours
with activation checkpointing). Each mode runs in fp32 and, when --dtype names one, under that
autocast dtype, for every implementation alike. This package's model is built as users get it,
with the speed preset of the device and dtype (listed as "settings"); ``--modes settings``
times it with no speed option, each option alone and the whole preset, which is how the preset
is chosen (``mmseg_beit/models/speed.py``). Backbone, neck and decode head are timed apart
within the same calls. With ``flops``, the tool also measures this device's matrix-multiply
peak (a large ``torch.mm`` per dtype, in its own process) and reports each part's achieved
TFLOP/s (model FLOPs, plain convolutions) and its share of that peak in the run's dtype: the
distance to the limit. ``--peak-tflops`` (or a known GPU) adds the share of a data-sheet
16-bit peak (MFU).
--agreement reports the share of pixels whose class under --dtype equals the fp32 class, on the
images of a folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from benchmark_models import (
    VARIANTS,
    agreement,
    build,
    count_flops,
    export_onnx,
    hf_model,
    prepare_weights,
)
from benchmark_report import (
    known_peak_tflops,
    processor,
    ratios,
    settings_table,
    utilisation,
    versions,
)

from mmseg_beit.utils.io import atomic_path

PARTS = ("backbone", "neck", "decode_head")


# ----------------------------------------------------------------------------- measuring
def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process from /proc (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> float:
    """Resets the RSS high-water mark to the current RSS and returns that (MiB).

    ``ru_maxrss`` is no use here: Linux carries it across exec, so a worker would report the
    parent's peak. ``VmHWM`` belongs to the process's own address space and can be reset.
    """
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _timed(fn, device: str, warmup: int, repeats: int) -> dict:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
    }


def _forward_fn(impl: str, model, x: torch.Tensor, dtype: str, device: str, parts: dict):
    """The inference forward under autocast of ``dtype``, the one precision mechanism (ours
    runs so inside its segmentor). Each call appends the seconds of backbone, neck and decode
    head to ``parts`` (not for transformers', one module)."""
    from mmseg_beit.models.utils.precision import autocast

    def run():
        with autocast(dtype, device):
            if impl == "hf":
                return model(pixel_values=x).logits
            out, start = x, time.perf_counter()
            for part in PARTS:
                out = getattr(model, part)(out)
                _sync(device)
                now = time.perf_counter()
                parts.setdefault(part, []).append(now - start)
                start = now
            return out

    return run


def _matmul_peak(device: str, sizes: tuple[int, ...] = (2048, 4096), repeats: int = 3) -> dict:
    """This device's matrix-multiply throughput, TFLOP/s: the best of ``repeats`` square
    ``torch.mm`` calls of each of ``sizes`` per dtype (fp32, bf16, and fp16 on CUDA)."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if device == "cuda":
        dtypes["fp16"] = torch.float16
    peak = {}
    for name, dtype in dtypes.items():
        for size in sizes:
            a = torch.randn(size, size, device=device).to(dtype)
            b = torch.randn(size, size, device=device).to(dtype)
            best = _timed(lambda a=a, b=b: torch.mm(a, b), device, 1, repeats)["min_s"]
            peak[name] = max(peak.get(name, 0.0), 2 * size**3 / best / 1e12)
    return peak


def _train_step_fn(impl: str, model, x: torch.Tensor, dtype: str, num_classes: int):
    """One training step, forward and losses under autocast of ``dtype`` (as mmengine's
    AmpOptimWrapper runs them)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from mmseg_beit.models.utils.precision import autocast

    outer = autocast(dtype, x.device.type)

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.05)
    labels = torch.randint(0, num_classes, (x.shape[0], 1, *x.shape[2:]), device=x.device)
    samples = []
    for i in range(x.shape[0]):
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels[i]))
        sample.set_metainfo(dict(img_shape=tuple(x.shape[2:]), ori_shape=tuple(x.shape[2:])))
        samples.append(sample)
    model.train()

    def step():
        with outer:
            losses = model.loss(x, samples)
        loss = sum(v for k, v in losses.items() if "loss" in k)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def worker(spec: dict) -> dict:
    """One measurement in this (fresh) process."""
    from mmengine.registry import init_default_scope

    import mmseg_beit  # noqa: F401
    from mmseg_beit.runtime.allocator import keep_freed_memory

    init_default_scope("mmseg_beit")
    device, dtype, impl = spec["device"], spec["dtype"], spec["impl"]
    torch.manual_seed(0)
    if impl == "onnx":
        return _onnx_worker(spec)
    if impl == "matmul":
        return {"impl": impl, "matmul_peak_tflops": _matmul_peak(device)}
    weights = torch.load(spec["weights"], weights_only=True)
    if impl == "hf":
        model = hf_model(spec["config"], spec["shape"], spec["out_indices"], spec["num_classes"])
        model.load_state_dict(weights["hf"], strict=True)
        settings = {"attn_implementation": "sdpa"}
    else:
        model, settings = build(
            impl, spec["config"], spec["shape"], dtype, device, spec["with_cp"], spec["variant"]
        )
        model.load_state_dict(weights["ours"], strict=True)
    model.to(device)
    del weights
    if device == "cuda":
        torch.backends.cudnn.benchmark = True  # as mmseg's default runtime sets it
    gc.collect()
    baseline_mb = _reset_peak_rss()  # the model is loaded: what follows is the measurement's
    # After the baseline: the heap would otherwise keep the freed loading buffers for reuse,
    # and the peak above the baseline would read too low.
    if spec["keep_freed_memory"] and not keep_freed_memory():
        raise SystemExit("benchmark: --keep-freed-memory needs glibc")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # Training needs 2 images: BatchNorm after the 1x1 pyramid pooling sees one value per image.
    batch = max(spec["batch"], 2) if spec["mode"] == "train" else spec["batch"]
    x = torch.randn(batch, 3, *spec["shape"], device=device)
    result = {
        "impl": impl,
        "variant": spec["variant"] if impl == "ours" else None,
        "mode": spec["mode"],
        "dtype": dtype,
        "batch": batch,
        "settings": settings,
    }
    if spec["mode"] == "train":
        step = _train_step_fn(impl, model, x, dtype, spec["num_classes"])
        timing = _timed(step, device, 1, spec["repeats"])
    else:
        model.eval()
        parts: dict[str, list[float]] = {}
        with torch.inference_mode():
            run = _forward_fn(impl, model, x, dtype, device, parts)
            timing = _timed(run, device, spec["warmup"], spec["repeats"])
        if parts:  # the timed calls only, not the warm-up
            timing["part_median_s"] = {
                part: statistics.median(seconds[-spec["repeats"] :])
                for part, seconds in parts.items()
            }
    result |= timing
    result["images_per_s"] = batch / timing["median_s"]
    if device == "cuda":
        result["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        result["peak_rss_mb"] = _status_mb("VmHWM")
        result["peak_memory_mb"] = result["peak_rss_mb"] - baseline_mb
    return result


def _onnx_worker(spec: dict) -> dict:
    """Ours exported to ONNX, run by onnxruntime on the CPU (fp32, all cores)."""
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(spec["onnx"], providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((spec["batch"], 3, *spec["shape"]), np.float32)
    baseline_mb = _reset_peak_rss()
    timing = _timed(lambda: session.run(None, {"image": x}), "cpu", spec["warmup"], spec["repeats"])
    result = {"impl": "onnx", "variant": None, "mode": "infer", "dtype": "fp32"}
    result |= {"batch": spec["batch"], "settings": {"onnxruntime": onnxruntime.__version__}}
    result |= timing
    result["images_per_s"] = spec["batch"] / timing["median_s"]
    result["peak_rss_mb"] = _status_mb("VmHWM")
    result["peak_memory_mb"] = result["peak_rss_mb"] - baseline_mb
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("config", nargs="?")
    parser.add_argument("--checkpoint")
    parser.add_argument("--shape", type=int, nargs=2, default=[512, 512], metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32")
    parser.add_argument(
        "--compare", nargs="*", default=[], choices=["mmseg", "hf", "onnx"],
        help="onnx: ours exported to ONNX and run by onnxruntime (inference, fp32)",
    )  # fmt: skip
    parser.add_argument(
        "--modes", nargs="+", choices=["infer", "train", "flops", "settings"],
        default=["infer", "flops"],
        help="settings: ours' inference with no speed option, each option alone, the preset",
    )  # fmt: skip
    parser.add_argument(
        "--with-cp", action="store_true", help="train ours with activation checkpointing"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--agreement", metavar="IMAGE_DIR", help="pixel agreement vs fp32")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="every implementation with mmseg_beit.runtime.allocator.keep_freed_memory()",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        help="the device's dense bf16/fp16 peak, for the backbone's model FLOP utilisation "
        "(default: known for H100 and H200)",
    )
    parser.add_argument("--json", help="write all results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))))
        return 0
    if not args.config:
        parser.error("CONFIG is required")

    report = {
        "config": args.config,
        "shape": args.shape,
        "batch": args.batch,
        "device": args.device,
        "dtype": args.dtype,
        "keep_freed_memory": args.keep_freed_memory,
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "platform": platform.platform(),
            "processor": processor(),
            "threads": torch.get_num_threads(),
        },
        "versions": versions(),
        "results": [],
    }
    if args.agreement:
        report["agreement"] = agreement(args.config, args.checkpoint, args.agreement, args.dtype)
        print(json.dumps(report["agreement"]))
    with tempfile.TemporaryDirectory() as tmp:
        weights_path = Path(tmp) / "weights.pth"
        prepared = prepare_weights(
            args.config, args.shape, args.checkpoint, args.compare, weights_path
        )
        if "onnx" in args.compare:
            prepared["onnx"] = export_onnx(
                args.config, args.shape, args.batch, prepared, Path(tmp) / "ours.onnx"
            )
        if "flops" in args.modes:
            report["flops_per_image"] = count_flops(args.config, args.shape, prepared)
            print(json.dumps(report["flops_per_image"]))
            spec = dict(impl="matmul", device=args.device, dtype="fp32")
            report["matmul_peak_tflops"] = _run_worker(spec)["matmul_peak_tflops"]
            print(json.dumps(report["matmul_peak_tflops"]))
        impls = ["ours", *args.compare]
        runs = []
        dtypes = _dtypes(args.dtype)
        if "settings" in args.modes:
            runs += [("ours", "infer", dtype, v) for dtype in dtypes for v in VARIANTS]
        if "infer" in args.modes:
            runs += [
                (impl, "infer", dtype, "preset")
                for impl in impls
                for dtype in dtypes
                if impl != "onnx" or dtype == "fp32"
            ]
        if "train" in args.modes:
            trained = [i for i in impls if i not in ("hf", "onnx")]
            runs += [(impl, "train", dtype, "preset") for impl in trained for dtype in dtypes]
        for impl, mode, dtype, variant in dict.fromkeys(runs):
            spec = dict(
                impl=impl, mode=mode, dtype=dtype, variant=variant, config=args.config,
                shape=args.shape, batch=args.batch, device=args.device,
                repeats=args.repeats if mode == "infer" else 2,
                warmup=args.warmup, with_cp=args.with_cp and mode == "train",
                weights=str(weights_path), keep_freed_memory=args.keep_freed_memory,
                out_indices=prepared["out_indices"], num_classes=prepared["num_classes"],
                onnx=prepared.get("onnx"),
            )  # fmt: skip
            result = _run_worker(spec)
            report["results"].append(result)
            print(json.dumps(result), flush=True)
    report["ratios"] = ratios(report["results"])
    if "settings" in args.modes:
        report["settings"] = settings_table(report["results"])
        print(json.dumps(report["settings"], indent=1))
    print(json.dumps(report["ratios"], indent=1))
    if "flops_per_image" in report:
        peak = args.peak_tflops or known_peak_tflops(args.device)
        report["utilisation"] = utilisation(report, peak)
        print(json.dumps(report["utilisation"], indent=1))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
    return 0


def _dtypes(dtype: str) -> list[str]:
    """Every implementation in fp32 (the default) and, when asked, in the same autocast dtype."""
    return ["fp32"] if dtype == "fp32" else ["fp32", dtype]


def _run_worker(spec: dict) -> dict:
    command = [sys.executable, __file__, "--worker", json.dumps(spec)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        raise SystemExit(
            f"benchmark worker {spec['impl']}/{spec.get('mode')} failed:\n{out.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len("RESULT ") :])


if __name__ == "__main__":
    sys.exit(main())
