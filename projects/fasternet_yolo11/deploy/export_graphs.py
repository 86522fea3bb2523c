"""The graphs that ONNX export traces.

:class:`RawOutputs` gives the head outputs as they are; :class:`End2End` decodes the boxes and
post-processes them in the graph (``num_dets, boxes, scores, labels``): NMS for YOLO11's head, the
top-k of YOLO26's end-to-end head (no NonMaxSuppression node). :func:`make_priors` and
:func:`decode` are the decoding shared with the runtimes' post-processing of ``raw`` exports.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..models.dense_heads.yolo26_head import topk_detections


def is_nms_free(detector: nn.Module) -> bool:
    """Whether ``detector`` infers end to end (YOLO26's one-to-one branch): top-k, no NMS."""
    return bool(getattr(detector.bbox_head.head_module, 'end2end', False))


class RawOutputs(nn.Module):
    """Detector body up to the head outputs.

    Input ``images`` (B, 3, H, W): the normalised tensor the data preprocessor makes.
    Outputs: per level class logits (B, nc, H_i, W_i), then per level box distances
    (B, 4, H_i, W_i) in grid units (left, top, right, bottom), levels by stride 8/16/32.
    """

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        cls_scores, bbox_preds = self.detector._forward(images)[:2]
        return (*cls_scores, *bbox_preds)


def make_priors(img_hw: Sequence[int], strides: Sequence[int]) -> Tensor:
    """Anchor points (N, 3): ``x, y`` cell centres in input pixels and the stride, levels
    concatenated in the head's order (mmdet's ``MlvlPointGenerator`` with offset 0.5)."""
    out = []
    for s in strides:
        h, w = -(-img_hw[0] // s), -(-img_hw[1] // s)
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
        pts = torch.stack([(xs.flatten() + 0.5) * s, (ys.flatten() + 0.5) * s,
                           torch.full((h * w,), float(s))], 1)
        out.append(pts)
    return torch.cat(out).float()


def decode(cls_scores: List[Tensor], bbox_preds: List[Tensor],
           priors: Tensor) -> Tuple[Tensor, Tensor]:
    """Head outputs -> boxes (B, N, 4) xyxy in input pixels and scores (B, N, nc) after
    sigmoid, as ``YOLOv8Head.predict_by_feat`` computes them before NMS."""
    scores = torch.cat([c.flatten(2) for c in cls_scores], 2).transpose(1, 2).sigmoid()
    dist = torch.cat([b.flatten(2) for b in bbox_preds], 2).transpose(1, 2)
    dist = dist * priors[None, :, 2:3]
    xy = priors[None, :, :2]
    boxes = torch.cat([xy - dist[..., :2], xy + dist[..., 2:]], -1)
    return boxes, scores


class _NMS(torch.autograd.Function):
    """Per-class NMS with ONNX ``NonMaxSuppression``'s contract: boxes (B, N, 4) xyxy,
    scores (B, C, N) -> selected (K, 3) int64 rows ``[batch, class, box]``, at most
    ``max_per_class`` per (batch, class), candidates ``score > score_thr``, suppressed at
    ``IoU > iou_thr``. Eager mode runs mmcv's NMS; export emits the ONNX op, so that the
    PyTorch and the ONNX Runtime graphs select the same boxes."""

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class: int, iou_thr: float, score_thr: float):
        from mmcv.ops import nms
        rows = []
        for b in range(scores.shape[0]):
            for c in range(scores.shape[1]):
                idx = torch.nonzero(scores[b, c] > score_thr).flatten()
                if idx.numel() == 0:
                    continue
                _, keep = nms(boxes[b, idx], scores[b, c, idx], iou_thr)
                keep = idx[keep[:max_per_class]]
                rows.append(torch.stack([torch.full_like(keep, b), torch.full_like(keep, c),
                                         keep], 1))
        if not rows:
            return torch.zeros((0, 3), dtype=torch.long)
        return torch.cat(rows).long()

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou_thr, score_thr):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_thr], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_thr], dtype=torch.float)),
                    center_point_box_i=0)


