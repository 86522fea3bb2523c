"""YOLO11, YOLO11-FasterNet and their CPU lines for MMYOLO.

Importing the package registers the project's modules in mmyolo's registries (``custom_imports``
in the configs does it in every process, dataloader workers and torchrun ranks included): the
models, datasets, evaluation and engine layers, nothing of ``deploy/`` or ``analysis/`` and no
deployment runtime. Its only other effects, all of them additions:

* the file backend ``atomic_local`` is registered with mmengine (a new name; mmengine's
  ``local`` backend and its checkpoint loaders stay as they are);
* ``NO_ALBUMENTATIONS_UPDATE=1`` is set in the environment unless already set: albumentations,
  imported by the data pipeline, otherwise asks PyPI for updates at import, and no traffic
  may leave the machine from a training run.

Everything that changes how mmengine or torch behave is an explicit call:
``fasternet_yolo11.utils.cli.start()`` (what the tools call first) allow-lists mmengine's
training state for torch's weights-only loading
(:func:`fasternet_yolo11.engine.checkpoint_io.use_weights_only_loading`).

Layers, each importing only those before it: ``errors`` (the user-error classes) <- ``models``
(backbones, necks, dense heads, layers, the deploy form, weight converters) <- ``datasets``,
``evaluation`` <- ``engine`` (hooks, optim wrappers, checkpoint I/O, weight transfer) <-
``config`` (reading configs, derived keys, run settings) <- ``deploy`` (export, runtimes, demos'
library), ``analysis`` (measurements) <- ``utils/cli.py`` and the scripts in ``tools/``, ``demo/``.
"""
import os

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registration)
