"""Confusion matrix of a detector on its validation set, as a PNG (and the counts as .npy).

    python tools/analysis_tools/confusion_matrix.py CONFIG CHECKPOINT [--out cm.png]
        [--score-thr 0.25] [--iou-thr 0.45] [--split val|test] [--cfg-options k=v ...]

Rows are the true classes plus "background" (a detection that matched nothing), columns the
predicted classes plus "background" (a ground-truth box nobody found). Detections with score
>= ``--score-thr`` are matched one-to-one to ground truth by IoU >= ``--iou-thr``, best score
first, whatever their class (the evaluation's matching, ``fasternet_yolo11/evaluation/matching.py``),
so confusions between classes show off the diagonal. Each row is normalised to sum 1; the raw
counts are printed in the cells. Headless (matplotlib Agg).
"""
import argparse
import os.path as osp

from fasternet_yolo11.analysis.confusion import compute
from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', default=None,
                   help='default: confusion_matrix.png beside the checkpoint')
    p.add_argument('--score-thr', type=float, default=0.25)
    p.add_argument('--iou-thr', type=float, default=0.45)
    p.add_argument('--split', choices=('val', 'test'), default='val')
    p.add_argument('--device', default='cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    return p.parse_args(argv)


def plot(classes, cm, out, title=''):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    names = list(classes) + ['background']
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = 2 + 0.6 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(names)), names, rotation=45, ha='right')
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel='predicted', ylabel='true', title=title)
    for i in range(len(names)):
        for j in range(len(names)):
            if cm[i, j]:
                ax.text(j, i, f'{norm[i, j]:.2f}\n({cm[i, j]})', ha='center', va='center',
                        fontsize=8, color='white' if norm[i, j] > 0.5 else 'black')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    import numpy as np
    args = parse_args(argv)
    cfg = cli.load_config(args.config, args.cfg_options)
    cli.check_file(args.checkpoint, 'checkpoint')
    classes, cm = compute(cfg, args.checkpoint, args.split, args.score_thr, args.iou_thr,
                          args.device)
    out = args.out or osp.join(osp.dirname(osp.abspath(args.checkpoint)), 'confusion_matrix.png')
    plot(classes, cm, out, f'{osp.basename(args.config)} [{args.split}]\nscore >= '
                           f'{args.score_thr}, IoU >= {args.iou_thr}')
    np.save(osp.splitext(out)[0] + '.npy', cm)
    print(f'{int(cm[:-1].sum())} ground-truth boxes, {int(cm[:, :-1].sum())} detections; '
          f'matched with the right class: {int(np.trace(cm[:-1, :-1]))} -> {out}')


if __name__ == '__main__':
    cli.main(main)
