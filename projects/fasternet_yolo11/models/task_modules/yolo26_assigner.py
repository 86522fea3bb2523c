"""The task-aligned assigner of Ultralytics 8.4 (YOLO26)."""
from typing import Optional

import torch
from mmyolo.models.task_modules.assigners import BatchTaskAlignedAssigner
from mmyolo.models.task_modules.assigners.utils import select_candidates_in_gts, select_highest_overlaps
from mmyolo.registry import TASK_UTILS
from torch import Tensor


@TASK_UTILS.register_module()
class YOLO26TaskAlignedAssigner(BatchTaskAlignedAssigner):
    """mmyolo's ``BatchTaskAlignedAssigner`` (TAL: top-k anchors by ``score^alpha * CIoU^beta``
    among those inside the box, conflicts to the highest overlap) with YOLO26's two options:

    * ``min_box_size`` (the second stride, 16): for the candidate test only, a box side shorter
      than it is widened to it about the centre, so that a small object still has anchor centres
      inside it; the overlaps, the metric and the targets use the box itself;
    * ``topk2`` (the one-to-one branch: 1): after the conflicts are resolved, each object keeps
      only its ``topk2`` best-aligned anchors, so one anchor per object learns to fire and the
      branch needs no NMS (an object whose anchors all went to others keeps none).

    Both off (None) it is mmyolo's assigner. Inputs and outputs are mmyolo's: boxes xyxy in pixels,
    ``priors`` (A, 4) with the anchor centres in pixels first; the result's boxes, scores and
    foreground mask are (B, A, 4), (B, A, nc) and (B, A).
    """

    def __init__(self, num_classes: int, topk: int = 13, alpha: float = 1.0, beta: float = 6.0,
                 eps: float = 1e-7, use_ciou: bool = False, topk2: Optional[int] = None,
                 min_box_size: Optional[float] = None):
        super().__init__(num_classes, topk, alpha, beta, eps, use_ciou)
        self.topk2 = topk2
        self.min_box_size = min_box_size

    def candidate_boxes(self, gt_bboxes: Tensor, pad_bbox_flag: Tensor) -> Tensor:
        """The boxes of the inside test: sides under ``min_box_size`` widened about the centre
        (real boxes only; padding rows stay zero). (B, G, 4) -> (B, G, 4)."""
        if not self.min_box_size:
            return gt_bboxes
        centre = (gt_bboxes[..., :2] + gt_bboxes[..., 2:]) / 2
        size = gt_bboxes[..., 2:] - gt_bboxes[..., :2]
        size = torch.where(size < self.min_box_size, torch.full_like(size, self.min_box_size), size)
        widened = torch.cat([centre - size / 2, centre + size / 2], -1)
        return torch.where(pad_bbox_flag.bool(), widened, gt_bboxes)

    def get_pos_mask(self, pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag,
                     batch_size, num_gt):
        alignment_metrics, overlaps = self.get_box_metrics(pred_bboxes, pred_scores, gt_labels, gt_bboxes,
                                                           batch_size, num_gt)
        is_in_gts = select_candidates_in_gts(priors, self.candidate_boxes(gt_bboxes, pad_bbox_flag))
        topk_metric = self.select_topk_candidates(
            alignment_metrics * is_in_gts, topk_mask=pad_bbox_flag.repeat([1, 1, self.topk]).bool())
        pos_mask = topk_metric * is_in_gts * pad_bbox_flag
        return pos_mask, alignment_metrics, overlaps

    @torch.no_grad()
    def forward(self, pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag) -> dict:
        if self.topk2 is None or self.topk2 >= self.topk:
            return super().forward(pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag)
        priors = priors[:, :2]
        batch_size, num_gt = pred_scores.size(0), gt_bboxes.size(1)
        result = dict(
            assigned_labels=gt_bboxes.new_full(pred_scores[..., 0].shape, self.num_classes),
            assigned_bboxes=gt_bboxes.new_full(pred_bboxes.shape, 0),
            assigned_scores=gt_bboxes.new_full(pred_scores.shape, 0),
            fg_mask_pre_prior=gt_bboxes.new_full(pred_scores[..., 0].shape, 0))
        if num_gt == 0:
            return result
        pos_mask, alignment_metrics, overlaps = self.get_pos_mask(
            pred_bboxes, pred_scores, priors, gt_labels, gt_bboxes, pad_bbox_flag, batch_size, num_gt)
        _, _, pos_mask = select_highest_overlaps(pos_mask, overlaps, num_gt)
        # each object's best topk2 anchors among those it kept
        kept = alignment_metrics * pos_mask
        best = kept.topk(self.topk2, dim=-1).indices  # (B, G, topk2)
        pos_mask = pos_mask * torch.zeros_like(pos_mask).scatter_(-1, best, 1.)
        fg_mask_pre_prior = pos_mask.sum(-2)
        assigned_gt_idxs = pos_mask.argmax(-2)
        labels, bboxes, scores = self.get_targets(gt_labels, gt_bboxes, assigned_gt_idxs, fg_mask_pre_prior,
                                                  batch_size, num_gt)
        alignment_metrics = alignment_metrics * pos_mask
        pos_align = alignment_metrics.max(-1, keepdim=True)[0]
        pos_overlaps = (overlaps * pos_mask).max(-1, keepdim=True)[0]
        norm = (alignment_metrics * pos_overlaps / (pos_align + self.eps)).max(-2)[0].unsqueeze(-1)
        result.update(assigned_labels=labels, assigned_bboxes=bboxes, assigned_scores=scores * norm,
                      fg_mask_pre_prior=fg_mask_pre_prior.bool())
        return result
