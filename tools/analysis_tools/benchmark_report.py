"""Summaries of a benchmark report: ratios between implementations, the speed-option table,
backbone utilisation, and the machine and library versions the figures were taken on."""

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
    """Median inference seconds of ours per dtype and speed variant (``--modes settings``)."""
    table: dict = {}
    for r in results:
        if r["impl"] == "ours" and r["mode"] == "infer":
            table.setdefault(r["dtype"], {})[r["variant"]] = r["median_s"]
    return table


# Dense (no sparsity) bf16/fp16 tensor-core peaks, TFLOP/s, from the vendor's data sheets.
_PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "A100": 312.0}


def known_peak_tflops(device: str) -> float | None:
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in _PEAK_TFLOPS.items() if key in name), None)


def utilisation(report: dict, peak_tflops: float | None) -> dict:
    """Achieved backbone TFLOP/s per run of ours, and its share of the 16-bit peak (MFU)."""
    flops = report["flops_per_image"]["backbone"]
    out = {}
    for r in report["results"]:
        if r["impl"] != "ours" or r["variant"] != "preset" or "backbone_median_s" not in r:
            continue
        tflops = flops * r["batch"] / r["backbone_median_s"] / 1e12
        entry = {"backbone_tflops_per_s": tflops}
        if peak_tflops and r["dtype"] != "fp32":
            entry |= {"peak_tflops_per_s": peak_tflops, "mfu": tflops / peak_tflops}
        out[f"{r['mode']} {r['dtype']}"] = entry
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
