"""Label statistics of a YOLO-format dataset as one PNG: instances per class, box width and
height (fractions of the image), box centres (2-D histogram) and boxes per image.

    python tools/analysis_tools/label_stats.py DATA_YAML [--split train] [--out labels.png]

Rows the dataset loader would reject (bad class, outside [0, 1], wrong columns) are skipped
and counted, as training skips them. Headless (matplotlib Agg).
"""
import argparse
import os.path as osp

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_yaml')
    p.add_argument('--split', default='train', choices=('train', 'val', 'test'))
    p.add_argument('--out', default=None, help='default: labels_<split>.png beside the yaml')
    return p.parse_args(argv)


def collect(data_yaml, split):
    """(names, rows (N, 5) [cls, cx, cy, w, h], boxes per image, bad files)."""
    import numpy as np

    from fasternet_yolo11.datasets.yolo_dataset import (
        label_path_for,
        list_images,
        load_data_config,
        parse_label_file,
    )
    cfg = load_data_config(data_yaml)
    if split not in cfg:
        cli.die(f'{data_yaml} has no {split!r} split')
    images = list_images(cfg[split])
    images = images[0] if isinstance(images, tuple) else images
    rows, per_image, bad = [], [], 0
    for img in images:
        labels, _, problem = parse_label_file(label_path_for(img), len(cfg['names']))
        if problem:
            bad += 1
            continue
        rows.append(labels)
        per_image.append(len(labels))
    rows = np.concatenate(rows) if rows else np.zeros((0, 5))
    return cfg['names'], rows, per_image, bad


def plot(names, rows, per_image, out, title=''):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    counts = np.bincount(rows[:, 0].astype(int), minlength=len(names))
    ax = axes[0, 0]
    ax.bar(range(len(names)), counts, color='tab:orange')
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 8 else 0)
    ax.set(title='instances per class')
    for i, c in enumerate(counts):
        ax.text(i, c, str(c), ha='center', va='bottom', fontsize=8)
    ax = axes[0, 1]
    bins = np.linspace(0, 1, 41)
    ax.hist(rows[:, 3], bins, alpha=0.6, label='width')
    ax.hist(rows[:, 4], bins, alpha=0.6, label='height')
    ax.set(title='box size (fraction of image)', xlabel='size')
    ax.legend()
    ax = axes[1, 0]
    ax.hist2d(rows[:, 1], rows[:, 2], bins=20, range=[[0, 1], [0, 1]], cmap='Blues')
    ax.set(title='box centres', xlabel='x', ylabel='y', xlim=(0, 1), ylim=(1, 0))
    ax = axes[1, 1]
    ax.hist(per_image, bins=np.arange(max(per_image, default=0) + 2) - 0.5, color='tab:green')
    ax.set(title='boxes per image', xlabel='boxes')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None):
    args = parse_args(argv)
    names, rows, per_image, bad = collect(args.data_yaml, args.split)
    if not per_image:
        cli.die(f'no readable images/labels in the {args.split} split of {args.data_yaml}')
    out = args.out or osp.join(osp.dirname(osp.abspath(args.data_yaml)),
                               f'labels_{args.split}.png')
    plot(names, rows, per_image, out, f'{osp.basename(args.data_yaml)} [{args.split}]')
    counts = ', '.join(f'{n} {int((rows[:, 0] == i).sum())}' for i, n in enumerate(names))
    print(f'{len(per_image)} images, {len(rows)} boxes ({counts})'
          + (f', {bad} label files skipped as invalid' if bad else '') + f' -> {out}')


if __name__ == '__main__':
    cli.main(main)
