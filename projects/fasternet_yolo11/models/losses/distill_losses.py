"""Distillation losses: what a frozen teacher's outputs ask of a student's, on the same batch.

Each loss is one registered class that reads one *record* of both models (``record``): ``'neck'``
(the neck's per-level maps, the student's through its alignment conv) or ``'head'`` (per branch,
the class logits and the box distances of every level, :func:`head_branches`). Every loss is zero
when the student's outputs equal the teacher's, and is summed over the batch and multiplied by the
number of images, as the detection losses of the YOLO heads are (Ultralytics' convention), so
that a ``loss_weight`` of 1 weighs a term like one of the head's.
"""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmyolo.registry import MODELS
from torch import Tensor, nn

Branches = Dict[str, Tuple[List[Tensor], List[Tensor]]]


def head_branches(outputs: Sequence) -> Branches:
    """A YOLO11/YOLO26 head module's training forward (``cls, bbox, dist`` per level, then with a
    one-to-one branch the same three again) as ``{'one2many': (cls, bbox), 'one2one': ...}``:
    class logits (B, nc, H_i, W_i) and box distances (B, 4, H_i, W_i) in grid units per level."""
    branches = {'one2many': (list(outputs[0]), list(outputs[1]))}
    if len(outputs) == 6:
        branches['one2one'] = (list(outputs[3]), list(outputs[4]))
    return branches


def pair_branches(student: Branches, teacher: Branches):
    """(student branch, teacher branch) pairs: each student branch with the teacher's of the same
    name, else the teacher's one-to-many branch (a YOLO11 teacher of a YOLO26 student)."""
    return [(student[name], teacher.get(name, teacher['one2many'])) for name in student]


def _flat(maps: Sequence[Tensor]) -> Tensor:
    """Per-level maps (B, C, H_i, W_i) -> (B, sum H_i*W_i, C)."""
    return torch.cat([m.flatten(2) for m in maps], 2).transpose(1, 2)


@MODELS.register_module()
class ChannelWiseDivergence(nn.Module):
    """Channel-wise distillation (Shu et al., ICCV 2021; mmrazor's ``ChannelWiseDivergence``):
    each channel of a map becomes a distribution over its H*W positions (softmax at temperature
    ``tau``), and the student's is pulled to the teacher's by KL(teacher || student) * tau^2,
    averaged over channels. It asks *where* each channel responds, not how strongly, so student
    and teacher need not share feature scales; widths are matched by the student's alignment conv.

    Inputs: per-level lists of (B, C, H_i, W_i), student (aligned) and teacher, same shapes.
    """
    record = 'neck'

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor]) -> Tensor:
        total = 0
        for s, t in zip(student, teacher):
            assert s.shape == t.shape, f'student map {tuple(s.shape)} vs teacher map {tuple(t.shape)}'
            b, c = s.shape[:2]
            s_log = F.log_softmax(s.flatten(2) / self.tau, dim=2)
            t_log = F.log_softmax(t.flatten(2) / self.tau, dim=2)
            kl = (t_log.exp() * (t_log - s_log)).sum(2)  # (B, C)
            total = total + kl.sum() / c * self.tau**2
        return self.loss_weight * total


def binary_kl(student_logits: Tensor, teacher_logits: Tensor, tau: float = 1.0) -> Tensor:
    """Elementwise KL between Bernoulli(sigmoid(teacher / tau)) and Bernoulli(sigmoid(student /
    tau)): a sigmoid class score's soft target; 0 where the logits agree."""
    s, t = student_logits / tau, teacher_logits / tau
    p = torch.sigmoid(t)
    return p * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - p) * (F.logsigmoid(-t) - F.logsigmoid(-s))


@MODELS.register_module()
class ScoreDistillLoss(nn.Module):
    """Dense class-score distillation: binary KL (:func:`binary_kl`) between the teacher's and the
    student's sigmoid scores at every anchor and class, divided by the sum of the teacher's best
    class score per anchor (so a loss per "teacher object", as the head divides by its assigned
    score sum), times the batch size. The teacher's background anchors count too: they teach
    the student where there is nothing.

    Inputs: branches (:func:`head_branches`) of student and teacher; the teacher's are detached.
    """
    record = 'head'

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Branches, teacher: Branches) -> Tensor:
        total = 0
        for (s_cls, _), (t_cls, _) in pair_branches(student, teacher):
            s, t = _flat(s_cls), _flat(t_cls)  # (B, A, nc)
            assert s.shape == t.shape, f'student scores {tuple(s.shape)} vs teacher scores {tuple(t.shape)}'
            norm = t.sigmoid().amax(-1).sum().clamp(min=1)
            total = total + binary_kl(s, t, self.tau).sum() / norm * s.shape[0] * self.tau**2
        return self.loss_weight * total


@MODELS.register_module()
class BoxDistillLoss(nn.Module):
    """Dense box distillation: L1 between the student's and the teacher's ltrb distances (grid
    units, so every level weighs alike) at every anchor, weighted by the teacher's best class
    score there (its boxes matter where it sees an object), divided by the sum of those weights,
    times the batch size. A DFL teacher (YOLO11) gives its expected distances, so it can teach a
    ``reg_max=1`` student (YOLO26) and back.

    Inputs: branches (:func:`head_branches`) of student and teacher.
    """
    record = 'head'

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Branches, teacher: Branches) -> Tensor:
        total = 0
        for (_, s_box), (t_cls, t_box) in pair_branches(student, teacher):
            s, t = _flat(s_box), _flat(t_box)  # (B, A, 4)
            assert s.shape == t.shape, f'student boxes {tuple(s.shape)} vs teacher boxes {tuple(t.shape)}'
            weight = _flat(t_cls).sigmoid().amax(-1, keepdim=True)  # (B, A, 1)
            total = total + ((s - t).abs() * weight).sum() / weight.sum().clamp(min=1) * s.shape[0]
        return self.loss_weight * total
