"""Matching detections to ground truth, and the counts built on it: one implementation.

Everything that needs "which detection found which box" calls :func:`match_greedy`:

* precision / recall / F1 (:func:`match_image`): class-aware, IoU >= 0.5, one to one, the
  detections visited best score first, each taking the free ground-truth box of highest IoU
  (the pycocotools rule, at one IoU);
* the confusion matrix (:func:`confusion_counts`): the same rule, class-agnostic (IoU >= 0.45
  by default, as Ultralytics), so confusions between classes show off the diagonal.

Curves (:func:`pr_curves`) are read on a grid of confidence thresholds (:data:`GRID_POINTS`
points on [0, 1], Ultralytics' grid) by exact counts, no interpolation: at threshold t a class's
P(t) = TP(t) / (TP(t) + FP(t)) and R(t) = TP(t) / n_gt over its detections with score >= t.
"""
import numpy as np

GRID_POINTS = 1000


def box_iou(a, b):
    """IoU of xyxy boxes: (N, 4) x (M, 4) -> (N, M) float64 (no +1 pixel offset)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_greedy(iou, iou_thr, order=None):
    """One-to-one matching. ``iou``: (D, G) detections x ground truth. Detections are visited
    in ``order`` (default: index order); each takes the still-free ground-truth box of highest
    IoU if that IoU >= ``iou_thr`` (ties: the lowest index). Returns (D,) int64, the matched
    ground-truth index per detection or -1."""
    iou = np.asarray(iou, np.float64)
    num_det = iou.shape[0]
    out = np.full(num_det, -1, np.int64)
    if num_det == 0 or iou.shape[1] == 0:
        return out
    free = np.ones(iou.shape[1], bool)
    reachable = (iou >= iou_thr).any(1)  # the others can never match: skip them
    for d in (range(num_det) if order is None else order):
        if not reachable[d]:
            continue
        cand = np.where(free, iou[d], -np.inf)
        g = int(np.argmax(cand))
        if cand[g] >= iou_thr:
            out[d] = g
            free[g] = False
    return out


def _score_order(scores):
    return np.argsort(-np.asarray(scores, np.float64), kind='stable')


def match_image(gt_boxes, gt_labels, det_boxes, det_scores, det_labels, iou_thr=0.5,
                gt_ignore=None):
    """Class-aware matching of one image for P/R/F1. Returns (tp, keep): bool (D,) each.

    ``tp``: the detection matched a ground-truth box of its class at IoU >= ``iou_thr`` (best
    score first, one to one). ``keep`` is False for a detection that matched none of those but
    overlaps an ignored box (``gt_ignore``, crowd) of its class by >= ``iou_thr``: neither TP
    nor FP, as in pycocotools. Ignored boxes are not ground truth to be found."""
    gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, np.int64).reshape(-1)
    det_labels = np.asarray(det_labels, np.int64).reshape(-1)
    ignore = (np.zeros(len(gt_labels), bool) if gt_ignore is None
              else np.asarray(gt_ignore, bool).reshape(-1))
    iou = box_iou(det_boxes, gt_boxes)
    iou[det_labels[:, None] != gt_labels[None, :]] = 0.0
    tp = match_greedy(iou[:, ~ignore], iou_thr, _score_order(det_scores)) >= 0
    keep = np.ones(len(det_labels), bool)
    if ignore.any():
        keep = tp | ~(iou[:, ignore] >= iou_thr).any(1)
    return tp, keep


def confusion_counts(gt_boxes, gt_labels, det_boxes, det_labels, num_classes, iou_thr=0.45,
                     det_scores=None):
    """Confusion counts of one image, (nc+1, nc+1) int64 indexed [true, predicted]; index nc is
    background: [nc, p] a detection of class p that matched nothing (false detection),
    [t, nc] a ground-truth box of class t nobody found (missed). Class-agnostic
    :func:`match_greedy` at IoU >= ``iou_thr``, best score first when ``det_scores`` is given
    (else in the given order). Pass only the detections above the score threshold."""
    gt_labels = np.asarray(gt_labels, np.int64).reshape(-1)
    det_labels = np.asarray(det_labels, np.int64).reshape(-1)
    cm = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    order = None if det_scores is None else _score_order(det_scores)
    det2gt = match_greedy(box_iou(det_boxes, gt_boxes), iou_thr, order)
    found = np.zeros(len(gt_labels), bool)
    for d, g in enumerate(det2gt):
        if g >= 0:
            cm[gt_labels[g], det_labels[d]] += 1
            found[g] = True
        else:
            cm[num_classes, det_labels[d]] += 1
    for g in np.flatnonzero(~found):
        cm[gt_labels[g], num_classes] += 1
    return cm


def threshold_grid(points=GRID_POINTS):
    """The confidence thresholds of the curves: ``np.linspace(0, 1, points)``."""
    return np.linspace(0.0, 1.0, points)


def pr_curves(scores, tp, labels, num_gt, grid=None):
    """P, R and F1 per class at each threshold of ``grid``, by exact counts.

    ``scores``, ``tp``, ``labels``: all kept detections of the split (1-D); ``num_gt``: (K,)
    ground-truth boxes per class. At threshold t, class c's detections with score >= t give
    P = TP / (TP + FP), R = TP / n_gt, F1 = 2PR / (P + R) (0 when P + R = 0). With none of its
    detections at or above t, P = 1 (nothing claimed, nothing wrong; Ultralytics' convention
    above the top score), except for a class with no detections at all, where P = 0. Rows of
    classes without ground truth are NaN. Returns (grid, p, r, f1), each curve (K, len(grid))."""
    grid = threshold_grid() if grid is None else np.asarray(grid, np.float64)
    scores = np.asarray(scores, np.float64).reshape(-1)
    tp = np.asarray(tp, bool).reshape(-1)
    labels = np.asarray(labels, np.int64).reshape(-1)
    num_gt = np.asarray(num_gt, np.int64).reshape(-1)
    shape = (len(num_gt), len(grid))
    p, r, f1 = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for c, n_gt in enumerate(num_gt):
        if n_gt <= 0:
            continue
        sel = labels == c
        order = np.argsort(scores[sel], kind='stable')
        s, t = scores[sel][order], tp[sel][order]
        first = np.searchsorted(s, grid, side='left')      # detections [first:] have score >= x
        n_det = len(s) - first
        tp_suffix = np.concatenate([np.cumsum(t[::-1])[::-1], [0]])
        n_tp = tp_suffix[first].astype(np.float64)
        p[c] = np.where(n_det > 0, n_tp / np.maximum(n_det, 1), 1.0 if len(s) else 0.0)
        r[c] = n_tp / n_gt
        denom = p[c] + r[c]
        f1[c] = np.where(denom > 0, 2 * p[c] * r[c] / np.where(denom > 0, denom, 1), 0.0)
    return grid, p, r, f1


def best_f1_index(f1):
    """The grid index of the threshold shared by all classes: the maximum of the mean F1 over
    the classes with ground truth (NaN rows left out). The maximum is usually a plateau (the
    counts only change at detection scores); the middle of its first run of grid points is
    taken, as far as possible from the scores on either side. When the mean F1 is 0 everywhere
    (nothing found) it is index 0, threshold 0: P and R are then read over all detections, as
    Ultralytics' argmax does. Returns (index, mean F1 curve); index None when no class has
    ground truth."""
    f1 = np.asarray(f1, np.float64)
    valid = ~np.isnan(f1).all(1) if f1.size else np.zeros(0, bool)
    if not valid.any():
        return None, np.zeros(f1.shape[1] if f1.ndim == 2 else 0)
    mean = f1[valid].mean(0)
    if not mean.max() > 0:
        return 0, mean
    start = int(np.argmax(mean))
    end = start
    while end + 1 < len(mean) and mean[end + 1] == mean[start]:
        end += 1
    return (start + end) // 2, mean


def pr_envelope(scores, tp, num_gt, recall_points=101):
    """COCO-style interpolated precision at ``recall_points`` recall levels for one class
    (the precision envelope, 0 beyond the highest recall reached). Used for the PR curve when
    pycocotools' arrays are not at hand."""
    rec_grid = np.linspace(0, 1, recall_points)
    out = np.zeros(recall_points)
    if num_gt <= 0 or len(scores) == 0:
        return rec_grid, out
    order = _score_order(scores)
    t = np.asarray(tp, bool)[order]
    ctp, cfp = np.cumsum(t), np.cumsum(~t)
    rec = ctp / num_gt
    prec = ctp / (ctp + cfp)
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    idx = np.searchsorted(rec, rec_grid, side='left')
    ok = idx < len(prec)
    out[ok] = prec[idx[ok]]
    return rec_grid, out
