"""A student detector trained with a frozen teacher's outputs on the same batch (knowledge distillation)."""
import contextlib
from typing import Dict, List, Optional, Union

import torch
from mmdet.utils import ConfigType
from mmengine.config import ConfigDict
from mmengine.dist import get_dist_info
from mmengine.logging import MessageHub
from mmyolo.registry import MODELS
from torch import Tensor, nn

from ..losses.distill_losses import head_branches
from .chained_yolo_detector import ChainedYOLODetector

DEFAULT_LOSSES = dict(
    neck_cwd=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=1.0),
    head_score=dict(type='ScoreDistillLoss', tau=1.0, loss_weight=1.0),
    head_box=dict(type='BoxDistillLoss', loss_weight=1.0))


@contextlib.contextmanager
def record_output(module: nn.Module):
    """Record what ``module`` returns while the block runs (a forward hook, removed after):
    ``with record_output(model.neck) as rec: ...; rec['output']``. mmrazor's
    ``ModuleOutputsRecorder`` in a few lines."""
    record = {}
    handle = module.register_forward_hook(lambda m, args, out: record.__setitem__('output', out))
    try:
        yield record
    finally:
        handle.remove()


@MODELS.register_module()
class DistilledYOLODetector(ChainedYOLODetector):
    """A :class:`ChainedYOLODetector` (the student) whose training loss adds distillation terms
    from a frozen teacher run on the same batch; prediction, export and the state dict are the
    student's (plus the alignment convs, which the deploy form drops).

    The mechanism is mmrazor's (``SingleTeacherDistill``) cut to this family: the *records* are
    the neck's per-level maps and the head's branch outputs of both models; each configured loss
    (``losses``: name -> a loss of :mod:`~fasternet_yolo11.models.losses.distill_losses`) reads
    the record its class names. Where the student's neck widths differ from the teacher's, a 1x1
    conv per level (``distill_align``) maps the student's maps to the teacher's widths before a
    neck loss; it only exists for training.

    The teacher is *not* a submodule: it is absent from the state dict, the optimizer, the EMA
    copy and every export. It is built and loaded by ``DistillationTeacherHook`` (the engine reads
    ``teacher_checkpoint``: our checkpoints, converted or Ultralytics ``.pt`` weights) and given
    here by :meth:`set_teacher`, frozen in eval mode. A loss without a teacher raises.

    Args:
        teacher (dict): the teacher's model config (same class count as the student's).
        teacher_checkpoint (str): the teacher's weights, read by the engine's hook.
        losses (dict): name -> loss config; the log shows ``loss_distill_<name>``.
        stop_epoch (int, optional): from this (0-based) epoch on, the teacher no longer runs and
            only the detection loss trains (e.g. the last epochs, on the un-mosaicked images).
        **kwargs: those of :class:`ChainedYOLODetector`.
    """

    def __init__(self, *, teacher: ConfigType, teacher_checkpoint: Optional[str] = None,
                 losses: Optional[Dict[str, ConfigType]] = None, stop_epoch: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.teacher_cfg = ConfigDict(teacher)
        self.teacher_checkpoint = teacher_checkpoint
        self.stop_epoch = stop_epoch
        losses = DEFAULT_LOSSES if losses is None else losses
        self.distill_losses = nn.ModuleDict({name: MODELS.build(cfg) for name, cfg in losses.items()})
        for name, loss in self.distill_losses.items():
            if getattr(loss, 'record', None) not in ('neck', 'head'):
                raise ValueError(f'distillation loss {name!r} ({type(loss).__name__}) reads no record: '
                                 "its class needs record = 'neck' or 'head'")
        with torch.device('meta'):  # the teacher's neck widths, without building its weights
            teacher_widths = list(MODELS.build(self.teacher_cfg).neck.out_channels)
        student_widths = list(self.neck.out_channels)
        if len(teacher_widths) != len(student_widths):
            raise ValueError(f'the teacher neck has {len(teacher_widths)} levels, the student {len(student_widths)}')
        self.distill_align = nn.ModuleList(
            nn.Identity() if s == t else nn.Conv2d(s, t, 1) for s, t in zip(student_widths, teacher_widths))
        self._teacher: List[nn.Module] = []  # a list, so that nn.Module does not register it

    @property
    def teacher(self) -> Optional[nn.Module]:
        return self._teacher[0] if self._teacher else None

    def set_teacher(self, teacher: nn.Module) -> None:
        """Use ``teacher`` (a built, loaded detector): frozen, in eval mode, on the student's
        device."""
        device = next(self.parameters()).device
        teacher = teacher.to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        self._teacher[:] = [teacher]

    def distilling(self) -> bool:
        """Whether this training step distils (before ``stop_epoch``)."""
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return self.stop_epoch is None or epoch < self.stop_epoch

    def loss(self, batch_inputs: Tensor, batch_data_samples: Union[list, dict]) -> dict:
        """The student's detection losses, plus ``loss_distill_<name>`` per distillation loss
        while :meth:`distilling`."""
        if not self.distilling() or not len(self.distill_losses):
            return super().loss(batch_inputs, batch_data_samples)
        if self.teacher is None:
            raise RuntimeError('DistilledYOLODetector has no teacher: DistillationTeacherHook builds it from '
                               f'{self.teacher_checkpoint!r} before training (or call set_teacher)')
        feats = self.extract_feat(batch_inputs)
        with record_output(self.bbox_head.head_module) as head:
            losses = self.bbox_head.loss(feats, batch_data_samples)
        with torch.no_grad():
            t_feats = self.teacher.extract_feat(batch_inputs)
            t_head = self.teacher.bbox_head.head_module.branch_outputs(t_feats)
        student = dict(neck=[align(f) for align, f in zip(self.distill_align, feats)],
                       head=head_branches(head['output']))
        teacher = dict(neck=list(t_feats), head=t_head)
        world_size = get_dist_info()[1]  # the heads' convention: DDP averages the gradients
        for name, loss in self.distill_losses.items():
            losses[f'loss_distill_{name}'] = loss(student[loss.record], teacher[loss.record]) * world_size
        return losses

    def drop_training_branches(self) -> None:
        """The deploy form has no alignment convs (and never a teacher)."""
        if hasattr(self, 'distill_align'):
            del self.distill_align
        self._teacher.clear()
