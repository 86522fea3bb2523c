"""``FiniteOptimWrapper``: an optimizer step that is never taken on a NaN/Inf loss.

Declared in the recipe (``configs/_base_/schedules/yolo11_recipe.py``); the
:class:`~fasternet_yolo11.engine.hooks.NonFiniteLossHook` reads what it did.
"""
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.optim import OptimWrapper
from mmyolo.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """OptimWrapper that does not step on a NaN/Inf loss.

    The backward pass still runs (DDP expects one per forward); when the loss is not finite on
    any process the gradients are dropped instead of stepped, so the weights and the optimizer's
    state (momentum) stay as they were and the EMA keeps averaging finite weights.
    ``last_loss_finite`` tells :class:`NonFiniteLossHook` what happened.
    """

    last_loss_finite = True

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        finite = torch.isfinite(loss.detach()).all().float().reshape(1)
        if get_world_size() > 1:  # all processes must agree, or their weights drift apart
            all_reduce(finite, op='min')
        self.last_loss_finite = bool(finite.item())
        if self.last_loss_finite:
            return super().update_params(loss, step_kwargs, zero_kwargs)
        self.backward(self.scale_loss(loss))  # counts the step (_inner_count) as usual
        # with gradient accumulation this also drops the window's earlier micro-batches
        self.zero_grad(**(zero_kwargs or {}))
