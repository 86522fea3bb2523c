"""Shared start-up of every script in tools/.

Puts the repository root on ``sys.path`` (so ``projects.fasternet_yolo11`` imports without the
user setting PYTHONPATH), imports the project (module registration and the weights-only
checkpoint allow-list) and offers the checks every entry point makes on its arguments.
"""
import contextlib
import os
import os.path as osp
import re
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
# torchrun workers and dataloader workers inherit this, so they import the project too.
os.environ['PYTHONPATH'] = os.pathsep.join(
    p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p)

import projects.fasternet_yolo11  # noqa: E402,F401  (registers modules, installs the allow-list)
import torch  # noqa: E402


def die(message):
    """Exit with one actionable line instead of a traceback."""
    print(f'error: {message}', file=sys.stderr)
    finish(2)


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
    """NCCL needs GPUs: on a CPU-only machine distributed runs use gloo.

    Two more things differ on CPU: DDP must not be given ``device_ids`` (mmengine passes the
    local rank, which only makes sense for a GPU), and SyncBatchNorm only runs on GPUs, so
    mmyolo's ``YOLODetector(use_syncbn=True)`` keeps plain BatchNorm (statistics per process).
    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which a CPU build
    of torch cannot do, so under torchrun the gloo process group is started here (the Runner
    then uses it as it is).
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return
    if cfg.get('env_cfg', {}).get('dist_cfg'):
        cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
    if str(cfg.model.get('type', '')).split('.')[-1] == 'YOLODetector':
        cfg.model.use_syncbn = False
    if cfg.launcher == 'pytorch' and not torch.distributed.is_initialized():
        import datetime
        options = {k: v for k, v in cfg.env_cfg.get('dist_cfg', {}).items()
                   if k not in ('backend', 'init_backend')}
        if 'timeout' in options:
            options['timeout'] = datetime.timedelta(seconds=options['timeout'])
        torch.distributed.init_process_group(backend='gloo', **options)
        global _STARTED_GLOO
        _STARTED_GLOO = True


_STARTED_GLOO = False


def finish(code=0):
    """End a script; after a gloo run, without the interpreter's shutdown.

    With torch 2.13 (CPU) a process that used a gloo group often aborts while the interpreter
    shuts down ("terminate called without an active exception", SIGABRT), after all the work
    is done and even after ``destroy_process_group``; torchrun then reports the run as failed.
    So once the logs are flushed, such a process leaves through ``os._exit``.
    """
    if not _STARTED_GLOO:
        raise SystemExit(code)
    import logging
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _tensors(state):
    return {re.sub(r'^(module\.)+', '', k): v for k, v in state.items() if torch.is_tensor(v)}


def check_checkpoint_fits(runner, path, what, strict=True):
    """Compare a checkpoint's weights with the runner's model before anything runs.

    ``strict`` (resume, test): every model tensor must be in the checkpoint with its shape,
    else one line names the first mismatched/missing keys. Not strict (``load_from``, for
    fine-tuning on other classes or from a partial checkpoint): mismatched or missing tensors
    are reported in one line and keep their initial values, but a checkpoint in which more than
    half of the model's tensors have other shapes, or none fits, is another architecture and an
    error.
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner.checkpoint import _load_checkpoint
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    ckpt = _load_checkpoint(path, map_location='cpu')
    theirs = _tensors(ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {})
    ours = _tensors(model.state_dict())
    mismatched = [f'{k} {list(theirs[k].shape)} in the file vs {list(v.shape)} in the model'
                  for k, v in ours.items() if k in theirs and theirs[k].shape != v.shape]
    missing = [k for k in ours if k not in theirs]
    if not mismatched and not missing:
        return
    shown = mismatched[:3] + [f'{k} missing' for k in missing[:max(0, 3 - len(mismatched))]]
    problems = ', '.join(shown)
    summary = (f'{what} {path!r} does not fit the model of this config: {len(mismatched)} shape '
               f'mismatch(es), {len(missing)} missing of {len(ours)} tensors ({problems}, ...)')
    fitting = len(ours) - len(mismatched) - len(missing)
    if strict or len(mismatched) > len(ours) / 2 or fitting == 0:
        die(summary + '; was it trained with another config?')
    print(f'warning: {summary}; those tensors keep their initial values', file=sys.stderr)


def resolve_auto_resume(work_dir):
    """The checkpoint ``--resume`` (no path) continues from, robust to a kill at any moment.

    Uses ``last_checkpoint`` when it names a complete file, else the newest complete
    ``epoch_N``/``iter_N`` checkpoint (one-line note); removes temporaries a killed save left.
    Returns None when there is nothing to resume (training starts from scratch).
    """
    from projects.fasternet_yolo11.hooks import (latest_complete_checkpoint,
                                                 remove_stale_temporaries)
    stale = remove_stale_temporaries(work_dir)
    if stale:
        print(f'note: removed {len(stale)} unfinished checkpoint write(s) in {work_dir}: '
              f'{", ".join(stale)}', file=sys.stderr)
    path, note = latest_complete_checkpoint(work_dir)
    if note:
        print(f'note: {note}', file=sys.stderr)
    elif path is None:
        print(f'note: no checkpoint in {work_dir} to resume from; starting from scratch',
              file=sys.stderr)
    return path


@contextlib.contextmanager
def one_line_errors():
    """Turn the errors a user can fix (bad data yaml, missing files) into one line, no traceback."""
    from projects.fasternet_yolo11.checkpoint_safety import UnsafeCheckpointError
    from projects.fasternet_yolo11.hooks import NonFiniteLossError
    from projects.fasternet_yolo11.yolo_dataset import DataConfigError
    try:
        yield
    except (DataConfigError, UnsafeCheckpointError, NonFiniteLossError, FileNotFoundError) as err:
        die(str(err).splitlines()[0] if str(err) else repr(err))
