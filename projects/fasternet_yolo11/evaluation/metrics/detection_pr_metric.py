"""``DetectionPRMetric``: mmdet's COCO mAP plus the numbers an operator reads (P, R, F1).

A subclass of ``mmdet.CocoMetric``: the mAP keys (``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ...)
are pycocotools' numbers, computed by CocoMetric itself, so ``save_best='coco/bbox_mAP'`` keeps
working. It adds (with the same ``coco/`` prefix):

* ``coco/precision``, ``coco/recall``, ``coco/f1``: means over the classes with ground truth, at
  ``coco/best_f1_thr``, the one confidence threshold (shared by all classes) that maximises the
  mean F1 over classes;
* ``coco/fitness`` = 0.1 * mAP50 + 0.9 * mAP50-95 (Ultralytics' fitness, for early stopping;
  from pycocotools' unrounded stats).

How (all in :mod:`fasternet_yolo11.evaluation.matching`): per image, detections are matched to
the ground truth of their class at IoU >= ``iou_thr`` (0.5), one to one, best score first.
P(t), R(t), F1(t) per class are exact counts over the detections with score >= t, for t on the
grid ``np.linspace(0, 1, 1000)`` (Ultralytics' grid; no interpolation and no smoothing, unlike
Ultralytics, which interpolates linearly between detections and box-filters the mean F1, so its
numbers differ slightly). The threshold is the middle grid point of the first maximal run of
the mean F1. A table laid out as Ultralytics' (``Class Images Instances P R mAP50 mAP50-95``,
an ``all`` row, then one per class with ground truth; the mAP columns from pycocotools'
per-class precision arrays) is logged after every evaluation.

The confusion matrix (class-agnostic, same matching, IoU >= ``confusion_iou_thr``, detections
with score >= ``confusion_score_thr``; ``'best'`` = the best-F1 threshold) is computed too.
With ``eval_dir`` set the curves, confusion matrices and ``metrics.json`` are written there
(:func:`fasternet_yolo11.evaluation.reports.write_eval_dir`); the last evaluation's report is
kept in ``metric.last_report`` either way.

Ground truth for P/R/F1: the packed ``instances`` when present (the raw annotations, what
CocoMetric uses with ``ann_file=None``), else ``gt_instances`` + ``ignored_instances`` (in
original-image coordinates with the mmyolo test pipelines, which load annotations after the
resize).
"""
import contextlib
import math

import numpy as np
from mmdet.evaluation import CocoMetric
from mmengine.logging import MMLogger
from mmyolo.registry import METRICS

from .. import matching


def _numpy(x):
    if x is None:
        return None
    if hasattr(x, 'tensor'):  # mmdet HorizontalBoxes
        x = x.tensor
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def ground_truth_of(sample):
    """(boxes (G, 4), labels (G,), ignore (G,)) of one evaluated data sample (a dict)."""
    inst = sample.get('instances')
    if inst is not None:
        boxes = np.array([i['bbox'] for i in inst], np.float64).reshape(-1, 4)
        labels = np.array([i['bbox_label'] for i in inst], np.int64)
        ignore = np.array([bool(i.get('ignore_flag', 0)) for i in inst], bool)
        return boxes, labels, ignore
    parts = []
    for key, flag in (('gt_instances', False), ('ignored_instances', True)):
        part = sample.get(key)
        if part is None or 'bboxes' not in part:
            continue
        b = _numpy(part['bboxes']).reshape(-1, 4).astype(np.float64)
        lab = _numpy(part['labels']).reshape(-1).astype(np.int64)
        parts.append((b, lab, np.full(len(lab), flag)))
    if not parts:
        return np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0, bool)
    return tuple(np.concatenate(x) for x in zip(*parts))


@contextlib.contextmanager
def _recorded_coco_evals():
    """While inside, CocoMetric's COCOeval objects are recorded after ``accumulate`` (the
    per-class precision arrays live there); mmdet's module is restored on exit."""
    from mmdet.evaluation.metrics import coco_metric as mod
    seen = []
    originals = mod.COCOeval, mod.COCOevalMP

    def recording(base):
        class Recording(base):
            def accumulate(self, *args, **kwargs):
                out = super().accumulate(*args, **kwargs)
                seen.append(self)
                return out
        Recording.__name__ = Recording.__qualname__ = base.__name__
        return Recording

    mod.COCOeval, mod.COCOevalMP = recording(originals[0]), recording(originals[1])
    try:
        yield seen
    finally:
        mod.COCOeval, mod.COCOevalMP = originals


