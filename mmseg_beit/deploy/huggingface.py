"""Writes a trained segmentor as a transformers model folder (``from_pretrained``, pipelines).

The folder holds ``config.json`` (``BeitForSemanticSegmentation``, this package's config under
``mmseg_beit``), ``model.safetensors``, ``preprocessor_config.json`` (``BeitImageProcessor``) and
a ``README.md`` model card. Everything is checked before anything is written: the parts and
options (:mod:`.huggingface_config`), the key mapping, and transformers' logits against this
package's on one input. The folder is written beside ``out_dir`` and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

from mmseg_beit.apis.inference import load_segmentor
from mmseg_beit.checkpoint import load_file
from mmseg_beit.checkpoint.hf_export import EXPORT_KEY, to_huggingface
from mmseg_beit.deploy.huggingface_config import NotExpressible, beit_config, processor_config
from mmseg_beit.deploy.model_card import logged_miou, model_card
from mmseg_beit.utils.io import process_umask

TOLERANCE = 1e-3  # of the logits' largest magnitude: fp32, different attention kernels


def _transformers():
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "the huggingface format needs transformers: pip install transformers"
        ) from None
    return transformers


def _check_output(out: Path, checkpoint: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"{out}: folder exists and is not empty (--force replaces it)")
    if checkpoint.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"{out}: holds the input {checkpoint}; choose another folder")


@contextlib.contextmanager
def _atomic_dir(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out``, renamed to ``out`` on success (replacing it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~process_umask())
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "replaced")
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _json_meta(dataset_meta: dict) -> dict:
    """Class names and palette as JSON values (palettes may be arrays or tuples)."""
    palette = dataset_meta.get("palette")
    return {
        "classes": [str(c) for c in dataset_meta.get("classes") or []],
        "palette": [[int(v) for v in c] for c in palette] if palette is not None else None,
    }


def _check_logits(segmentor: torch.nn.Module, hf: torch.nn.Module, side: int) -> None:
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = segmentor.decode_head(segmentor.extract_feat(x))
        theirs = hf(pixel_values=x).logits
    diff = (ours - theirs).abs().max().item()
    if diff > TOLERANCE * max(1.0, ours.abs().max().item()):
        raise NotExpressible(
            f"transformers' model gives other logits than this one (max difference {diff:.3g})"
        )


def export_huggingface(
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    force: bool = False,
    config: str | os.PathLike | None = None,
) -> Path:
    """Exports a training checkpoint (it carries its config) to a transformers model folder.

    Args:
        checkpoint: A checkpoint written by training or ``mmseg-beit convert``.
        out_dir: The folder to write; it must not exist or be empty unless ``force``.
        force: Replace a non-empty ``out_dir`` (only once the new folder is complete).
        config: The model's config, for a checkpoint that does not carry one.

    Returns:
        ``out_dir``.

    Raises:
        NotExpressible: transformers cannot express the model (every reason named).
        ValueError: A bad output folder.
        CheckpointError: Unreadable checkpoint.
    """
    transformers = _transformers()
    checkpoint, out = Path(checkpoint), Path(out_dir)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint")
    _check_output(out, checkpoint, force)
    raw = load_file(checkpoint)
    model = load_segmentor(config or checkpoint, checkpoint, device="cpu", precision="fp32")
    segmentor = getattr(model, "module", model)  # a multi-scale (*_ms) model wraps it
    classes = list(model.dataset_meta.get("classes") or [])
    hf_args, num_layers = beit_config(segmentor, model.cfg, classes)
    processor = processor_config(segmentor, model.cfg)
    meta = raw.get("meta", {}) if isinstance(raw, dict) else {}
    hf_args[EXPORT_KEY] = dict(
        num_layers=num_layers,
        out_indices=list(segmentor.backbone.out_indices),
        cfg=meta["cfg"] if config is None and "cfg" in meta else model.cfg.pretty_text,
        dataset_meta=_json_meta(model.dataset_meta),
        checkpoint=checkpoint.name,
    )
    hf_config = transformers.BeitConfig(**hf_args)
    with torch.device("meta"):
        hf = transformers.BeitForSemanticSegmentation(hf_config)
    weights = to_huggingface(segmentor.state_dict(), hf.state_dict(), num_layers)
    hf.load_state_dict(weights, strict=True, assign=True)
    hf.eval()
    _check_logits(segmentor, hf, processor["size"]["height"])
    card = model_card(checkpoint, out, hf_args, processor, logged_miou(raw), meta)
    with _atomic_dir(out) as tmp:
        hf.save_pretrained(tmp)
        transformers.BeitImageProcessor(**processor).save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
        for path in tmp.iterdir():  # transformers writes some files 0600
            os.chmod(path, 0o666 & ~process_umask())
    return out
