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

**Ultralytics ``.pt`` files** are read by :func:`load_ultralytics_checkpoint` without running
their pickle (see there).
"""
import _compat_pickle
import os
import os.path as osp
import pickle
import re
import secrets
import sys
import zipfile
from collections import OrderedDict
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


# ------------------------------------------------------------------------------ loading
class UnsafeCheckpointError(pickle.UnpicklingError):
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
        FileNotFoundError: the file does not exist (one line naming it).
        UnsafeCheckpointError: the file carries a pickled object outside the allow-list.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename!r} (check the path given to '
                                '--resume / load_from / init_cfg.checkpoint)')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap)
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


# ------------------------------------------------------------------------------ Ultralytics .pt files
# An Ultralytics checkpoint pickles the whole DetectionModel (classes of ultralytics.* and
# torch.nn.modules.*): weights_only loading refuses it, and loading it unprotected would run whatever
# the pickle names. Here the model's classes become inert stand-ins that only keep their pickled
# state, tensors are rebuilt from the archive's records, and every other global is refused when the
# pickle names it, before anything can call it.
_MODEL_PACKAGES = ('ultralytics', 'torch.nn.modules')
_STORAGE_DTYPES = {'HalfStorage': torch.float16, 'FloatStorage': torch.float32, 'DoubleStorage': torch.float64,
                   'BFloat16Storage': torch.bfloat16, 'LongStorage': torch.int64, 'IntStorage': torch.int32,
                   'ShortStorage': torch.int16, 'CharStorage': torch.int8, 'ByteStorage': torch.uint8,
                   'BoolStorage': torch.bool, 'UntypedStorage': torch.uint8}
_DTYPES = {name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}


class _StandIn:
    """Inert stand-in for a class (or function) of the pickled model.

    Being called (REDUCE), created (NEWOBJ) or given its state (BUILD) only records the arguments
    in ``pickled_args``/``pickled_state``; it has no other methods that pickle could reach.
    """

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.pickled_args, obj.pickled_state = args, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.pickled_state = state

    def __repr__(self):
        return f'<stand-in for {type(self).__module__}.{type(self).__qualname__}>'


def _is_stand_in(cls):
    return isinstance(cls, type) and issubclass(cls, _StandIn)


class _Storage:
    """The bytes of one ``data/<key>`` record and the dtype the pickle reads them as."""

    def __init__(self, data, dtype):
        self.data, self.dtype = data, dtype


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """``torch._utils._rebuild_tensor_v2``: a view of ``storage`` (grad flags and hooks dropped).

    ``Tensor.set_`` would grow a storage that is too small, so the bounds are checked here.
    """
    size, stride = tuple(size), tuple(stride)
    if not (isinstance(storage, _Storage) and isinstance(offset, int) and len(size) == len(stride)
            and all(isinstance(v, int) and v >= 0 for v in (offset, ) + size + stride)):
        raise pickle.UnpicklingError('malformed tensor record')
    end = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
    if end * storage.dtype.itemsize > storage.data.nbytes():
        raise pickle.UnpicklingError('a tensor reaches past the end of its storage record')
    return torch.empty((0, ), dtype=storage.dtype).set_(storage.data, offset, torch.Size(size), stride)


def _rebuild_parameter(data, *_ignored):
    """``torch._utils._rebuild_parameter[_with_state]``: only the values matter here."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError('malformed parameter record')
    return data


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (protocol 0/1 pickles), for stand-ins only: the real one calls
    ``base.__new__`` and ``base.__init__``."""
    if not _is_stand_in(cls) or not (base is object or _is_stand_in(base)):
        raise UnsafeCheckpointError(f'copyreg._reconstructor({_name_of(cls)}, {_name_of(base)})')
    return cls(state)


def _newobj(cls, *args):
    """``copyreg.__newobj__`` (protocol 0/1 pickles), for stand-ins only."""
    if not _is_stand_in(cls):
        raise UnsafeCheckpointError(f'copyreg.__newobj__({_name_of(cls)})')
    return cls(*args)


def _name_of(obj):
    return f'{getattr(obj, "__module__", "?")}.{getattr(obj, "__qualname__", type(obj).__name__)}'


_READER_GLOBALS = {
    'torch._utils._rebuild_tensor_v2': _rebuild_tensor,
    'torch._utils._rebuild_parameter': _rebuild_parameter,
    'torch._utils._rebuild_parameter_with_state': _rebuild_parameter,
    'torch.Size': torch.Size,
    'collections.OrderedDict': OrderedDict,
    'builtins.set': set,
    'builtins.frozenset': frozenset,
    'builtins.object': object,
    'copyreg._reconstructor': _reconstructor,
    'copyreg.__newobj__': _newobj,
}


class _UltralyticsUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of an open torch zip archive (records under ``prefix/``)."""

    def __init__(self, file, zf, prefix):
        super().__init__(file)
        self.zf, self.prefix = zf, prefix
        self.stand_ins, self.storages = {}, {}

    def find_class(self, module, name):
        # protocol 2 pickles write Python 2 names (__builtin__.eval, commands.call): read them as pickle does
        module, name = _compat_pickle.NAME_MAPPING.get(
            (module, name), (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
        full = f'{module}.{name}'
        if full in _READER_GLOBALS:
            return _READER_GLOBALS[full]
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]  # only ever a persistent id's storage type
        if module == 'torch' and name in _DTYPES:
            return _DTYPES[name]
        if any(module == p or module.startswith(p + '.') for p in _MODEL_PACKAGES) \
                and re.fullmatch(r'[A-Za-z_][\w.]*', full):
            if full not in self.stand_ins:  # a class of its own per global, named like the original
                qualname = name.rsplit('.', 1)[-1]
                self.stand_ins[full] = type(qualname, (_StandIn, ), dict(__module__=module, __qualname__=name))
            return self.stand_ins[full]
        raise UnsafeCheckpointError(full)

    def persistent_load(self, pid):
        """``('storage', storage type, key, location, numel)`` -> the bytes of ``data/<key>`` (on CPU)."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == 'storage'
                and isinstance(pid[1], torch.dtype) and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f'unexpected persistent id {str(pid)[:80]}')
        _, dtype, key, _location, numel = pid
        if key not in self.storages:
            data = self.zf.read(f'{self.prefix}/data/{key}')
            if len(data) < numel * dtype.itemsize:
                raise pickle.UnpicklingError(f'storage record {key} is shorter than its {numel} elements')
            self.storages[key] = torch.UntypedStorage.from_buffer(data, dtype=torch.uint8) if data \
                else torch.UntypedStorage(0)
        return _Storage(self.storages[key], dtype)


def _module_state_dict(module, prefix, out, seen):
    """What ``nn.Module.state_dict`` returns, from a stand-in's pickled ``__dict__`` (fp16 -> fp32)."""
    state = module.pickled_state if isinstance(module, _StandIn) else None
    state = state[0] if isinstance(state, tuple) and len(state) == 2 else state  # (dict, slots) form
    if not isinstance(state, dict) or not isinstance(state.get('_modules'), dict) or id(module) in seen:
        raise pickle.UnpicklingError(f'{prefix.rstrip(".") or "the model"} is not a pickled torch.nn.Module')
    skip = state.get('_non_persistent_buffers_set') or set()
    for group in ('_parameters', '_buffers'):
        for name, value in (state.get(group) or {}).items():
            if value is None or (group == '_buffers' and name in skip):
                continue
            if not isinstance(value, torch.Tensor):
                raise pickle.UnpicklingError(f'{prefix}{name} is not a tensor')
            value = value.detach()  # a fresh tensor: no grad flag or hooks a BUILD may have set
            out[prefix + name] = value.float() if value.dtype == torch.float16 else value
    for name, child in state['_modules'].items():
        if child is not None:
            _module_state_dict(child, f'{prefix}{name}.', out, seen | {id(module)})
    return out


def _plain(value):
    """``value`` with everything but str/int/float/bool/None (and lists/dicts of them) set to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else None


def load_ultralytics_checkpoint(path) -> dict:
    """The weights of an Ultralytics ``.pt`` file, read without running its pickle or importing
    ultralytics.

    Reads the torch zip archive's ``data.pkl`` (globals restricted as described above) and its
    ``data/<key>`` storage records, then walks the pickled model (``ema`` when it is not None, else
    ``model``: a final Ultralytics file keeps the EMA weights, in fp16, under ``model``).

    Returns ``{'state_dict': OrderedDict of the model's parameters and persistent buffers (fp16 as
    fp32), 'source': 'ema' | 'model', 'meta': {'date', 'version', 'train_args'} (plain values)}``.

    Raises:
        UnsafeCheckpointError: the pickle names a global outside the model (one line, naming it).
        pickle.UnpicklingError: the file is not a readable torch checkpoint of a pickled model.
    """
    path = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            records = [n for n in zf.namelist() if n.count('/') == 1 and n.endswith('/data.pkl')]
            if len(records) != 1:
                raise pickle.UnpicklingError('no single <archive>/data.pkl record')
            prefix = records[0].split('/')[0]
            byteorder = f'{prefix}/byteorder'
            if byteorder in zf.namelist() and zf.read(byteorder) != b'little' or sys.byteorder != 'little':
                raise pickle.UnpicklingError('only little-endian tensor data is read')
            with zf.open(records[0]) as f:
                obj = _UltralyticsUnpickler(f, zf, prefix).load()
        ckpt = obj if isinstance(obj, dict) else {'model': obj}
        source = 'ema' if ckpt.get('ema') is not None else 'model'
        if ckpt.get(source) is None:
            raise pickle.UnpicklingError("it holds no model (neither 'ema' nor 'model')")
        state_dict = _module_state_dict(ckpt[source], '', OrderedDict(), frozenset())
        meta = {key: _plain(ckpt.get(key)) for key in ('date', 'version', 'train_args')}
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(
            f'refused to read {path!r}: it references {err}, which could run code; an Ultralytics '
            'checkpoint only holds tensors and ultralytics/torch.nn module objects') from None
    except Exception as err:  # untrusted input fails in many ways: one line each
        raise pickle.UnpicklingError(f'cannot read {path!r} as an Ultralytics checkpoint: '
                                     f'{str(err).splitlines()[0] if str(err) else type(err).__name__}') from err
    return {'state_dict': state_dict, 'source': source, 'meta': meta}


def read_state_dict_file(path) -> Tuple[dict, dict]:
    """(state dict, origin) of a weights file of any kind, read without running code: a torch file
    of tensors (weights-only; a ``state_dict`` or ``model`` inside a checkpoint is unwrapped), or an
    Ultralytics ``.pt`` (pickled modules: :func:`load_ultralytics_checkpoint`; ``origin`` then holds
    ``ultralytics_version``, ``ultralytics_date`` and ``ultralytics_weights``, else it is empty).
    The keys are the file's own. Raises ValueError (one line naming the file) otherwise, including
    for a file that could run code."""
    path = str(path)
    try:
        obj = load_weights_only(path, map_location='cpu')
    except UnsafeCheckpointError:  # pickled objects: an Ultralytics model, read without running its pickle
        try:
            ckpt = load_ultralytics_checkpoint(path)
        except pickle.UnpicklingError as err:  # UnsafeCheckpointError included
            raise ValueError(str(err)) from None
        origin = dict(ultralytics_version=ckpt['meta']['version'], ultralytics_date=ckpt['meta']['date'],
                      ultralytics_weights=ckpt['source'])
        return dict(ckpt['state_dict']), {k: v for k, v in origin.items() if isinstance(v, str)}
    except RuntimeError as err:  # e.g. a truncated zip archive
        raise ValueError(f'cannot read {path!r}: {str(err).splitlines()[0]}') from None
    for field in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(field), dict):
            obj = obj[field]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f'{path} holds no state dict of tensors')
    return dict(obj), {}
