"""Checkpoint I/O, all of it: loading weights-only, saving atomically, finding what to resume.

**Loading.** torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the few
Python objects mmengine 0.10.7 writes into its checkpoints (the message hub's
``HistoryBuffer`` with its numpy arrays, numpy scalars in ``runtime_info``), so ``--resume``
and ``load_from`` fail. Instead of turning the protection off, :func:`use_weights_only_loading`
allow-lists exactly those globals and registers, for local paths, a loader that always passes
``weights_only=True`` and turns a refusal into one line naming the file and the refused
globals. The tools call it at start-up (``fasternet_yolo11.utils.cli.start``); importing the
package does not.

**Saving.** A SIGKILL or power cut while mmengine writes ``epoch_N.pth`` (its LocalBackend
opens the target and writes into it) leaves a truncated file under the final name. The
``atomic_local`` file backend (:class:`AtomicLocalBackend`, selected by the checkpoint hook's
``backend_args`` in the configs) writes to a temporary file in the same folder, flushes it to
disk and renames it over the target (``os.replace`` is atomic on POSIX and Windows), so a
checkpoint either is complete or does not exist. Every other file mmengine writes keeps
mmengine's own ``local`` backend.

**Resuming.** :func:`find_resume_checkpoint` picks the newest *complete* checkpoint of a work
dir, also when ``last_checkpoint`` is missing or names a truncated file.

Ultralytics ``.pt`` files (pickled modules) are read by
:mod:`fasternet_yolo11.engine.ultralytics_reader`; a checkpoint's meta by
:mod:`fasternet_yolo11.engine.checkpoint_meta`.
"""
import os
import os.path as osp
import pickle
import re
import secrets
import zipfile
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..errors import CheckpointError, MissingFileError, UserError


# ------------------------------------------------------------------------------ loading
class UnsafeCheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint holds pickled objects that are not on the allow-list."""


def _history_buffer_statistic(owner, name):
    """Stands in for ``builtins.getattr`` while unpickling, for one use only.

    HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``; a real
    ``getattr`` on the allow-list would let a file fetch any attribute of any allowed object, so
    only a HistoryBuffer method of that name is handed out.
    """
    method = getattr(HistoryBuffer, name, None) if owner is HistoryBuffer else None
    if not callable(method) or name.startswith('_'):
        raise UnsafeCheckpointError(f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')
    return method


# What mmengine/mmyolo checkpoints hold besides tensors and plain containers:
#   HistoryBuffer (message_hub.log_scalars) -> numpy arrays of float64/int64 and its statistics
#   methods; numpy scalars (runtime_info values such as best scores).
_NUMPY_DTYPE_CLASSES = [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]
SAFE_GLOBALS = [
    HistoryBuffer,
    (_history_buffer_statistic, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    np.core.multiarray._reconstruct,
    np.core.multiarray.scalar,
    *_NUMPY_DTYPE_CLASSES,
]


def _allowed_names():
    names = set()
    for obj in torch.serialization.get_safe_globals():
        names.add(obj[1] if isinstance(obj, tuple) else f'{obj.__module__}.{obj.__qualname__}')
    return names


def load_weights_only(filename, map_location=None, mmap=False):
    """Load a local checkpoint file with torch's weights_only protection on (``mmap``: map
    the tensor data instead of reading it, for a look at keys and shapes).

    Raises:
        MissingFileError: the file does not exist (one line naming it).
        CheckpointError: the file is not a torch archive (an ONNX or OpenVINO export, a
            foreign file): one line saying which and what to use instead.
        UnsafeCheckpointError: the file carries a pickled object outside the allow-list.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise MissingFileError(f'checkpoint not found: {filename!r} (check the path given to '
                                '--resume / load_from / init_cfg.checkpoint)')
    if filename.lower().endswith(EXPORT_SUFFIXES) and not zipfile.is_zipfile(filename):
        raise CheckpointError(not_a_checkpoint(filename))
    try:
        return torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap)
    except RuntimeError as err:  # not a torch archive, or a truncated one
        if zipfile.is_zipfile(filename):
            raise
        raise CheckpointError(f'{not_a_checkpoint(filename)} ({str(err).splitlines()[0]})') from None
    except pickle.UnpicklingError as err:
        try:
            unsafe = sorted(set(torch.serialization.get_unsafe_globals_in_checkpoint(filename))
                            - _allowed_names())
        except Exception:  # not a zip checkpoint: fall back to torch's own words
            unsafe = [str(err).splitlines()[0]]
        raise UnsafeCheckpointError(
            f'refused to load {filename!r}: it contains pickled objects that could run code '
            f'({", ".join(unsafe) or "unknown"}); only weights and mmengine training state are '
            'allowed. Re-save a trusted file as a plain state_dict.') from None


EXPORT_SUFFIXES = ('.onnx', '.xml', '.bin')  # exported models: ONNX, OpenVINO IR


