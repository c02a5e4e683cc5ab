"""Running a recipe shorter or longer: one length of training, the whole schedule scaled to it."""

from __future__ import annotations

from mmengine.config import Config


def scale_schedule(cfg: Config, iters: int) -> list[str]:
    """Scales a config's iteration-based schedule to ``iters`` iterations, in place.

    ``train_cfg.max_iters`` becomes ``iters``; every value counted in iterations is scaled by
    the same ratio: the parameter schedulers' ``begin`` / ``end`` (a warm-up keeps its share of
    training; a scheduler that ended with training still does), the validation interval and
    ``val_begin``, the checkpoint interval (never beyond the end, so the last iteration is saved)
    and the logger interval (only shortened, to about 10 lines a run). ``max_keep_ckpts`` is
    unchanged.

    Returns:
        One ``'key old -> new'`` entry per changed value.

    Raises:
        ValueError: If ``iters`` is not positive or the config's training is not
            iteration-based.
    """
    if iters < 1:
        raise ValueError(f"--iters {iters}: the number of iterations must be at least 1")
    old = cfg.get("train_cfg", {}).get("max_iters")
    if not old:
        raise ValueError(f"--iters: {cfg.filename} trains by epochs (no train_cfg.max_iters)")
    changes = []

    def scaled(value: int, upper: int = iters, least: int = 1) -> int:
        """The same point of the shorter (longer) run; the end stays the end, 0 stays 0, and
        a positive count stays at least ``least``, so a warm-up's end and the decay's begin
        still meet."""
        if value >= old:
            return upper
        return min(upper, max(least if value > 0 else 0, round(value * iters / old)))

    def change(owner: dict, key: str, new: int, name: str) -> None:
        if owner.get(key) is not None and owner[key] != new:
            changes.append(f"{name} {owner[key]} -> {new}")
            owner[key] = new

    train = cfg.train_cfg
    change(train, "max_iters", iters, "train_cfg.max_iters")
    for key in ("val_interval", "val_begin"):
        if train.get(key) is not None:
            change(train, key, scaled(train[key]), f"train_cfg.{key}")
    schedulers = cfg.get("param_scheduler") or []
    for i, scheduler in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        if scheduler.get("by_epoch", True) is not False:
            continue
        # mmengine's schedulers change the rate from their second step on: a warm-up of one
        # iteration would never rise, and the decay after it would start from its first rate.
        new_begin = scaled(scheduler.get("begin", 0), iters - 1, least=2)
        change(scheduler, "begin", new_begin, f"param_scheduler[{i}].begin")
        if scheduler.get("end") is not None:
            new_end = max(new_begin + 1, scaled(scheduler["end"], least=2))
            change(scheduler, "end", new_end, f"param_scheduler[{i}].end")
    hooks = cfg.get("default_hooks") or {}
    checkpoint = hooks.get("checkpoint") or {}
    if checkpoint.get("interval", -1) > 0 and not checkpoint.get("by_epoch", False):
        change(
            checkpoint,
            "interval",
            scaled(checkpoint["interval"]),
            "default_hooks.checkpoint.interval",
        )
    logger = hooks.get("logger") or {}
    if logger.get("interval"):
        new = min(logger["interval"], max(1, iters // 10))  # at least about 10 log lines
        change(logger, "interval", new, "default_hooks.logger.interval")
    return changes
