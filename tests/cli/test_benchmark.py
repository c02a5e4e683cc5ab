"""The benchmark script runs end to end and reports what it promises (no timing assertions)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from conftest import REPO

from mmseg_beit.models.speed import PRESETS, SpeedPreset


def _benchmark(tmp_path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(REPO / "tools/analysis_tools/benchmark.py"),
        str(REPO / "configs/beit/upernet_beit-tiny_toy.py"),
        *("--shape", "64", "64", "--repeats", "1", "--json", str(out)),
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


# The end-to-end runs start a process per measurement (about a minute together on 2 cores): a
# developer tool's test, kept out of CI (pytest -m slow).
@pytest.mark.slow
def test_benchmark_reports_inference_flops_ratios_and_utilisation(tmp_path):
    report = _benchmark(
        tmp_path, "--compare", "mmseg", "--dtype", "bf16", "--modes", "infer", "flops",
        "--peak-tflops", "2.0",
    )  # fmt: skip
    assert report["versions"]["torch"].startswith("2.") and report["machine"]["threads"] >= 1
    assert [(r["impl"], r["mode"], r["dtype"]) for r in report["results"]] == [
        ("ours", "infer", "fp32"),
        ("ours", "infer", "bf16"),
        ("mmseg", "infer", "fp32"),
        ("mmseg", "infer", "bf16"),
    ]
    for r in report["results"]:
        assert r["min_s"] <= r["median_s"] <= r["max_s"] and r["images_per_s"] > 0
        assert r["peak_memory_mb"] >= 0
    ours_fp32, ours_bf16 = report["results"][:2]
    assert ours_fp32["settings"] == dataclasses.asdict(PRESETS[("cpu", "fp32")])
    assert ours_bf16["settings"] == dataclasses.asdict(PRESETS[("cpu", "bf16")])
    flops = report["flops_per_image"]
    assert flops["model"] >= flops["executed"] > flops["backbone"] > 0
    assert "infer: ours bf16 vs mmseg bf16" in report["ratios"]
    usage = report["backbone_utilisation"]["infer bf16"]
    expected = flops["backbone"] / ours_bf16["backbone_median_s"] / 1e12
    assert usage["backbone_tflops_per_s"] == pytest.approx(expected)
    assert usage["mfu"] == pytest.approx(expected / 2.0)
    assert "mfu" not in report["backbone_utilisation"]["infer fp32"]  # no 16-bit peak there


@pytest.mark.slow
def test_benchmark_training_steps_in_both_precisions(tmp_path):
    report = _benchmark(tmp_path, "--dtype", "bf16", "--modes", "train", "--with-cp")
    assert [(r["impl"], r["mode"], r["dtype"], r["batch"]) for r in report["results"]] == [
        ("ours", "train", "fp32", 2),
        ("ours", "train", "bf16", 2),
    ]
    assert all(r["settings"]["with_cp"] for r in report["results"])
    assert all(r["median_s"] > 0 and r["peak_memory_mb"] >= 0 for r in report["results"])


def test_settings_mode_times_no_option_each_option_alone_and_the_preset(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools/analysis_tools"))
    from benchmark_models import VARIANTS, our_settings

    assert VARIANTS == ("off", "winograd", "cache_grids", "preset")
    assert our_settings("cpu", "fp32", "off") == dataclasses.asdict(SpeedPreset())
    winograd_only = our_settings("cpu", "fp32", "winograd")
    assert winograd_only == dataclasses.asdict(SpeedPreset(winograd=True))
    assert our_settings("cpu", "bf16") == dataclasses.asdict(PRESETS[("cpu", "bf16")])
