"""Engine parts: hooks (one per file), the nominal-batch optim wrappers, checkpoint I/O and
meta, weight transfer, the distributed set-up on CPU."""
from . import checkpoint_io  # noqa: F401  (registers the 'atomic_local' file backend)
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import NominalBatchAmpOptimWrapper, NominalBatchOptimWrapper  # noqa: F401
