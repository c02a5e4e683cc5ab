"""Mixed-precision training that also runs where there is no GPU."""

from __future__ import annotations

import torch
from mmengine.device import (
    is_cuda_available,
    is_mlu_available,
    is_musa_available,
    is_npu_available,
)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper

from mmseg_beit.registry import OPTIM_WRAPPERS


def _has_accelerator() -> bool:
    return is_cuda_available() or is_npu_available() or is_mlu_available() or is_musa_available()


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(MMEngineAmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` on accelerators; on a CPU-only machine, bf16 autocast.

    mmengine refuses to build its wrapper without a GPU, so an fp16 / bf16 recipe could not run
    at all there. Here it trains under CPU bf16 autocast instead, without loss scaling (bf16
    has fp32's exponent range), and says so once in the log; accumulation, clipping, schedules
    and hooks are the recipe's. Checkpoints carry a loss-scaler state only where one ran.
    """

    def __init__(self, loss_scale="dynamic", dtype=None, use_fsdp: bool = False, **kwargs):
        if _has_accelerator():
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = None
        self.cast_dtype = torch.bfloat16
        print_log(
            f"AmpOptimWrapper: no GPU, so training runs under bf16 autocast on the CPU without "
            f"loss scaling (the config asks for dtype={dtype}, loss_scale={loss_scale!r})",
            "current",
            level=30,
        )

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is None:
            OptimWrapper.backward(self, loss, **kwargs)
        else:
            super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            OptimWrapper.step(self, **kwargs)
        else:
            super().step(**kwargs)

    def state_dict(self) -> dict:
        if self.loss_scaler is None:
            return OptimWrapper.state_dict(self)
        return super().state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        if self.loss_scaler is None:
            state_dict.pop("loss_scaler", None)  # a GPU run's scaler has nothing to do here
            OptimWrapper.load_state_dict(self, state_dict)
        else:
            super().load_state_dict(state_dict)
