"""Engine parts: hooks (one per file), the finite-step optim wrapper, checkpoint I/O."""
from . import checkpoint_io  # noqa: F401  (registers the 'atomic_local' file backend)
from .hooks import *  # noqa: F401,F403
from .optim_wrappers import FiniteOptimWrapper  # noqa: F401
