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
    assert flops["model"] >= flops["executed"] > flops["parts"]["backbone"] > 0
    assert flops["model"] == sum(flops["parts"].values())
    assert "infer: ours bf16 vs mmseg bf16" in report["ratios"]
    peak = report["matmul_peak_tflops"]
    assert peak["fp32"] > 0 and peak["bf16"] > 0
    for impl in ("ours", "mmseg"):
        usage = report["utilisation"][f"{impl} infer bf16"]
        run = next(r for r in report["results"] if (r["impl"], r["dtype"]) == (impl, "bf16"))
        assert set(usage) == {"backbone", "neck", "decode_head"}
        expected = flops["parts"]["neck"] / run["part_median_s"]["neck"] / 1e12
        assert usage["neck"]["tflops_per_s"] == pytest.approx(expected)
        assert usage["neck"]["share_of_matmul_peak"] == pytest.approx(expected / peak["bf16"])
        assert usage["neck"]["mfu"] == pytest.approx(expected / 2.0)
    assert "mfu" not in report["utilisation"]["ours infer fp32"]["backbone"]  # no 16-bit peak


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

    variants = ("off", "winograd", "winograd_cache", "cache_grids", "matmul_attention", "preset")
    assert variants == VARIANTS
    assert our_settings("cpu", "fp32", "off") == dataclasses.asdict(SpeedPreset())
    winograd_only = our_settings("cpu", "fp32", "winograd")
    assert winograd_only == dataclasses.asdict(SpeedPreset(winograd=True))
    matmul_only = our_settings("cpu", "bf16", "matmul_attention")
    assert matmul_only == dataclasses.asdict(SpeedPreset(attention="matmul"))
    assert our_settings("cpu", "bf16") == dataclasses.asdict(PRESETS[("cpu", "bf16")])


def test_utilisation_is_each_parts_flops_over_its_time_against_the_measured_peak(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools/analysis_tools"))
    from benchmark_report import utilisation

    report = {
        "flops_per_image": {"parts": {"backbone": 4e12, "neck": 1e12, "decode_head": 6e12}},
        "matmul_peak_tflops": {"fp32": 2.0, "bf16": 8.0},
        "results": [
            {"impl": "ours", "variant": "preset", "mode": "infer", "dtype": "bf16", "batch": 2,
             "part_median_s": {"backbone": 2.0, "neck": 1.0, "decode_head": 3.0}},
            {"impl": "ours", "variant": "off", "mode": "infer", "dtype": "bf16", "batch": 2,
             "part_median_s": {"backbone": 9.0, "neck": 9.0, "decode_head": 9.0}},
        ],
    }  # fmt: skip
    got = utilisation(report, peak_tflops=None)
    assert list(got) == ["ours infer bf16"]  # the preset only, not the settings variants
    assert got["ours infer bf16"]["backbone"] == {"tflops_per_s": 4.0, "share_of_matmul_peak": 0.5}
    assert got["ours infer bf16"]["decode_head"]["tflops_per_s"] == 4.0
    assert got["ours infer bf16"]["neck"]["share_of_matmul_peak"] == 0.25


def test_settings_table_gives_each_variants_time_and_memory(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools/analysis_tools"))
    from benchmark_report import settings_table

    results = [
        {"impl": "ours", "variant": v, "mode": "infer", "dtype": "fp32", "median_s": t,
         "peak_memory_mb": m}
        for v, t, m in (("off", 6.0, 850.0), ("cache_grids", 5.8, 1500.0))
    ] + [{"impl": "mmseg", "variant": None, "mode": "infer", "dtype": "fp32", "median_s": 7.0,
          "peak_memory_mb": 800.0}]  # fmt: skip
    assert settings_table(results) == {
        "fp32": {
            "off": {"median_s": 6.0, "peak_memory_mb": 850.0},
            "cache_grids": {"median_s": 5.8, "peak_memory_mb": 1500.0},
        }
    }
