"""The commands' console: the stack's deprecation warnings hidden unless --verbose."""

from __future__ import annotations

import warnings

import pytest

from mmseg_beit.runtime import console


@pytest.mark.parametrize("verbose", [False, True])
def test_stack_deprecation_warnings_show_only_with_verbose(verbose, monkeypatch):
    from mmseg.models.builder import build_loss

    monkeypatch.setattr(console, "_verbose", False)  # restored after the test
    with warnings.catch_warnings(record=True) as caught:  # restores the filters too
        warnings.simplefilter("always")
        console.quiet_console(verbose)
        build_loss(dict(type="CrossEntropyLoss"))  # mmseg: deprecated call, avg_non_ignore
    shown = " ".join(str(w.message) for w in caught)
    assert ("``build_loss`` would be deprecated" in shown) == verbose
    assert ("Default ``avg_non_ignore`` is False" in shown) == verbose
