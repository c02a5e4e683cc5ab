"""The benchmark script runs end to end and reports what it promises (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_benchmark_reports_inference_flops_and_ratios(tmp_path):
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(REPO / "tools/analysis_tools/benchmark.py"),
        str(REPO / "configs/beit/upernet_beit-tiny_toy.py"),
        "--shape",
        "64",
        "64",
        "--compare",
        "mmseg",
        "--modes",
        "infer",
        "flops",
        "--repeats",
        "1",
        "--json",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["versions"]["torch"].startswith("2.") and report["machine"]["threads"] >= 1
    assert [(r["impl"], r["mode"], r["dtype"]) for r in report["results"]] == [
        ("ours", "infer", "fp32"),
        ("mmseg", "infer", "fp32"),
    ]
    for r in report["results"]:
        assert r["min_s"] <= r["median_s"] <= r["max_s"] and r["images_per_s"] > 0
        assert r["peak_memory_mb"] >= 0
    assert report["results"][0]["settings"] == {"decode_head.conv_cfg": {"type": "WinogradConv2d"}}
    flops = report["flops_per_image"]
    assert flops["model"] >= flops["executed"] > 0
    assert set(report["ratios"]) == {"infer: ours fp32 vs mmseg fp32"}
