"""Distillation on a loaded config: ``tools/train.py --teacher TEACHER_CONFIG TEACHER_CKPT``, or a
config's own top-level ``teacher = dict(config=..., checkpoint=...)``.

:func:`apply_teacher` turns the config's model (the student) into a ``DistilledYOLODetector`` whose
teacher is the teacher config's model, with the run's class count (a teacher is trained on the
data it teaches), and adds the ``DistillationTeacherHook`` that loads the teacher's weights before
training. The distillation's own settings are the top-level ``distill`` dict:

* ``stop_epoch``: from this epoch on only the detection loss trains; ``-N`` counts from the end;
  None distils the whole run. Left out, distillation stops where mosaic does (``-close_mosaic_epochs``):
  the last epochs train on the true images and labels alone, as mmrazor's RTMDet recipes do;
* ``losses``: name -> loss config (``models/losses/distill_losses.py``; None: the model's
  default set, channel-wise distillation of the neck maps and dense score and box distillation
  of the head, each ``loss_weight`` 1).
"""
import copy
import os.path as osp

from ..errors import MissingFileError
from .derivation import _plain
from .loading import load_config

HOOK = 'DistillationTeacherHook'
STUDENT = 'DistilledYOLODetector'
# the keys a DistilledYOLODetector adds to a ChainedYOLODetector's
DISTILL_KEYS = ('teacher', 'teacher_checkpoint', 'losses', 'stop_epoch')


def plain_detector(model_cfg: dict) -> dict:
    """A model config without distillation: a ``DistilledYOLODetector`` becomes the
    ``ChainedYOLODetector`` it trains (what a distilled run's config is as a teacher)."""
    model_cfg = copy.deepcopy(_plain(model_cfg))
    if str(model_cfg.get('type', '')).split('.')[-1] == STUDENT:
        model_cfg['type'] = 'ChainedYOLODetector'
        for k in DISTILL_KEYS:
            model_cfg.pop(k, None)
    return model_cfg


def stop_epoch_of(value, max_epochs):
    """``distill.stop_epoch``: None, an epoch, or ``-N`` (N epochs before the end)."""
    if value is None or value >= 0 or max_epochs is None:
        return value
    return max(max_epochs + value, 0)


def apply_teacher(cfg, teacher_config: str, teacher_checkpoint: str) -> dict:
    """Distil ``cfg``'s model from the model of ``teacher_config`` loaded from ``teacher_checkpoint``
    (read when training starts), in place; returns the new model config.

    Raises:
        MissingFileError: ``teacher_config`` or ``teacher_checkpoint`` does not exist.
    """
    teacher_model = plain_detector(load_config(teacher_config).model)
    if not osp.isfile(str(teacher_checkpoint)):
        raise MissingFileError(f'teacher checkpoint not found: {teacher_checkpoint!r}')
    num_classes = cfg.get('num_classes')
    if num_classes is not None:
        def set_classes(d):
            if isinstance(d, dict):
                if 'num_classes' in d:
                    d['num_classes'] = num_classes
                for v in d.values():
                    set_classes(v)
        set_classes(teacher_model)
    distill = _plain(cfg.get('distill') or {})
    student = plain_detector(cfg.model)
    stop = distill['stop_epoch'] if 'stop_epoch' in distill else -(cfg.get('close_mosaic_epochs') or 0) or None
    student.update(type=STUDENT, teacher=teacher_model, teacher_checkpoint=str(teacher_checkpoint),
                   stop_epoch=stop_epoch_of(stop, cfg.get('max_epochs')))
    if distill.get('losses') is not None:
        student['losses'] = distill['losses']
    cfg.model = student
    cfg.teacher = dict(config=str(teacher_config), checkpoint=str(teacher_checkpoint))
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).split('.')[-1] == HOOK for h in hooks):
        hooks.append(dict(type=HOOK))
    cfg.custom_hooks = hooks
    return student
