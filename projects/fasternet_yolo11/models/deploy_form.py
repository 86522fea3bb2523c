"""The inference (deploy) form of a detector: one function that every user of it calls.

:func:`switch_to_deploy` puts a model in eval mode and applies the deploy steps, each of which
computes the same numbers in less time:

* :func:`fuse_conv_bn`: every BatchNorm folded into the conv before it;
* :func:`set_pconv_mode`: FasterNet's PConv in its ``slicing`` forward;
* channels_last weights: oneDNN's CPU convolutions run NHWC natively; a channels_last conv
  weight turns the NCHW input into NHWC once, at the first layer;
* the branches only training needs are deleted (a module's ``drop_training_branches``: YOLO26's
  one-to-many head branch; the distillation's alignment convs).

``tools/test.py --deploy`` (``DeployModeHook``), the demos, the ONNX exporter, the speed
runners and the FLOPs counter (``fuse=False``: BN counted as Ultralytics counts it) all go
through it. It lives beside the models because it only knows modules.
"""
import torch
from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

PCONV_FORWARDS = ('split_cat', 'slicing')


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm into the conv right before it (mmcv's
    ``fuse_conv_bn``); the BN becomes ``nn.Identity``. Returns the model, with the number of
    folded pairs in ``model._fused_conv_bn``.

    mmcv pairs a BN with the last Conv2d among its siblings, even across another layer; in this
    project's models every BN it folds reads its conv's output directly (tests check it for
    every shipped line), and FasterNet's per-output norms, which follow a residual add and have
    no conv sibling, stay BN. Call on an eval-mode model (running statistics).
    """
    before = sum(isinstance(m, _BatchNorm) for m in model.modules())
    mmcv_fuse_conv_bn(model)
    model._fused_conv_bn = before - sum(isinstance(m, _BatchNorm) for m in model.modules())
    return model


def set_pconv_mode(model: nn.Module, forward_type: str) -> int:
    """Set every PConv's forward type (``split_cat`` or ``slicing``); returns how many."""
    if forward_type not in PCONV_FORWARDS:
        raise ValueError(f'PConv forward must be one of {PCONV_FORWARDS}, got {forward_type!r}')
    count = 0
    for module in model.modules():
        if hasattr(module, 'forward_types') and hasattr(module, 'forward_type'):
            module.forward_type = forward_type
            count += 1
    return count


def switch_to_deploy(model: nn.Module, fuse: bool = True, pconv: str = 'slicing',
                     channels_last: bool = True) -> nn.Module:
    """Eval mode, then the deploy steps: training-only branches deleted, Conv+BN fused
    (``fuse``), every PConv in the ``pconv`` forward, weights in channels_last
    (``channels_last``). The defaults are the deploy form; the options exist for measurements
    (the FLOPs counter keeps BN, the speed runners compare forwards and layouts). Changes
    ``model`` in place and returns it."""
    model.eval()
    for module in [m for m in model.modules() if hasattr(m, 'drop_training_branches')]:
        module.drop_training_branches()
    if fuse:
        fuse_conv_bn(model)
    set_pconv_mode(model, pconv)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model
