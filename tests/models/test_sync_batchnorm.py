"""SyncBN on CPU processes: the statistics and gradients of BatchNorm over the whole batch."""

from __future__ import annotations

import socket
import subprocess
import sys

import torch

from mmseg_beit.models import SyncBatchNorm

_WORKER = """
import sys, torch, torch.distributed as dist
from mmseg_beit.models import SyncBatchNorm

def run(rank, port, out):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 5) * 3 + 1  # the same full batch on both ranks
    bn = SyncBatchNorm(4, momentum=0.3)
    with torch.no_grad():
        bn.weight.copy_(torch.arange(1.0, 5.0)); bn.bias.fill_(0.5)
    part = x[rank : rank + 1].clone().requires_grad_()  # one image per process
    y = bn(part)
    (y * torch.arange(y.numel()).view_as(y)).sum().backward()
    torch.save(dict(y=y.detach(), grad=part.grad, weight=bn.weight.grad, bias=bn.bias.grad,
                    mean=bn.running_mean, var=bn.running_var), f"{out}/rank{rank}.pt")
    dist.destroy_process_group()

if __name__ == "__main__":
    torch.multiprocessing.spawn(run, args=(int(sys.argv[1]), sys.argv[2]), nprocs=2)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_cpu_processes_of_one_image_each_normalise_like_batchnorm_over_both(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    run = subprocess.run(
        [sys.executable, str(script), str(_free_port()), str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]

    torch.manual_seed(0)
    x = (torch.randn(2, 4, 3, 5) * 3 + 1).requires_grad_()
    bn = torch.nn.BatchNorm2d(4, momentum=0.3)
    with torch.no_grad():
        bn.weight.copy_(torch.arange(1.0, 5.0))
        bn.bias.fill_(0.5)
    y = bn(x)
    weights = torch.cat([torch.arange(y[:1].numel()).view_as(y[:1])] * 2)
    (y * weights).sum().backward()
    for rank, got in enumerate(ranks):
        torch.testing.assert_close(got["y"], y[rank : rank + 1].detach(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(got["grad"], x.grad[rank : rank + 1], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(got["mean"], bn.running_mean, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(got["var"], bn.running_var, atol=1e-5, rtol=1e-5)
    # Parameter gradients are each rank's share (DDP sums them over the ranks).
    torch.testing.assert_close(ranks[0]["weight"] + ranks[1]["weight"], bn.weight.grad)
    torch.testing.assert_close(ranks[0]["bias"] + ranks[1]["bias"], bn.bias.grad)


def test_single_process_is_pytorch_batchnorm():
    bn, reference = SyncBatchNorm(3), torch.nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 5)
    torch.testing.assert_close(bn(x), reference(x))
    torch.testing.assert_close(bn.running_var, reference.running_var)
    assert bn.state_dict().keys() == reference.state_dict().keys()
