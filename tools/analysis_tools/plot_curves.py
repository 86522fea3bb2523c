"""Training curves of a work_dir as one PNG: loss terms and learning rate per iteration,
validation metrics (mAP, mAP50, mAP75) per epoch.

    python tools/analysis_tools/plot_curves.py WORK_DIR [--out curves.png] [--run TIMESTAMP]

Reads mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` (LocalVisBackend) of the
newest run that has one (or ``--run``). Headless (matplotlib Agg).
"""
import argparse
import os.path as osp
import sys

from fasternet_yolo11.analysis.logs import find_scalars, read_scalars


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dir')
    p.add_argument('--run', default=None, help='timestamp folder; default: newest with scalars')
    p.add_argument('--out', default=None, help='default: <work_dir>/curves.png')
    return p.parse_args(argv)


def plot(train, val, out, title=''):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    steps = [r['step'] for r in train]
    losses = sorted({k for r in train for k in r if k.startswith('loss')})
    for k in losses:
        axes[0].plot(steps, [r.get(k, float('nan')) for r in train], label=k)
    axes[0].set(title='training loss', xlabel='iteration')
    axes[0].legend(fontsize=8)
    axes[1].plot(steps, [r.get('lr', float('nan')) for r in train], color='tab:purple')
    axes[1].set(title='learning rate', xlabel='iteration')
    metrics = [k for k in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75',
                           'pascal_voc/mAP') if any(k in r for r in val)]
    for k in metrics:
        axes[2].plot([r['step'] for r in val], [r.get(k, float('nan')) for r in val], 'o-',
                     label=k.split('/')[-1])
    axes[2].set(title='validation', xlabel='epoch', ylim=(0, 1))
    if metrics:
        axes[2].legend(fontsize=8)
    else:
        axes[2].text(0.5, 0.5, 'no validation yet', ha='center', transform=axes[2].transAxes)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    args = parse_args(argv)
    try:
        path = find_scalars(args.work_dir, args.run)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    train, val = read_scalars(path)
    if not train:
        raise SystemExit(f'error: no training rows in {path}')
    out = plot(train, val, args.out or osp.join(args.work_dir, 'curves.png'),
               osp.basename(osp.normpath(args.work_dir)))
    best = max((r.get('coco/bbox_mAP', -1) for r in val), default=None)
    print(f'{len(train)} training / {len(val)} validation rows from {path} -> {out}'
          + (f'; best bbox_mAP {best:.3f}' if best is not None and best >= 0 else ''))


if __name__ == '__main__':
    sys.exit(main())
