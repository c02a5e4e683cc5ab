"""Inference caches: rebuilt whenever weights change by any route, dropped in training, bounded."""

from __future__ import annotations

import copy

import torch
from conftest import randomize_, tiny_backbone_cfg
from mmengine.hooks import EMAHook

from mmseg_beit.models import BEiT, InferenceCache, WinogradConv2d, clear_caches


def _cached_backbone(cache_grids: int = 1):
    return randomize_(BEiT(**tiny_backbone_cfg(cache_grids=cache_grids))).eval()


def _reference(model: BEiT, x: torch.Tensor):
    fresh = BEiT(**tiny_backbone_cfg()).eval()  # no cache at all
    fresh.load_state_dict(model.state_dict())
    with torch.no_grad():
        return fresh(x)


def test_second_inference_call_reuses_the_cached_masks():
    model = _cached_backbone()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        first = model(x)
        masks = {id(m) for e in model.bias_cache._entries.values() for _, m in e.values()}
        second = model(x)
        again = {id(m) for e in model.bias_cache._entries.values() for _, m in e.values()}
    assert len(masks) == 4 and masks == again
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_data_write_to_a_relative_table_between_calls_rebuilds_its_mask():
    model = _cached_backbone()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model(x)
    table = model.layers[1].attn.relative_position_bias_table
    table.data.add_(torch.randn_like(table))  # .data writes do not bump the version counter
    with torch.no_grad():
        got = model(x)
    for a, b in zip(got, _reference(model, x)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_load_state_dict_between_calls_rebuilds_the_masks():
    model = _cached_backbone()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model(x)
    model.load_state_dict(randomize_(BEiT(**tiny_backbone_cfg()), seed=5).state_dict())
    with torch.no_grad():
        got = model(x)
    for a, b in zip(got, _reference(model, x)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


class _Runner:
    """What mmengine's EMAHook uses of a runner."""

    def __init__(self, model):
        self.model = model
        self.iter = 0


def test_mmengine_ema_hook_swap_is_seen_by_the_cached_masks():
    model = _cached_backbone()
    runner = _Runner(model)
    hook = EMAHook(momentum=0.5, begin_iter=0)
    hook.before_run(runner)  # the EMA model starts as a deep copy of the model
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # training moves the weights away from the EMA copy
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model(x)  # caches the trained weights' masks
    hook.before_val_epoch(runner)  # swaps the EMA weights in through .data
    with torch.no_grad():
        got = model(x)
    for a, b in zip(got, _reference(model, x)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_training_mode_drops_the_cached_masks_and_uses_none():
    model = _cached_backbone()
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert model.bias_cache.nbytes > 0
    model.train()
    assert model.bias_cache.nbytes == 0
    model(torch.randn(2, 3, 64, 64)).__len__()
    assert model.bias_cache.nbytes == 0


def test_cache_keeps_at_most_max_grids():
    model = _cached_backbone(cache_grids=2)
    with torch.no_grad():
        for size in (64, 80, 96, 80):
            model(torch.randn(1, 3, size, size))
    assert [key[0] for key in model.bias_cache._entries] == [(6, 6), (5, 5)]


def test_clear_caches_empties_every_cache_of_a_model():
    model = _cached_backbone()
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    clear_caches(model)
    assert model.bias_cache.nbytes == 0


def test_deep_copy_starts_with_an_empty_cache():
    model = _cached_backbone()
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    copied = copy.deepcopy(model)
    assert isinstance(copied.bias_cache, InferenceCache) and copied.bias_cache.nbytes == 0


def test_winograd_kernels_follow_data_writes():
    conv = WinogradConv2d(128, 128, 3, padding=1, min_pixels=1, cache_kernels=True).eval()
    x = torch.randn(1, 128, 10, 12)
    with torch.no_grad():
        conv(x)
        assert conv.kernel_cache.nbytes > 0
        conv.weight.data.mul_(-3.0)
        expected = torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1)
        torch.testing.assert_close(conv(x), expected, atol=1e-3, rtol=1e-4)
