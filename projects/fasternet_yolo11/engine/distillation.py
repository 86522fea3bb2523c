"""The distillation teacher: built from its model config and loaded from its weights, whole."""
from typing import Tuple

import torch
from mmyolo.registry import MODELS
from torch import nn

from ..errors import CheckpointError
from ..models.deploy_form import fuse_conv_bn
from .weight_transfer import read_weights


def teacher_state_dict(model: nn.Module, path: str) -> Tuple[dict, str]:
    """The tensors of ``path`` for every key of ``model`` (a detector), and the file's kind
    (``detector`` or ``ultralytics``: :func:`~fasternet_yolo11.engine.weight_transfer.read_weights`).

    Raises:
        MissingFileError, CheckpointError: one line naming the file; a teacher must load whole,
        so a key that is missing or of another shape (another class count, another scale) is an
        error, unlike ``--weights``.
    """
    source = read_weights(path, 'teacher weights')
    want = model.state_dict()
    missing = [k for k in want if k not in source.state_dict]
    wrong = [k for k in want if k in source.state_dict and source.state_dict[k].shape != want[k].shape]
    if missing or wrong:
        def some(keys):
            return ', '.join(keys[:3]) + (f' (+{len(keys) - 3} more)' if len(keys) > 3 else '')
        logits = 'bbox_head.head_module.cls_preds.0.2.weight'
        hint = ''
        if logits in wrong:
            hint = (f'; it has {source.state_dict[logits].shape[0]} classes, the run {want[logits].shape[0]}: '
                    'fine-tune the teacher on this data first')
        raise CheckpointError(
            f'teacher weights {path!r} do not fit the teacher config: '
            + '; '.join(part for part in (f'{len(missing)} tensors missing ({some(missing)})' if missing else '',
                                          f'{len(wrong)} of another shape ({some(wrong)})' if wrong else '')
                        if part) + hint)
    return {k: source.state_dict[k] for k in want}, source.kind


def build_teacher(model_cfg: dict, checkpoint: str) -> nn.Module:
    """The teacher detector of ``model_cfg`` with every tensor from ``checkpoint``, in eval mode,
    BatchNorm folded into its convs (same outputs, less time; it never trains)."""
    if not checkpoint:
        raise CheckpointError('a distillation teacher needs its weights: teacher_checkpoint is not set')
    teacher = MODELS.build(model_cfg)
    state, _ = teacher_state_dict(teacher, checkpoint)
    teacher.load_state_dict(state, strict=True)
    teacher.eval()
    with torch.no_grad():
        fuse_conv_bn(teacher)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
