"""What a trained checkpoint says about its run, and whether it fits a model.

A checkpoint written by this project's training carries, besides its weights:

* ``meta.dataset_meta.classes``: the class names (mmengine saves the train set's metainfo);
* ``meta.cfg``: the config text, from which the training image size is read as a literal
  (``img_scale = (w, h)``; never executed);
* ``meta.best_f1_threshold``: the best-F1 confidence of its last validation
  (:class:`~fasternet_yolo11.engine.hooks.BestThresholdHook` writes it under
  :data:`BEST_F1_THRESHOLD`; the saved message hub holds it too).

:func:`read_checkpoint_meta` reads all three with one memory-mapped load, so the demos and the
exporter need neither a dataset nor a threshold flag. :func:`check_fits` compares a
checkpoint's tensor shapes with a model's before a run starts.
"""
import ast
import math
import re
from typing import NamedTuple, Optional, Tuple

import torch

from ..errors import CheckpointError
from .checkpoint_io import load_weights_only

BEST_F1_THRESHOLD = 'best_f1_threshold'


class CheckpointMeta(NamedTuple):
    class_names: Optional[Tuple[str, ...]]
    img_scale: Optional[Tuple[int, int]]
    best_f1_threshold: Optional[float]


def _assigned_literal(text, name):
    """``name = <literal>`` at the top level of a config text, read without running it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return None


def best_threshold_from_checkpoint(path_or_ckpt, default=None, meta_key=BEST_F1_THRESHOLD):
    """The best-F1 threshold a checkpoint stores, else ``default``.

    ``path_or_ckpt``: a checkpoint path (loaded weights-only), a loaded checkpoint dict, or its
    ``meta`` dict. Looks in ``meta`` first, then in the saved message hub's runtime info."""
    ckpt = path_or_ckpt
    if isinstance(ckpt, str):
        ckpt = load_weights_only(ckpt, map_location='cpu', mmap=True)
    if not isinstance(ckpt, dict):
        return default
    meta = ckpt.get('meta', ckpt)
    value = meta.get(meta_key) if isinstance(meta, dict) else None
    if value is None:
        hub = ckpt.get('message_hub')
        info = hub.get('runtime_info', {}) if isinstance(hub, dict) else {}
        value = info.get(meta_key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def read_checkpoint_meta(path_or_ckpt) -> CheckpointMeta:
    """Class names, training image size and best-F1 threshold of a checkpoint (a local path,
    loaded weights-only and memory-mapped, or a loaded dict); None where it does not say."""
    ckpt = path_or_ckpt
    if isinstance(ckpt, str):
        ckpt = load_weights_only(ckpt, map_location='cpu', mmap=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    scale = _assigned_literal(meta['cfg'], 'img_scale') if isinstance(meta.get('cfg'), str) else None
    if not (isinstance(scale, (tuple, list)) and len(scale) == 2
            and all(isinstance(s, int) for s in scale)):
        scale = None
    return CheckpointMeta(class_names=tuple(classes) if classes else None,
                          img_scale=tuple(scale) if scale else None,
                          best_f1_threshold=best_threshold_from_checkpoint(ckpt))


def _tensor_shapes(state):
    return {re.sub(r'^(module\.)+', '', k): tuple(v.shape) for k, v in state.items()
            if torch.is_tensor(v)}


def check_fits(model, path, what='checkpoint', strict=True) -> Optional[str]:
    """Compare a checkpoint's tensor shapes with ``model``'s before anything runs.

    Only the shapes are read (the file is memory-mapped). ``strict`` (resume, test): every model
    tensor must be in the checkpoint with its shape, else :class:`CheckpointError` names the
    first mismatched/missing keys. Not strict (``load_from``, e.g. a partial checkpoint):
    returns a one-line note of what keeps its initial values (None when all fits), but a
    checkpoint in which more than half of the model's tensors have other shapes, or none fits,
    is another architecture and an error.
    """
    from mmengine.model import is_model_wrapper
    model = model.module if is_model_wrapper(model) else model
    if '://' in str(path):
        return None  # remote: mmengine reads it; nothing to compare cheaply
    ckpt = load_weights_only(path, map_location='cpu', mmap=True)
    theirs = _tensor_shapes(ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {})
    ours = _tensor_shapes(model.state_dict())
    mismatched = [f'{k} {list(theirs[k])} in the file vs {list(v)} in the model'
                  for k, v in ours.items() if k in theirs and theirs[k] != v]
    missing = [k for k in ours if k not in theirs]
    if not mismatched and not missing:
        return None
    shown = mismatched[:3] + [f'{k} missing' for k in missing[:max(0, 3 - len(mismatched))]]
    summary = (f'{what} {path!r} does not fit the model of this config: {len(mismatched)} shape '
               f'mismatch(es), {len(missing)} missing of {len(ours)} tensors ({", ".join(shown)}, ...)')
    fitting = len(ours) - len(mismatched) - len(missing)
    if strict or len(mismatched) > len(ours) / 2 or fitting == 0:
        raise CheckpointError(summary + '; was it trained with another config?')
    return summary + '; those tensors keep their initial values'
