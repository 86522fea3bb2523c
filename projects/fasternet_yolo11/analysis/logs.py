"""mmengine's scalar logs of a work dir: ``<work_dir>/<timestamp>/vis_data/scalars.json``, one
JSON object per line, as ``LocalVisBackend`` writes them."""
import glob
import json
import os.path as osp


def find_scalars(work_dir, run=None):
    """The ``scalars.json`` of run ``run`` (a timestamp folder), or of the newest run that has
    one with data. Raises FileNotFoundError when there is none."""
    pattern = osp.join(work_dir, run or '*', 'vis_data', 'scalars.json')
    found = sorted(f for f in glob.glob(pattern) if osp.getsize(f) > 0)
    if not found:
        raise FileNotFoundError(f'no {pattern} with data (was the run logged with '
                                'LocalVisBackend?)')
    return found[-1]


def read_scalars(path):
    """(train rows, val rows): train rows have ``loss`` or ``lr``, val rows a ``coco/...`` or
    ``pascal_voc/...`` metric."""
    train, val = [], []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if any(k.startswith(('coco/', 'pascal_voc/')) for k in row):
                val.append(row)
            elif 'loss' in row or 'lr' in row:
                train.append(row)
    return train, val
