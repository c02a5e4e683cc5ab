"""Summaries of a benchmark report: ratios between implementations, the speed-option table,
each part's utilisation, and the machine and library versions the figures were taken on."""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def ratios(results: list[dict]) -> dict:
    """How many times faster / leaner ours is than each other measurement."""
    ours = {
        (r["mode"], r["dtype"]): r
        for r in results
        if r["impl"] == "ours" and r["variant"] == "preset"
    }
    ratios = {}
    for r in results:
        if r["impl"] == "ours":
            continue
        for (mode, dtype), mine in ours.items():
            if mode != r["mode"]:
                continue
            name = f"{mode}: ours {dtype} vs {r['impl']} {r['dtype']}"
            memory = r["peak_memory_mb"]
            ratios[name] = {
                "speedup": r["median_s"] / mine["median_s"],
                "memory_ratio": mine["peak_memory_mb"] / memory if memory > 0 else None,
            }
    return ratios


def settings_table(results: list[dict]) -> dict:
    """Median inference seconds and peak memory of ours per dtype and speed variant
    (``--modes settings``): an option earns its place by the time it saves for its memory."""
    table: dict = {}
    for r in results:
        if r["impl"] == "ours" and r["mode"] == "infer":
            entry = {"median_s": r["median_s"], "peak_memory_mb": r["peak_memory_mb"]}
            table.setdefault(r["dtype"], {})[r["variant"]] = entry
    return table


# Dense (no sparsity) bf16/fp16 tensor-core peaks, TFLOP/s, from the vendor's data sheets.
_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "A100": 312.0}


def known_peak_tflops(device: str) -> float | None:
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in _PEAK_TFLOPS.items() if key in name), None)


def utilisation(report: dict, peak_tflops: float | None) -> dict:
    """Achieved TFLOP/s of each part (model FLOPs over its median seconds) per inference run of
    ours and mmseg's, its share of the matrix-multiply peak measured in the same run for that
    dtype, and with ``peak_tflops`` (a 16-bit data-sheet peak) the model FLOP utilisation."""
    flops = report["flops_per_image"]["parts"]
    measured = report.get("matmul_peak_tflops", {})
    out = {}
    for r in report["results"]:
        if "part_median_s" not in r or r.get("variant") not in (None, "preset"):
            continue
        entry = {}
        for part, seconds in r["part_median_s"].items():
            tflops = flops[part] * r["batch"] / seconds / 1e12
            entry[part] = {"tflops_per_s": tflops}
            if measured.get(r["dtype"]):
                entry[part]["share_of_matmul_peak"] = tflops / measured[r["dtype"]]
            if peak_tflops and r["dtype"] != "fp32":
                entry[part]["mfu"] = tflops / peak_tflops
        out[f"{r['impl']} {r['mode']} {r['dtype']}"] = entry
    return out


def processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def versions() -> dict:
    import mmcv
    import mmengine
    import mmseg

    versions = {"torch": torch.__version__, "mmengine": mmengine.__version__}
    versions |= {
        "mmcv": mmcv.__version__,
        "mmseg": mmseg.__version__,
        "python": platform.python_version(),
    }
    try:
        import transformers

        versions["transformers"] = transformers.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        versions["cuda_device"] = torch.cuda.get_device_name()
    return versions
