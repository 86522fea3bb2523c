"""Switching a model to its inference form, and the graphs that ONNX export traces.

* :func:`fuse_conv_bn` folds every eval-mode BatchNorm into the conv right before it: mmcv
  ``ConvModule`` (``conv`` then ``bn``: every YOLO11 block, the neck and the head),
  FasterNet's ``mlp.0``/``mlp.1``, ``PatchEmbed.proj``/``norm`` and
  ``PatchMerging.reduction``/``norm``. FasterNet's per-output norms (``norm0/2/4/6``) follow a
  residual add, not a conv, and stay.
* :func:`switch_to_deploy` fuses, then calls ``switch_to_deploy()`` on every module that
  defines it (FasterNet's PConv switches to ``slicing``), and moves the weights to
  channels_last (the fastest layout for CPU convolutions, measured). mmyolo's own util only reaches
  RepVGG blocks, and its benchmark's ``--fuse-conv-bn`` flag calls nothing for these models.
* :class:`RawOutputs` and :class:`End2End` are the two export graphs: the head outputs as
  they are, or decoded boxes with in-graph NMS (``num_dets, boxes, scores, labels``).
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def _fold(conv: nn.Conv2d, bn: _BatchNorm) -> None:
    """Fold ``bn`` (its running statistics) into ``conv``'s weight and bias, in place."""
    std = torch.sqrt(bn.running_var + bn.eps)
    scale = (bn.weight if bn.affine else torch.ones_like(std)) / std
    shift = bn.bias if bn.affine else torch.zeros_like(std)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(std)
    with torch.no_grad():
        conv.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + shift)


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm that directly follows a Conv2d among one module's children
    (the order they are registered in is the order they run in for ``nn.Sequential``,
    ``ConvModule`` with the default ``('conv', 'norm', 'act')`` and FasterNet's
    ``PatchEmbed``/``PatchMerging``); the BN becomes ``nn.Identity``. Unlike
    ``mmcv.cnn.fuse_conv_bn``, any other child in between breaks the pair, so a conv is only
    ever fused with the BN that reads its output. Call on an eval-mode model (running
    statistics). Returns the model; counts the fused pairs in ``model._fused_conv_bn``."""
    count = 0
    for module in list(model.modules()):
        order = getattr(module, 'order', ('conv', 'norm', 'act'))
        if tuple(order)[:2] != ('conv', 'norm'):
            continue  # a ConvModule that normalises before its conv
        prev = None
        for name, child in list(module.named_children()):
            if isinstance(child, _BatchNorm) and isinstance(prev, nn.Conv2d) \
                    and child.track_running_stats and prev.out_channels == child.num_features:
                _fold(prev, child)
                setattr(module, name, nn.Identity())
                count += 1
                prev = None
                continue
            prev = child
    model._fused_conv_bn = count
    return model


def switch_to_deploy(model: nn.Module, fuse_bn: bool = True,
                     channels_last: bool = True) -> nn.Module:
    """Eval mode, Conv+BN fusion (unless ``fuse_bn=False``, e.g. to count BN as FLOPs
    counters expect), ``switch_to_deploy()`` on every submodule that has it (PConv ->
    ``slicing``), once each, and the weights in channels_last (NHWC) memory format.

    channels_last because it is what made inference fast on CPU: oneDNN's convolutions run
    NHWC natively, and a conv whose weight is channels_last turns its NCHW input into NHWC
    once, at the first layer. Measured at 640, batch 1, 2 threads (the README's "Fast inference
    path"): fused YOLO11n 62.9 -> 54.2 ms, YOLO11n-FasterNet-lite 56.3 -> 47.8 ms. Outputs are the same
    numbers (only the layout of the intermediate tensors changes). Returns the model."""
    model.eval()
    if fuse_bn:
        fuse_conv_bn(model)
    for module in list(model.modules()):
        if module is not model and callable(getattr(module, 'switch_to_deploy', None)):
            module.switch_to_deploy()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def set_pconv_mode(model: nn.Module, forward_type: str) -> int:
    """Set every PConv's forward type (``split_cat`` or ``slicing``); returns how many."""
    count = 0
    for module in model.modules():
        if hasattr(module, 'forward_types') and hasattr(module, 'forward_type'):
            assert forward_type in module.forward_types, forward_type
            module.forward_type = forward_type
            count += 1
    return count


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
    ``scores`` (B, K), ``labels`` (B, K) int64 (-1 where padded), ``K = keep_top_k``.

    Multi-label, class-aware NMS like mmyolo's ``predict_by_feat`` with ``multi_label=True``
    (a box may be kept for several classes), then the ``keep_top_k`` best per image. The
    post-NMS part uses only ops whose sizes come from the tensors, so a dynamic batch works.
    """

    def __init__(self, detector: nn.Module, img_hw: Sequence[int], keep_top_k: int = 100,
                 iou_thr: float = 0.7, score_thr: float = 0.25):
        super().__init__()
        self.detector = detector
        self.keep_top_k, self.iou_thr, self.score_thr = keep_top_k, iou_thr, score_thr
        strides = detector.bbox_head.featmap_strides
        self.register_buffer('priors', make_priors(img_hw, strides), persistent=False)

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        cls_scores, bbox_preds = self.detector._forward(images)[:2]
        boxes, scores = decode(cls_scores, bbox_preds, self.priors)  # (B,N,4), (B,N,C)
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