def not_a_checkpoint(path: str) -> str:
    """One line saying what ``path`` (not a torch zip archive) is, and what to do with it."""
    low = path.lower()
    if low.endswith('.onnx'):
        return (f'{path} is an exported ONNX model, not a PyTorch checkpoint: evaluate it with '
                f'tools/deployment/test_exported.py CONFIG {path}, run it with demo/image_demo.py {path} '
                'INPUT --backend onnxruntime')
    if low.endswith(('.xml', '.bin')):
        return (f'{path} is an OpenVINO model, not a PyTorch checkpoint: evaluate it with '
                f'tools/deployment/test_exported.py CONFIG {path} --backend openvino')
    return (f'{path} is not a PyTorch checkpoint (a torch.save zip archive): is it truncated, or '
            'another kind of file?')


def use_weights_only_loading() -> None:
    """Allow-list mmengine's training state for ``weights_only`` loads, and make mmengine's
    loader of local paths :func:`load_weights_only` (one-line refusals). Idempotent.

    It changes process-wide state (torch's safe globals, mmengine's ``CheckpointLoader`` for
    the empty prefix), which is why it is an explicit call of the tools and not an import
    effect. mmengine's own local loader also loads weights-only under torch 2.13; what this
    one adds is the one-line refusal naming the file and the refused globals.
    """
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    # the name matters: mmengine logs "Loads checkpoint by <name[10:]> backend"
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_weights_only,
                                     force=True)


def load_from_local_weights_only(filename, map_location=None):
    """mmengine ``CheckpointLoader`` scheme for local paths (see :func:`load_weights_only`)."""
    return load_weights_only(filename, map_location)


# ------------------------------------------------------------------------------ saving
TMP_SUFFIX = '.tmp'


def atomic_write(data, filepath):
    """Write ``data`` (bytes or str) to ``filepath`` through a temporary file and a rename.

    The temporary file is created like ``open(path, 'wb')`` would create it (mode 0o666 less
    the process umask, applied by the kernel), in the target's folder so the rename is atomic.
    """
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(filepath)}.{secrets.token_hex(4)}{TMP_SUFFIX}')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0), 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode('utf-8') if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself survive a power cut (POSIX; not possible on Windows)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with ``put``/``put_text`` made atomic.

    Registered as ``atomic_local`` (a name of its own: mmengine's ``local`` stays as it is);
    select it with ``backend_args=dict(backend='atomic_local')``.
    """

    def put(self, obj, filepath):
        atomic_write(obj, str(filepath))

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), str(filepath))


ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')
register_backend('atomic_local', AtomicLocalBackend)


# ------------------------------------------------------------------------------ resuming
def is_complete_checkpoint(path):
    """True when ``path`` is a complete torch zip checkpoint (cheap: reads the zip directory).

    A write cut short has no zip end record, so it fails here without being unpickled.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith('data.pkl') for name in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def latest_complete_checkpoint(work_dir):
    """The checkpoint ``--resume`` should use, and a note when it is not ``last_checkpoint``.

    ``last_checkpoint`` is trusted when it names a complete file; otherwise (missing, empty,
    pointing at a missing or truncated file) the newest complete ``epoch_N.pth``/``iter_N.pth``
    in ``work_dir`` is used. Returns (path or None, note or None).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip() or None
        if named and is_complete_checkpoint(named):
            return named, None
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name)
        if m and is_complete_checkpoint(osp.join(work_dir, name)):
            found.append((int(m.group(2)), osp.join(work_dir, name)))
    best = max(found)[1] if found else None
    if named is None and best is None:
        return None, None
    why = (f'last_checkpoint names {named!r}, which is missing or incomplete' if named else
           'last_checkpoint is missing or empty')
    return best, f'{why}; resuming from {best}' if best else f'{why}; starting from scratch'


def remove_stale_temporaries(work_dir):
    """Delete temporary files a killed save left behind; returns their names."""
    names = os.listdir(work_dir) if osp.isdir(work_dir) else []
    # only what atomic_write names: .<checkpoint or last_checkpoint>.<8 hex chars>.tmp
    stale = [n for n in names if re.fullmatch(r'\.(.+\.pth|last_checkpoint)\.\w{8}\.tmp', n)]
    for name in stale:
        try:
            os.remove(osp.join(work_dir, name))
        except FileNotFoundError:  # another process of a distributed run was quicker
            pass
    return stale


def find_resume_checkpoint(work_dir) -> Tuple[Optional[str], List[str]]:
    """What ``--resume`` (no path) continues from, robust to a kill at any moment.

    Removes the temporaries a killed save left, then returns (the checkpoint of
    :func:`latest_complete_checkpoint` or None for a fresh start, notes for the user).
    """
    notes = []
    stale = remove_stale_temporaries(work_dir)
    if stale:
        notes.append(f'removed {len(stale)} unfinished checkpoint write(s) in {work_dir}: '
                     f'{", ".join(stale)}')
    path, note = latest_complete_checkpoint(work_dir)
    if note:
        notes.append(note)
    elif path is None:
        notes.append(f'no checkpoint in {work_dir} to resume from; starting from scratch')
    return path, notes
