"""keep_freed_memory: large freed blocks are reused instead of page-faulted in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from mmseg_beit.runtime.allocator import keep_freed_memory

_FAULTS = """
import resource, sys, torch
from mmseg_beit.runtime.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults_of_a_fresh_64mb_tensor():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20)  # 64 MB, above glibc's largest mmap threshold (32 MB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults_of_a_fresh_64mb_tensor()
print(min(faults_of_a_fresh_64mb_tensor() for _ in range(3)))
"""


def _faults(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return int(run.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_large_blocks_are_reused_without_page_faults():
    default = _faults("default")  # 16384 pages of 4 KB, faulted in on every allocation
    if default < 1_000:
        pytest.skip(f"only {default} faults: huge pages back fresh blocks on this machine")
    assert _faults("keep") < default // 100


def test_block_limit_is_checked():
    with pytest.raises(ValueError, match="max_block_bytes"):
        keep_freed_memory(2**31)
