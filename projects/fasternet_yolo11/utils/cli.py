"""What every script in ``tools/`` and ``demo/`` shares: start-up, config loading, one-line errors.

A tool does ``from fasternet_yolo11.utils import cli`` and calls :func:`start` before anything
else; it ends with :func:`finish`.
"""
import contextlib
import os
import os.path as osp
import re
import sys

import torch

import fasternet_yolo11

# The checkout this package is installed (editable) from: configs/, tools/, data/ live here.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(fasternet_yolo11.__file__))))
PACKAGE = 'fasternet_yolo11'
# What configs written before the package became installable import; same package.
LEGACY_PACKAGE = 'projects.fasternet_yolo11'


def start():
    """The explicit engine set-up of every tool: weights-only checkpoint loading with the
    allow-list of mmengine's training state (see ``engine/checkpoint_io.py``)."""
    from fasternet_yolo11.engine.checkpoint_io import use_weights_only_loading
    use_weights_only_loading()


def die(message):
    """Exit with one actionable line instead of a traceback."""
    print(f'error: {message}', file=sys.stderr)
    finish(2)


def load_config(path, cfg_options=None):
    """Read a config, failing with one line when the file is missing or a key is misspelt.

    A config that imports the package by its old name (``projects.fasternet_yolo11``, e.g. one
    dumped into a work dir before the package was installable) is read with the current name.
    """
    from mmengine.config import Config
    if not osp.isfile(path):
        die(f'config file not found: {path!r} (configs live in {osp.join(REPO_ROOT, "configs")})')
    cfg = Config.fromfile(path, import_custom_modules=False)
    imports = cfg.get('custom_imports', {}).get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if LEGACY_PACKAGE in imports:
        cfg.custom_imports['imports'] = [PACKAGE if i == LEGACY_PACKAGE else i for i in imports]
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def img_size_flag(size):
    """``--img-size`` as used: rounded up to a multiple of the stride, with a note when it changes."""
    from .config_utils import STRIDE, round_img_size
    if size is None or size == round_img_size(size):
        return size
    print(f'note: --img-size {size} is not a multiple of {STRIDE}; using {round_img_size(size)}', file=sys.stderr)
    return round_img_size(size)


def check_checkpoint(path, what='checkpoint'):
    if path is not None and '://' not in str(path) and not osp.isfile(path):
        die(f'{what} not found: {path!r}')


_STARTED_GLOO = False


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


def _tensor_shapes(state):
    return {re.sub(r'^(module\.)+', '', k): tuple(v.shape) for k, v in state.items()
            if torch.is_tensor(v)}


def check_checkpoint_fits(model, path, what, strict=True):
    """Compare a checkpoint's tensor shapes with ``model``'s before anything runs.

    Only the shapes are read (the file is memory-mapped, its tensor data is not loaded; the
    runner loads the weights afterwards). ``strict`` (resume, test): every model tensor must be
    in the checkpoint with its shape, else one line names the first mismatched/missing keys.
    Not strict (``load_from``, for fine-tuning on other classes or from a partial checkpoint):
    mismatched or missing tensors are reported in one line and keep their initial values, but
    a checkpoint in which more than half of the model's tensors have other shapes, or none
    fits, is another architecture and an error.
    """
    from mmengine.model import is_model_wrapper

    from fasternet_yolo11.engine.checkpoint_io import load_weights_only
    model = model.module if is_model_wrapper(model) else model
    if '://' in str(path):
        return  # remote: mmengine reads it; nothing to compare cheaply
    ckpt = load_weights_only(path, map_location='cpu', mmap=True)
    theirs = _tensor_shapes(ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {})
    ours = _tensor_shapes(model.state_dict())
    mismatched = [f'{k} {list(theirs[k])} in the file vs {list(v)} in the model'
                  for k, v in ours.items() if k in theirs and theirs[k] != v]
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
    """The checkpoint ``--resume`` (no path) continues from (``find_resume_checkpoint``),
    printing its notes; None when training starts from scratch."""
    from fasternet_yolo11.engine.checkpoint_io import find_resume_checkpoint
    path, notes = find_resume_checkpoint(work_dir)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    return path


@contextlib.contextmanager
def one_line_errors():
    """Turn the errors a user can fix (bad data yaml, missing files) into one line, no traceback."""
    from fasternet_yolo11.datasets import DataConfigError
    from fasternet_yolo11.engine.checkpoint_io import UnsafeCheckpointError
    from fasternet_yolo11.engine.hooks import NonFiniteLossError
    try:
        yield
    except (DataConfigError, UnsafeCheckpointError, NonFiniteLossError, FileNotFoundError) as err:
        die(str(err).splitlines()[0] if str(err) else repr(err))
