"""The inference (deploy) form of a trained detector.

:func:`switch_to_deploy` is the one switch: eval mode, then each of its three steps once --
:func:`fuse_conv_bn` (every BatchNorm folded into the conv before it), :func:`set_pconv_mode`
(FasterNet's PConv to ``slicing``) and the weights in channels_last (oneDNN's CPU convolutions
run NHWC natively; a channels_last conv weight turns the NCHW input into NHWC once, at the
first layer). The outputs are the same numbers. ``tools/test.py --deploy``, the demos, the
exporter and the benchmarks all go through it or its steps.
"""
import torch
from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


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
    count = 0
    for module in model.modules():
        if hasattr(module, 'forward_types') and hasattr(module, 'forward_type'):
            assert forward_type in module.forward_types, forward_type
            module.forward_type = forward_type
            count += 1
    return count


def switch_to_deploy(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """Eval mode, Conv+BN fused, PConv ``slicing``, weights channels_last (unless
    ``channels_last=False``). Returns the model."""
    model.eval()
    fuse_conv_bn(model)
    set_pconv_mode(model, 'slicing')
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model
