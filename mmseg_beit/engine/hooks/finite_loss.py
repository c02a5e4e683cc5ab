"""A diverging run stops at the first non-finite loss or gradient norm, before it is saved."""

from __future__ import annotations

import math

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch import nn

from mmseg_beit.engine.errors import TrainingError
from mmseg_beit.registry import HOOKS


def first_non_finite(model: nn.Module) -> str | None:
    """The name of the model's first parameter or float buffer holding a NaN or an inf."""
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    for name, tensor in tensors:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def _value(value) -> float:
    return float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stops training (:class:`TrainingError`, naming the iteration) at a non-finite loss or
    gradient norm, before the checkpoint hook can save the iteration's weights.

    Where a loss scaler runs (fp16 on GPUs), it skips the optimizer step of an iteration with
    non-finite gradients and the weights stay as they were; up to ``max_skipped_steps`` such
    steps in a row are allowed (each one logged), then the run stops too. Every rank stops at the
    same iteration.

    Args:
        max_skipped_steps: Consecutive steps a loss scaler may skip before the run stops.
    """

    priority = "ABOVE_NORMAL"  # before the checkpoint and signal hooks save the iteration

    def __init__(self, max_skipped_steps: int = 100) -> None:
        self.max_skipped_steps = max_skipped_steps
        self._skipped = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = _value(outputs["loss"]) if outputs and "loss" in outputs else 0.0
        hub = runner.message_hub
        norm = hub.log_scalars.get("train/grad_norm")  # logged where gradients are clipped
        grad_norm = norm.current() if norm is not None else 0.0
        bad = torch.tensor([0.0 if math.isfinite(loss) and math.isfinite(grad_norm) else 1.0])
        all_reduce(bad, op="max")  # a NaN on one rank stops every rank here
        if not bad.item():
            self._skipped = 0
            return
        iteration = runner.iter + 1
        scaler = getattr(runner.optim_wrapper, "loss_scaler", None)
        if scaler is not None and self._skipped < self.max_skipped_steps:
            self._skipped += 1
            print_log(
                f"iteration {iteration}: non-finite loss {loss} or gradient norm {grad_norm}: "
                f"the loss scaler skipped this step ({self._skipped} in a row, at most "
                f"{self.max_skipped_steps})",
                "current",
                level=30,
            )
            return
        last = hub.get_info("last_ckpt") if "last_ckpt" in hub.runtime_info else None
        skipped = f" after {self._skipped} skipped steps in a row" if scaler is not None else ""
        raise TrainingError(
            f"iteration {iteration}: loss {loss}, gradient norm {grad_norm}{skipped}: training "
            f"diverged and is stopped, unsaved; the last checkpoint, from before it: "
            f"{last or 'none yet'}"
        )
