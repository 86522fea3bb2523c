"""Confusion matrix of a detector on a split of its dataset.

Rows are the true classes plus "background" (a detection that matched nothing), columns the
predicted classes plus "background" (a ground-truth box nobody found). Detections are matched
one-to-one to ground truth by IoU >= a threshold, best score first (each taking the free box of
highest IoU), whatever their class, so confusions between classes show off the diagonal. The
matching is the evaluation's (``evaluation/matching.py``): ``DetectionPRMetric`` writes the same
matrix with ``eval_dir``.
"""


def match(gt_boxes, gt_labels, boxes, labels, num_classes, iou_thr, scores=None):
    """Counts (nc+1, nc+1) for one image: [true, predicted], index nc = background.

    The project's one matching (:func:`fasternet_yolo11.evaluation.matching.confusion_counts`,
    also behind the evaluation's confusion matrix): class-agnostic, one to one, IoU >=
    ``iou_thr``, best score first when ``scores`` are given."""
    from ..evaluation.matching import confusion_counts
    return confusion_counts(gt_boxes, gt_labels, boxes, labels, num_classes, iou_thr, scores)


def compute(cfg, checkpoint, split='val', score_thr=0.25, iou_thr=0.45, device='cpu'):
    """The counts over the ``split`` dataloader of ``cfg`` (a loaded Config) for the detector
    with the weights of ``checkpoint``, detections with score >= ``score_thr``. Returns
    (class names, counts (nc+1, nc+1))."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from tqdm import tqdm

    from ..deploy.detector import init_model
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    model = init_model(cfg, checkpoint, device=device)
    loader_cfg = cfg.get(f'{split}_dataloader')
    loader_cfg = dict(loader_cfg, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg)
    classes = list(loader.dataset.metainfo.get('classes', ()))
    nc = len(classes)
    cm = np.zeros((nc + 1, nc + 1), np.int64)
    for batch in tqdm(loader, desc='confusion matrix', unit='batch'):
        with torch.no_grad():
            results = model.test_step(batch)
        for res in results:
            pred = res.pred_instances
            keep = pred.scores >= score_thr
            gt = res.gt_instances
            gt_boxes = gt.bboxes.tensor if hasattr(gt.bboxes, 'tensor') else gt.bboxes
            cm += match(gt_boxes.cpu().numpy(), gt.labels.cpu().numpy(),
                        pred.bboxes[keep].cpu().numpy(), pred.labels[keep].cpu().numpy(), nc,
                        iou_thr, pred.scores[keep].cpu().numpy())
    return classes, cm
