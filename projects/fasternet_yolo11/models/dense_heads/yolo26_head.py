"""The YOLO26 detection head: two branches, one loss each, and NMS-free inference (Ultralytics 8.4)."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import ConfigDict
from mmengine.dist import get_dist_info
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from mmyolo.models.utils import gt_instances_preprocess
from mmyolo.registry import MODELS, TASK_UTILS
from torch import Tensor

from .yolo11_head import YOLO11Head

# the weight of the one-to-many branch's loss: at the first epoch and at the last
ONE2MANY_WEIGHT = (0.8, 0.1)


def branch_weights(epoch: int, max_epochs: int) -> Tuple[float, float]:
    """(one-to-many, one-to-one) loss weights of a 0-based ``epoch``: 0.8 / 0.2 at the first,
    moving linearly to 0.1 / 0.9 at the last, Ultralytics' ``E2ELoss`` schedule. The
    one-to-many branch shapes the shared features early; the one-to-one branch, which is what
    inference runs, gets most of the weight by the end."""
    first, last = ONE2MANY_WEIGHT
    progress = min(epoch / max(max_epochs - 1, 1), 1.0)
    one2many = (1 - progress) * (first - last) + last
    return one2many, max(1 - one2many, 0.0)


def topk_detections(boxes: Tensor, scores: Tensor, k: int) -> Tuple[Tensor, Tensor, Tensor]:
    """YOLO26's end-to-end post-processing, the one rule the head's ``predict`` and the exported
    graph both run: the ``k`` best (anchor, class) pairs of each image, best first, no NMS (one
    anchor may appear with several classes). The score threshold is left to the caller.

    ``boxes`` (B, A, 4), ``scores`` (B, A, nc) after sigmoid -> boxes (B, k, 4), scores (B, k),
    labels (B, k) int64, with ``k <= A`` (Ultralytics keeps ``min(max_det, A)``). Equal, up to
    ties, to Ultralytics' two-step top-k (the k anchors with the best class score, then the k best
    pairs among them): a pair of the overall top k always has its anchor among the top k."""
    num_classes = scores.shape[-1]
    top_scores, index = scores.flatten(1).topk(k, dim=1)
    anchor = torch.div(index, num_classes, rounding_mode='floor')
    labels = index - anchor * num_classes
    top_boxes = torch.gather(boxes, 1, anchor[..., None].expand(-1, -1, 4))
    return top_boxes, top_scores, labels


@MODELS.register_module()
class YOLO26Head(YOLO11Head):
    """YOLO26's dense head: :class:`YOLO11HeadModule` with ``reg_max=1`` and ``one2one=True``.

    **Loss** (Ultralytics' ``E2ELoss``): each branch has YOLO11's loss, less the DFL: BCE on the
    classes (x 0.5), CIoU (x 7.5) and, in its place, L1 on the ltrb distances in pixels divided
    by the image width (l, r) or height (t, b) (``loss_l1``, x 1.5), both weighted by the
    anchor's target score; the one-to-many branch is assigned by TAL with ``topk=10``
    (``train_cfg.assigner``), the one-to-one branch with ``topk=7`` then one anchor per object
    (``train_cfg.one2one_assigner``), both with the small-box rule. The branch losses are summed
    with :func:`branch_weights` of the run's epoch; each returned term is that weighted sum, so
    their total is what is back-propagated.

    **Inference** (``test_cfg.end2end``, default True): the one-to-one branch, boxes decoded to
    xyxy, :func:`topk_detections` with ``k = min(max_per_img, anchors)``, kept above
    ``score_thr``: no NMS, so no IoU threshold. ``end2end=False`` runs the one-to-many branch
    with YOLO11's multi-label NMS instead.
    """

    def __init__(self, head_module, loss_l1=dict(type='mmdet.L1Loss', reduction='sum', loss_weight=1.5),
                 loss_dfl=None, **kwargs):
        super().__init__(head_module, **kwargs)
        self.loss_dfl = None
        self.loss_l1 = MODELS.build(loss_l1)
        self.head_module.end2end = bool((self.test_cfg or {}).get('end2end', True))

    def special_init(self):
        super().special_init()
        if self.train_cfg:  # its class count is the head's (the config derives the other assigner's)
            self.one2one_assigner = TASK_UTILS.build(
                dict(self.train_cfg.one2one_assigner, num_classes=self.num_classes))

    # ------------------------------------------------------------------ loss
    def loss_by_feat(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                     bbox_dist_preds: Sequence[Tensor], one2one_cls_scores: Sequence[Tensor],
                     one2one_bbox_preds: Sequence[Tensor], one2one_bbox_dist_preds: Sequence[Tensor],
                     batch_gt_instances, batch_img_metas: Sequence[dict], batch_gt_instances_ignore=None) -> dict:
        """The weighted sum of both branches' losses (see the class docstring); ``*_dist_preds``
        are the distances again (``reg_max=1``) and unused."""
        num_imgs = len(batch_img_metas)
        self._priors(cls_scores)
        gt_info = gt_instances_preprocess(batch_gt_instances, num_imgs)
        gt = (gt_info[:, :, :1], gt_info[:, :, 1:], (gt_info[:, :, 1:].sum(-1, keepdim=True) > 0).float())
        img_wh = [s * self.featmap_strides[0] for s in cls_scores[0].shape[2:][::-1]]
        one2many = self.branch_loss(cls_scores, bbox_preds, self.assigner, gt, img_wh)
        one2one = self.branch_loss(one2one_cls_scores, one2one_bbox_preds, self.one2one_assigner, gt, img_wh)
        hub = MessageHub.get_current_instance()
        w_many, w_one = branch_weights(hub.get_info('epoch', 0), hub.get_info('max_epochs', 1))
        scale = num_imgs * get_dist_info()[1]
        return {k: (w_many * one2many[k] + w_one * one2one[k]) * scale for k in one2many}

    def _priors(self, cls_scores):
        sizes = [c.shape[2:] for c in cls_scores]
        if sizes != self.featmap_sizes_train:
            self.featmap_sizes_train = sizes
            priors = self.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                                      device=cls_scores[0].device, with_stride=True)
            self.flatten_priors_train = torch.cat(priors, dim=0)
            self.stride_tensor = self.flatten_priors_train[..., [2]]

    def branch_loss(self, cls_scores, bbox_preds, assigner, gt, img_wh) -> dict:
        """One branch's ``loss_cls``, ``loss_bbox`` and ``loss_l1`` (per image, before the batch
        scale). ``gt``: labels (B, G, 1), boxes (B, G, 4) xyxy pixels, valid flags (B, G, 1)."""
        gt_labels, gt_bboxes, pad_bbox_flag = gt
        num_imgs = cls_scores[0].shape[0]
        cls = torch.cat([c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_classes) for c in cls_scores], 1)
        dist = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds], 1)  # grid units
        priors, stride = self.flatten_priors_train, self.stride_tensor
        boxes = self.bbox_coder.decode(priors[..., :2], dist, stride[..., 0])  # xyxy pixels
        assigned = assigner(boxes.detach().type(gt_bboxes.dtype), cls.detach().sigmoid(), priors, gt_labels,
                            gt_bboxes, pad_bbox_flag)
        target_scores, fg = assigned['assigned_scores'], assigned['fg_mask_pre_prior']
        score_sum = target_scores.sum().clamp(min=1)
        loss_cls = self.loss_cls(cls, target_scores).sum() / score_sum
        if not fg.any():
            zero = dist.sum() * 0
            return dict(loss_cls=loss_cls, loss_bbox=zero, loss_l1=zero)
        weight = target_scores.sum(-1)[fg][:, None]  # (N, 1)
        strides = stride.expand(num_imgs, -1, -1)[fg]  # (N, 1)
        targets = assigned['assigned_bboxes'][fg]  # (N, 4) xyxy pixels
        loss_bbox = self.loss_bbox(boxes[fg] / strides, targets / strides, weight=weight) / score_sum
        centres = priors[None, :, :2].expand(num_imgs, -1, -1)[fg]
        target_ltrb = torch.cat([centres - targets[:, :2], targets[:, 2:] - centres], 1)  # pixels, unclamped
        size = dist.new_tensor(img_wh).repeat(2)  # (W, H, W, H)
        loss_l1 = self.loss_l1(dist[fg] * strides / size, target_ltrb / size, weight=(weight / 4).expand(-1, 4))
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_l1=loss_l1 / score_sum)

    # ------------------------------------------------------------------ inference
    def predict_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                        objectnesses: Optional[List[Tensor]] = None, batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None, rescale: bool = True,
                        with_nms: bool = True) -> List[InstanceData]:
        """End-to-end: :func:`topk_detections` of the one-to-one branch above ``score_thr``, in
        original-image pixels (``rescale``), clipped to the image; else YOLO11's NMS path."""
        if not self.head_module.end2end:
            return super().predict_by_feat(cls_scores, bbox_preds, objectnesses, batch_img_metas, cfg, rescale,
                                           with_nms)
        cfg = self.test_cfg if cfg is None else cfg
        num_imgs = len(batch_img_metas)
        sizes = [c.shape[2:] for c in cls_scores]
        priors = torch.cat(self.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                                            device=cls_scores[0].device, with_stride=True))
        scores = torch.cat([c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_classes)
                            for c in cls_scores], 1).sigmoid()
        dist = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds], 1)
        boxes = self.bbox_coder.decode(priors[None, :, :2], dist, priors[:, 2])
        k = min(cfg.get('max_per_img', 300), boxes.shape[1])
        boxes, scores, labels = topk_detections(boxes, scores, k)
        results = []
        for b, meta in enumerate(batch_img_metas):
            keep = scores[b] > cfg.get('score_thr', 0.0)
            res = InstanceData(bboxes=boxes[b][keep], scores=scores[b][keep], labels=labels[b][keep])
            if rescale:
                if 'pad_param' in meta:
                    pad = meta['pad_param']
                    res.bboxes -= res.bboxes.new_tensor([pad[2], pad[0], pad[2], pad[0]])
                res.bboxes /= res.bboxes.new_tensor(meta['scale_factor']).repeat((1, 2))
            h, w = meta['ori_shape'][:2]
            res.bboxes[:, 0::2].clamp_(0, w)
            res.bboxes[:, 1::2].clamp_(0, h)
            results.append(res)
        return results
