"""What an evaluation leaves for an operator: the table, the curves, the confusion matrices,
``metrics.json``. Input: the report dict of :class:`DetectionPRMetric` (``metric.last_report``).
Headless (matplotlib Agg)."""
import json
import math
import os
import os.path as osp

import numpy as np

EVAL_FILES = ('PR_curve.png', 'F1_curve.png', 'P_curve.png', 'R_curve.png', 'confusion_matrix.png',
              'confusion_matrix_normalized.png', 'metrics.json')


def _g(x):
    return '%11.3g' % x if x is not None and not (isinstance(x, float) and math.isnan(x)) else '%11s' % '-'


def format_table(report):
    """Ultralytics' layout: ``Class Images Instances P R mAP50 mAP50-95``, the ``all`` row
    first, then one row per class with ground truth, then the threshold line."""
    lines = ['%22s' % 'Class' + '%11s' * 6 % ('Images', 'Instances', 'P', 'R', 'mAP50', 'mAP50-95')]
    rows = [('all', report['all'])] + [(n, v) for n, v in report['per_class'].items() if v['instances']]
    for name, v in rows:
        lines.append('%22s%11i%11i' % (name, v['images'], v['instances'])
                     + ''.join(_g(v[k]) for k in ('P', 'R', 'mAP50', 'mAP50-95')))
    thr = report['threshold']
    lines.append(f'P, R (and F1 {report["all"]["F1"]:.3f}) at confidence {thr:.3f}, the threshold of best '
                 f'mean F1; a true positive is IoU >= {report["iou_thr"]}, one to one, best score first')
    return '\n'.join(lines)


def metrics_json(report):
    """The JSON-able part of the report: per class P, R, F1, mAP50, mAP50-95, instances,
    images; the ``all`` row; the best-F1 threshold; fitness; the confusion matrix."""
    cm = report['confusion']
    return {'best_f1_threshold': report['threshold'], 'iou_thr': report['iou_thr'],
            'fitness': report['fitness'], 'all': report['all'], 'per_class': report['per_class'],
            'confusion_matrix': {'layout': '[true][predicted], last index = background',
                                 'classes': list(report['class_names']) + ['background'],
                                 'score_thr': cm['score_thr'], 'iou_thr': cm['iou_thr'],
                                 'counts': np.asarray(cm['matrix']).tolist()}}


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _curve_plot(path, x, ys, names, mean, mean_label, xlabel, ylabel):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 6), tight_layout=True)
    for y, name in zip(ys, names):
        if y is not None:
            ax.plot(x, y, linewidth=1, label=name)
    if mean is not None:
        ax.plot(x, mean, linewidth=3, color='blue', label=mean_label)
    ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(bbox_to_anchor=(1.04, 1), loc='upper left')
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_confusion(cm, class_names, path, normalize, title=''):
    """[true, predicted] counts, last index background; ``normalize``: each true class's row
    sums to 1 (Ultralytics normalises per true class too, its matrix being the transpose)."""
    plt = _plt()
    cm = np.asarray(cm)
    names = list(class_names) + ['background']
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    size = 2 + 0.6 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(shown, cmap='Blues', vmin=0, vmax=1 if normalize else max(int(cm.max()), 1))
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(names)), names, rotation=45, ha='right')
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel='predicted', ylabel='true', title=title)
    top = shown.max() if shown.size else 1
    for i in range(len(names)):
        for j in range(len(names)):
            if cm[i, j]:
                text = f'{shown[i, j]:.2f}' if normalize else str(int(cm[i, j]))
                ax.text(j, i, text, ha='center', va='center', fontsize=8,
                        color='white' if shown[i, j] > 0.5 * top else 'black')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_eval_dir(report, out_dir, class_names=None):
    """Write :data:`EVAL_FILES` into ``out_dir``: PR curve (pycocotools' interpolated
    precision at IoU 0.5 per class, the mean over classes thick), F1/P/R against the confidence
    threshold (per class, the mean thick, the best-F1 threshold marked), the confusion matrix
    raw and normalised, and metrics.json. Returns the paths written."""
    os.makedirs(out_dir, exist_ok=True)
    names = list(class_names or report['class_names'])
    curves = report['curves']
    valid = [v['instances'] > 0 for v in report['per_class'].values()]
    shown = [n for n, v in zip(names, valid) if v]
    paths = []

    prec = [c for c, v in zip(curves['precision'], valid) if v]
    labels = [f'{n} {report["per_class"][n]["mAP50"] or 0:.3f}' for n in shown]
    mean_pr = np.mean([c for c in prec if c is not None], 0) if any(c is not None for c in prec) else None
    path = osp.join(out_dir, 'PR_curve.png')
    _curve_plot(path, curves['recall'], prec, labels, mean_pr,
                f'all classes {report["all"]["mAP50"]:.3f} mAP@0.5', 'Recall', 'Precision')
    paths.append(path)
    thr = report['threshold']
    for key, ylabel in (('F1', 'F1'), ('P', 'Precision'), ('R', 'Recall')):
        arr = np.asarray(curves[key])
        ys = [arr[c] for c, v in enumerate(valid) if v]
        mean = np.nanmean(arr[np.asarray(valid, bool)], 0) if any(valid) else None
        val = report['all'][key]
        path = osp.join(out_dir, f'{key}_curve.png')
        _curve_plot(path, curves['grid'], ys, shown, mean,
                    f'all classes {val:.2f} at {thr:.3f}', 'Confidence', ylabel)
        paths.append(path)
    cm = report['confusion']
    title = f'score >= {cm["score_thr"]:.3f}, IoU >= {cm["iou_thr"]}'
    for name, norm in (('confusion_matrix.png', False), ('confusion_matrix_normalized.png', True)):
        paths.append(plot_confusion(cm['matrix'], names, osp.join(out_dir, name), norm, title))
    path = osp.join(out_dir, 'metrics.json')
    with open(path, 'w') as f:
        json.dump(metrics_json(report), f, indent=2)
    paths.append(path)
    return paths
