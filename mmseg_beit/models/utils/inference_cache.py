"""Tensors derived from weights, kept between inference calls, outside the maths that uses them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch
from torch import nn


class InferenceCache:
    """Weight-derived tensors (attention masks, transformed conv kernels) for inference.

    Attention masks, a strided copy from their table, are kept only where a config asks for it
    (``cache_grids``): they cost more memory than they save time, so no speed preset does.
    Winograd's transformed kernels are kept by the CPU fp32 preset (``cache_kernels``).
    Each entry remembers a copy of the weight it was derived from and is rebuilt as soon as that
    weight's values differ, however they changed (loading, an EMA swap, a ``.data`` write).
    Entries are grouped by a key such as the token grid; at most ``max_keys`` keys are kept,
    the least recently used going first.

    Args:
        max_keys: Keys (token grids, dtypes...) kept at once.
    """

    def __init__(self, max_keys: int = 1) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self.max_keys = max_keys
        self._entries: OrderedDict[Hashable, dict[int, tuple[torch.Tensor, torch.Tensor]]]
        self._entries = OrderedDict()

    def get(
        self,
        owner: nn.Module,
        source: torch.Tensor,
        key: Hashable,
        build: Callable[[], torch.Tensor],
    ) -> torch.Tensor:
        """``owner``'s tensor for ``key``, built by ``build()`` from ``source`` when missing or
        when ``source`` no longer holds the values it was built from."""
        entries = self._entries.get(key)
        if entries is None:
            entries = self._entries[key] = {}
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        entry = entries.get(id(owner))
        if entry is not None and torch.equal(entry[0], source):
            return entry[1]
        value = build()
        entries[id(owner)] = (source.detach().clone(), value)
        return value

    def clear(self) -> None:
        """Drops every entry."""
        self._entries.clear()

    @property
    def nbytes(self) -> int:
        """Memory held by the cached tensors and the weight copies they are checked against."""
        return sum(s.nbytes + v.nbytes for e in self._entries.values() for s, v in e.values())

    def __deepcopy__(self, memo: dict) -> InferenceCache:
        # A copied model (EMA) has other layers: it starts empty.
        return type(self)(self.max_keys)


def clear_caches(model: nn.Module) -> None:
    """Empties every :class:`InferenceCache` held by ``model``'s modules."""
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, InferenceCache):
                value.clear()
