"""Shared start-up of every script in tools/.

Puts the repository root on ``sys.path`` (so ``projects.fasternet_yolo11`` imports without the
user setting PYTHONPATH), imports the project (module registration and the weights-only
checkpoint allow-list) and offers the checks every entry point makes on its arguments.
"""
import contextlib
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
# torchrun workers and dataloader workers inherit this, so they import the project too.
os.environ['PYTHONPATH'] = os.pathsep.join(
    p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p)

import projects.fasternet_yolo11  # noqa: E402,F401  (registers modules, installs the allow-list)


def die(message):
    """Exit with one actionable line instead of a traceback."""
    print(f'error: {message}', file=sys.stderr)
    raise SystemExit(2)


def load_config(path, cfg_options=None):
    """Read a config, failing with one line when the file is missing or a key is misspelt."""
    from mmengine.config import Config
    if not osp.isfile(path):
        die(f'config file not found: {path!r} (configs live in {osp.join(REPO_ROOT, "configs")})')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_checkpoint(path, what='checkpoint'):
    if path is not None and '://' not in str(path) and not osp.isfile(path):
        die(f'{what} not found: {path!r}')


def use_gloo_without_cuda(cfg):
    """NCCL needs GPUs: on a CPU-only machine distributed runs use gloo."""
    import torch
    if not torch.cuda.is_available() and cfg.get('env_cfg', {}).get('dist_cfg'):
        cfg.env_cfg.dist_cfg['backend'] = 'gloo'


@contextlib.contextmanager
def one_line_errors():
    """Turn the errors a user can fix (bad data yaml, missing files) into one line, no traceback."""
    from projects.fasternet_yolo11.checkpoint_safety import UnsafeCheckpointError
    from projects.fasternet_yolo11.yolo_dataset import DataConfigError
    try:
        yield
    except (DataConfigError, UnsafeCheckpointError, FileNotFoundError) as err:
        die(str(err).splitlines()[0] if str(err) else repr(err))