class End2End(nn.Module):
    """Images -> ``num_dets`` (B, 1) int64, ``boxes`` (B, K, 4) xyxy input pixels,
    ``scores`` (B, K), ``labels`` (B, K) int64 (-1 where padded), ``K = keep_top_k`` (an
    end-to-end head: at most the number of anchors).

    YOLO11's head: multi-label, class-aware NMS like mmyolo's ``predict_by_feat`` with
    ``multi_label=True`` (a box may be kept for several classes), then the ``keep_top_k`` best
    per image. The post-NMS part uses only ops whose sizes come from the tensors, so a dynamic
    batch works. YOLO26's end-to-end head (:func:`is_nms_free`): the head's own
    :func:`~fasternet_yolo11.models.dense_heads.yolo26_head.topk_detections`, kept above
    ``score_thr``; ``iou_thr`` is unused.
    """

    def __init__(self, detector: nn.Module, img_hw: Sequence[int], keep_top_k: int = 100,
                 iou_thr: float = 0.7, score_thr: float = 0.25):
        super().__init__()
        self.detector = detector
        self.keep_top_k, self.iou_thr, self.score_thr = keep_top_k, iou_thr, score_thr
        strides = detector.bbox_head.featmap_strides
        self.register_buffer('priors', make_priors(img_hw, strides), persistent=False)
        self.nms_free = is_nms_free(detector)

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        cls_scores, bbox_preds = self.detector._forward(images)[:2]
        boxes, scores = decode(cls_scores, bbox_preds, self.priors)  # (B,N,4), (B,N,C)
        if self.nms_free:
            return self.top_k(boxes, scores)
        k = self.keep_top_k
        sel = _NMS.apply(boxes, scores.transpose(1, 2).contiguous(), k, self.iou_thr,
                         self.score_thr)  # (K, 3)
        b, c, i = sel[:, 0], sel[:, 1], sel[:, 2]
        sel_scores = scores[b, i, c]  # (K,)
        # (B, K) table of each image's selected scores (-1 elsewhere), padded by k columns
        # so that top-k of k always exists; batch indices come from the tensor, not a size.
        batch_ids = torch.cumsum(torch.ones_like(scores[:, 0, 0]), 0) - 1  # (B,)
        mine = b[None, :].to(batch_ids.dtype) == batch_ids[:, None]
        table = torch.where(mine, sel_scores[None, :], -torch.ones_like(sel_scores[None, :]))
        pad = -torch.ones_like(scores[:, 0, :1]).repeat(1, k)
        top_scores, col = torch.cat([table, pad], 1).topk(k, dim=1)  # (B, k)
        sel_pad = torch.cat([sel, torch.zeros((k, 3), dtype=sel.dtype)], 0)
        chosen = sel_pad[col]  # (B, k, 3)
        valid = top_scores > -0.5
        out_boxes = torch.gather(boxes, 1, chosen[..., 2:3].expand(-1, -1, 4))
        out_boxes = torch.where(valid[..., None], out_boxes, torch.zeros_like(out_boxes))
        out_scores = torch.where(valid, top_scores, torch.zeros_like(top_scores))
        labels = torch.where(valid, chosen[..., 1], -torch.ones_like(chosen[..., 1]))
        num_dets = valid.long().sum(1, keepdim=True)
        return num_dets, out_boxes, out_scores, labels

    def top_k(self, boxes: Tensor, scores: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The end-to-end head's post-processing: the best pairs, best first, zero/-1 past the
        score threshold."""
        boxes, scores, labels = topk_detections(boxes, scores, min(self.keep_top_k, boxes.shape[1]))
        valid = scores > self.score_thr
        out_boxes = torch.where(valid[..., None], boxes, torch.zeros_like(boxes))
        out_scores = torch.where(valid, scores, torch.zeros_like(scores))
        labels = torch.where(valid, labels, -torch.ones_like(labels))
        return valid.long().sum(1, keepdim=True), out_boxes, out_scores, labels
