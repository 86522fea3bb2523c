"""Running the repository's scripts the way a user does: a subprocess from the repo root."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(*args, check=True, env=None, timeout=600):
    """Run ``python *args`` in the repo root; returns the CompletedProcess with ``.out``
    (stdout + stderr). PYTHONPATH is removed: the tools must find ``projects/`` themselves."""
    env = dict(os.environ, **(env or {}))
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    proc.out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.out[-4000:]}')
    return proc


# a very small detector on the tiny generated COCO-layout data (tests/_tiny_data.py)
TINY_CFG = osp.join(REPO, 'tests', 'configs', 'tiny_det_coco.py')


def data_options(root):
    root = root.rstrip('/') + '/'
    ann = root + 'annotations/val.json'
    return [f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}', f'val_evaluator.ann_file={ann}',
            f'test_evaluator.ann_file={ann}']