def coco_per_class(coco_eval, cat_ids):
    """Per label index (``cat_ids[label]`` = its COCO category): (mAP50-95, mAP50, PR curve
    (101,)) from pycocotools' ``eval['precision']``, taken exactly as ``summarize`` takes
    ``stats[0]`` (maxDets 100) and ``stats[1]`` (IoU 0.5, maxDets[2]), area 'all'; NaN for a
    class without ground truth. Also returns (stats[1], stats[0])."""
    prec = coco_eval.eval['precision']  # (T, R, K, A, M)
    params = coco_eval.params
    order = list(params.catIds)  # sorted by evaluate()
    m100 = [i for i, m in enumerate(params.maxDets) if m == 100]
    m50 = [i for i, m in enumerate(params.maxDets) if m == params.maxDets[2]]
    t50 = np.flatnonzero(np.isclose(params.iouThrs, 0.5))
    out = []
    for cat in cat_ids:
        if cat not in order:
            out.append((math.nan, math.nan, None))
            continue
        k = order.index(cat)
        s = prec[:, :, k, 0, m100]
        ap = float(s[s > -1].mean()) if (s > -1).any() else math.nan
        s50 = prec[t50][:, :, k, 0][..., m50] if len(t50) and m50 else np.zeros(0)
        ap50 = float(s50[s50 > -1].mean()) if (s50 > -1).any() else math.nan
        curve = None
        if len(t50) and m50 and ap50 == ap50:
            curve = np.clip(prec[t50[0], :, k, 0, m50[0]], 0, None)
        out.append((ap, ap50, curve))
    return out, float(coco_eval.stats[1]), float(coco_eval.stats[0])


def _log_dir():
    """The directory of the current MMLogger's log file (the runner's log_dir), or None."""
    import logging
    import os.path as osp
    for handler in MMLogger.get_current_instance().handlers:
        if isinstance(handler, logging.FileHandler):
            return osp.dirname(handler.baseFilename)
    return None


