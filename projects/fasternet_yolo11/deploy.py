"""Switching a model to its inference form.

mmyolo's ``switch_to_deploy`` util only reaches RepVGG blocks; this one calls
``switch_to_deploy()`` on every module that defines it (FasterNet's PConv switches to
``slicing``, and any fused block of this project does its fusion), once each.
"""
from torch import nn


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Call ``switch_to_deploy()`` on every submodule that has it; returns the model."""
    for module in list(model.modules()):
        if module is not model and callable(getattr(module, 'switch_to_deploy', None)):
            module.switch_to_deploy()
    return model
