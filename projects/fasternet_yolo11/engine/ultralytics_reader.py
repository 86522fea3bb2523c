"""Ultralytics ``.pt`` files read without running their pickle or importing ultralytics.

An Ultralytics checkpoint pickles the whole DetectionModel (classes of ``ultralytics.*`` and
``torch.nn.modules.*``): weights-only loading refuses it, and loading it unprotected would run
whatever the pickle names. :func:`load_ultralytics_checkpoint` reads it with a restricted
unpickler (see there); ``engine/weight_transfer.py`` and ``tools/model_converters/`` use it.
"""
import _compat_pickle
import pickle
import re
import sys
import zipfile
from collections import OrderedDict

import torch

from .checkpoint_io import UnsafeCheckpointError

# The model's classes become inert stand-ins that only keep their pickled state, tensors are rebuilt
# from the archive's records, and every other global is refused when the pickle names it, before
# anything can call it.
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
