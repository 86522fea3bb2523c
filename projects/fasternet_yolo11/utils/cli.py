"""The command-line layer: what every script in ``tools/`` and ``demo/`` shares.

A tool's ``__main__`` is ``cli.main(run)``: the engine set-up first (:func:`start`), then
``run()``; a :class:`~fasternet_yolo11.errors.UserError` raised anywhere below (bad data yaml,
missing file, refused checkpoint, NaN loss, ...) ends the process with its one line and exit
status 2 instead of a traceback. A ``FileNotFoundError`` of a third-party library (mmengine
reading a missing annotation file, say) is a user's missing file too. This is the only place
that turns an error into an exit code.
"""
import os
import sys

from ..config.loading import REPO_ROOT, load_config  # noqa: F401  (the tools' config reader)
from ..errors import UserError

__all__ = ['REPO_ROOT', 'load_config', 'start', 'main', 'die', 'finish', 'img_size_flag',
           'check_file']


def start():
    """The explicit engine set-up of every tool: weights-only checkpoint loading with the
    allow-list of mmengine's training state (see ``engine/checkpoint_io.py``)."""
    from ..engine.checkpoint_io import use_weights_only_loading
    use_weights_only_loading()


def die(message):
    """Exit with one actionable line instead of a traceback."""
    print(f'error: {message}', file=sys.stderr)
    finish(2)


def main(run, *args, **kwargs):
    """``start()``, then ``run(*args, **kwargs)`` (its result returned); a user error ends the
    process with its one line (exit 2)."""
    from ..engine.distributed import started_gloo
    start()
    try:
        result = run(*args, **kwargs)
    except (UserError, FileNotFoundError) as err:
        text = str(err).strip()
        die(text.splitlines()[0] if text else repr(err))
    if started_gloo():
        finish(0)
    return result


def check_file(path, what='file'):
    """A local path given on the command line exists (URLs are left to their reader)."""
    if path is not None and '://' not in str(path) and not os.path.isfile(path):
        die(f'{what} not found: {path!r}')


def img_size_flag(size):
    """``--img-size`` as used: rounded up to a multiple of the stride, with a note when it changes."""
    from ..config.run_settings import STRIDE, round_img_size
    if size is None or size == round_img_size(size):
        return size
    print(f'note: --img-size {size} is not a multiple of {STRIDE}; using {round_img_size(size)}', file=sys.stderr)
    return round_img_size(size)


def finish(code=0):
    """End a script; after a gloo run, without the interpreter's shutdown.

    With torch 2.13 (CPU) a process that used a gloo group often aborts while the interpreter
    shuts down ("terminate called without an active exception", SIGABRT), after all the work
    is done and even after ``destroy_process_group``; torchrun then reports the run as failed.
    So once the logs are flushed, such a process leaves through ``os._exit``.
    """
    from ..engine.distributed import started_gloo
    if not started_gloo():
        raise SystemExit(code)
    import logging

    import torch
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