@METRICS.register_module()
class DetectionPRMetric(CocoMetric):
    """CocoMetric + P, R, F1 at the best-F1 threshold, fitness, Ultralytics' table.

    Args (besides CocoMetric's):
        iou_thr (float): IoU for a true positive in P/R/F1. Default 0.5.
        grid_points (int): thresholds on [0, 1] for the curves. Default 1000.
        confusion_score_thr (float | 'best'): detections counted in the confusion matrix.
            Default 0.25 (Ultralytics); 'best' uses the best-F1 threshold.
        confusion_iou_thr (float): IoU of the confusion matrix matching. Default 0.45.
        eval_dir (str, optional): write curves, confusion matrices and metrics.json here;
            ``'auto'``: the run's log directory (of the current MMLogger's log file).
        print_table (bool): log the table. Default True.
    """

    def __init__(self, *args, iou_thr=0.5, grid_points=matching.GRID_POINTS,
                 confusion_score_thr=0.25, confusion_iou_thr=0.45, eval_dir=None,
                 print_table=True, **kwargs):
        super().__init__(*args, **kwargs)
        if 'bbox' not in self.metrics:
            raise ValueError("DetectionPRMetric needs metric='bbox'")
        self.iou_thr = iou_thr
        self.grid_points = grid_points
        self.confusion_score_thr = confusion_score_thr
        self.confusion_iou_thr = confusion_iou_thr
        self.eval_dir = eval_dir
        self.print_table = print_table
        self.last_report = None

    def process(self, data_batch, data_samples):
        start = len(self.results)
        super().process(data_batch, data_samples)
        for (_, result), sample in zip(self.results[start:], data_samples):
            boxes, labels, ignore = ground_truth_of(sample)
            result['gt_bboxes'], result['gt_labels'], result['gt_ignore'] = boxes, labels, ignore

    def compute_metrics(self, results):
        with _recorded_coco_evals() as evals:
            metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        evals = [e for e in evals if e.params.iouType == 'bbox' and e.params.useCats]
        report = self.build_report([r for _, r in results], evals[-1] if evals else None)
        metrics.update({'precision': report['all']['P'], 'recall': report['all']['R'],
                        'f1': report['all']['F1'], 'best_f1_thr': report['threshold'],
                        'fitness': report['fitness']})
        self.last_report = report
        from ..reports import format_table, write_eval_dir
        if self.print_table:
            MMLogger.get_current_instance().info('\n' + format_table(report))
        out_dir = _log_dir() if self.eval_dir == 'auto' else self.eval_dir
        if out_dir:
            write_eval_dir(report, out_dir)
            MMLogger.get_current_instance().info(f'P/R/F1 curves, confusion matrices, metrics.json -> {out_dir}')
        elif self.eval_dir:
            MMLogger.get_current_instance().warning("eval_dir='auto' but the logger writes no file: nothing written")
        return metrics

    def build_report(self, preds, coco_eval=None):
        """The report dict from the per-image results (see reports.write_eval_dir)."""
        names = list(self.dataset_meta['classes'])
        nc = len(names)
        num_gt = np.zeros(nc, np.int64)
        images_with = np.zeros(nc, np.int64)
        scores, tps, labels = [], [], []
        for r in preds:
            gl, gi = r['gt_labels'], r['gt_ignore']
            real = gl[~gi]
            real = real[(real >= 0) & (real < nc)]
            num_gt += np.bincount(real, minlength=nc)
            images_with += np.bincount(np.unique(real), minlength=nc)
            tp, keep = matching.match_image(r['gt_bboxes'], gl, r['bboxes'], r['scores'],
                                            r['labels'], self.iou_thr, gi)
            scores.append(r['scores'][keep])
            tps.append(tp[keep])
            labels.append(r['labels'][keep])

        def cat(xs, dt):
            return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)
        scores, tps, labels = cat(scores, np.float64), cat(tps, bool), cat(labels, np.int64)
        grid, p, r, f1 = matching.pr_curves(scores, tps, labels, num_gt,
                                            matching.threshold_grid(self.grid_points))
        i, mean_f1 = matching.best_f1_index(f1)
        thr = float(grid[i]) if i is not None else math.nan
        valid = num_gt > 0

        if coco_eval is not None:
            per_coco, map50, map5095 = coco_per_class(coco_eval, list(self.cat_ids))
        else:
            per_coco, map50, map5095 = [(math.nan, math.nan, None)] * nc, 0.0, 0.0
        pr_curves = []
        for c in range(nc):
            curve = per_coco[c][2]
            if curve is None and valid[c]:
                sel = labels == c
                curve = matching.pr_envelope(scores[sel], tps[sel], num_gt[c])[1]
            pr_curves.append(curve)

        def at(arr, c):
            return float(arr[c, i]) if i is not None and valid[c] else None

        per_class = {}
        for c, name in enumerate(names):
            per_class[name] = {
                'images': int(images_with[c]), 'instances': int(num_gt[c]),
                'P': at(p, c), 'R': at(r, c), 'F1': at(f1, c),
                'mAP50': None if math.isnan(per_coco[c][1]) else per_coco[c][1],
                'mAP50-95': None if math.isnan(per_coco[c][0]) else per_coco[c][0]}

        def mean(key):
            vals = [per_class[n][key] for n, v in zip(names, valid) if v]
            return float(np.mean(vals)) if vals else 0.0

        all_row = {'images': len(preds), 'instances': int(num_gt.sum()), 'P': mean('P'),
                   'R': mean('R'), 'F1': mean('F1'), 'mAP50': map50, 'mAP50-95': map5095}
        cm_thr = thr if self.confusion_score_thr == 'best' else float(self.confusion_score_thr)
        cm = np.zeros((nc + 1, nc + 1), np.int64)
        for r_ in preds:
            keep = r_['scores'] >= (cm_thr if cm_thr == cm_thr else 0.0)
            real = ~r_['gt_ignore']
            cm += matching.confusion_counts(r_['gt_bboxes'][real], r_['gt_labels'][real],
                                            r_['bboxes'][keep], r_['labels'][keep], nc,
                                            self.confusion_iou_thr, r_['scores'][keep])
        fitness = 0.1 * map50 + 0.9 * map5095 if coco_eval is not None else 0.0
        return {'class_names': names, 'threshold': thr, 'iou_thr': self.iou_thr,
                'fitness': float(fitness), 'all': all_row, 'per_class': per_class,
                'curves': {'grid': grid, 'P': p, 'R': r, 'F1': f1, 'mean_F1': mean_f1,
                           'recall': np.linspace(0, 1, 101), 'precision': pr_curves},
                'confusion': {'matrix': cm, 'score_thr': cm_thr,
                              'iou_thr': self.confusion_iou_thr}}
