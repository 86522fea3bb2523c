"""Weights-only checkpoint loading for every tool of this project.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses the few Python objects
mmengine 0.10.7 writes into its checkpoints (the message hub's ``HistoryBuffer`` with its numpy
arrays, numpy scalars in ``runtime_info``), so ``--resume`` and ``load_from`` fail.  Instead of
turning the protection off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` or ``weights_only=False``, which
let a crafted file run code), this module allow-lists exactly those globals and replaces
mmengine's local-file checkpoint loader (through its public ``CheckpointLoader.register_scheme``)
with one that always passes ``weights_only=True`` and turns a refusal into one clear line.

Importing :mod:`projects.fasternet_yolo11` imports this module; the configs' ``custom_imports``
and every script in ``tools/`` do that.
"""
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader



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
torch.serialization.add_safe_globals(SAFE_GLOBALS)


def _allowed_names():
    names = set()
    for obj in torch.serialization.get_safe_globals():
        names.add(obj[1] if isinstance(obj, tuple) else f'{obj.__module__}.{obj.__qualname__}')
    return names


def load_from_local_weights_only(filename, map_location=None):
    """Load a local checkpoint file with torch's weights_only protection on.

    Raises:
        FileNotFoundError: the file does not exist (one line naming it).
        UnsafeCheckpointError: the file carries a pickled object outside the allow-list.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename!r} (check the path given to '
                                '--resume / load_from / init_cfg.checkpoint)')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
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


# Replaces mmengine's `load_from_local` (registered for the empty prefix, i.e. local paths);
# the name matters: mmengine logs "Loads checkpoint by <name[10:]> backend".
CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_weights_only, force=True)
