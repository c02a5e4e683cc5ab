"""Which scaled-dot-product-attention kernels BEiT's biased attention actually runs on.

    python tools/analysis_tools/attention_kernels.py [--device cuda] [--dtype bf16]
        [--grid 40 40] [--dims 1024] [--heads 16] [--batch 1] [--train] [--json OUT]

One attention layer of the given size (BEiT-L at 640x640 by default: a 40x40 token grid, 1024
wide, 16 heads) runs with PyTorch free to choose, then with each backend forced. For each it
reports whether the backend ran, the aten SDPA op dispatched, the device kernels launched, whether
SDPA padded the bias mask on the call (a copy the memory-efficient kernel makes of masks whose
rows are not 8-aligned) and the median time of a call (forward, or forward + backward with
--train).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

from mmseg_beit.models.layers.attention import RelativePositionAttention
from mmseg_beit.models.utils.precision import PRECISIONS, autocast
from mmseg_beit.utils.io import atomic_path

SDPA_BACKENDS = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}

_PAD_OPS = ("aten::constant_pad_nd", "aten::pad")


def _call(attn: RelativePositionAttention, x: torch.Tensor, grid, dtype: str, train: bool):
    """One attention call, under autocast unless ``dtype`` is 'fp32'; with ``train`` also its
    backward."""
    with torch.set_grad_enabled(train), autocast(dtype, x.device.type):
        out = attn(x, grid)
    if train:
        out.float().sum().backward()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _inside_sdpa(event) -> bool:
    while event.cpu_parent is not None:
        event = event.cpu_parent
        if event.key == "aten::scaled_dot_product_attention":
            return True
    return False


def probe(attn, x, grid, dtype: str, train: bool, backend: str | None, repeats: int) -> dict:
    """Runs the attention with ``backend`` forced (None: PyTorch's choice) and reports on it."""
    context = sdpa_kernel([SDPA_BACKENDS[backend]]) if backend else contextlib.nullcontext()
    result: dict = {"backend": backend or "default"}
    activities = [ProfilerActivity.CPU]
    if x.device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    try:
        with context:
            _call(attn, x, grid, dtype, train)  # warm-up: caches, autotuning
            _sync(x.device)
            with profile(activities=activities) as prof:
                _call(attn, x, grid, dtype, train)
                _sync(x.device)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                _call(attn, x, grid, dtype, train)
                _sync(x.device)
                times.append(time.perf_counter() - start)
    except RuntimeError as error:
        return result | {"ran": False, "error": str(error).strip().splitlines()[0]}
    events = prof.key_averages()
    ops = [e.key for e in events if e.key.startswith("aten::_scaled_dot_product")]
    ops += [e.key for e in events if e.key.startswith("aten::_efficient_attention")]
    kernels = sorted(
        (e for e in events if e.device_type.name == "CUDA"),
        key=lambda e: e.self_device_time_total,
        reverse=True,
    )
    return result | {
        "ran": True,
        "sdpa_ops": sorted(set(ops)),
        "device_kernels": [e.key[:120] for e in kernels[:6]],
        "mask_padded_by_sdpa": any(_inside_sdpa(e) for e in prof.events() if e.key in _PAD_OPS),
        "median_ms": 1e3 * statistics.median(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(PRECISIONS), default="bf16")
    parser.add_argument("--grid", type=int, nargs=2, default=[40, 40], metavar=("H", "W"))
    parser.add_argument("--dims", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--train", action="store_true", help="forward + backward")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = torch.device(args.device)
    grid = tuple(args.grid)
    attn = RelativePositionAttention(args.dims, args.heads, grid).to(device)
    torch.nn.init.trunc_normal_(attn.relative_position_bias_table, std=0.02)
    attn.train(args.train)
    tokens = grid[0] * grid[1] + 1
    x = torch.randn(args.batch, tokens, args.dims, device=device, requires_grad=args.train)
    report = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "dtype": args.dtype,
        "shape": {"batch": args.batch, "heads": args.heads, "tokens": tokens},
        "mode": "train" if args.train else "inference",
        "date": time.strftime("%Y-%m-%d"),
        "runs": [
            probe(attn, x, grid, args.dtype, args.train, backend, args.repeats)
            for backend in (None, *SDPA_BACKENDS)
        ],
    }
    print(json.dumps(report, indent=1))
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
