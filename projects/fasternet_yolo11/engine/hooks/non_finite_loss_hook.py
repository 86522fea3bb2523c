"""``NonFiniteLossHook``: a NaN/Inf loss stops the run (or skips the step), naming the terms."""
import torch
from mmengine.hooks import Hook
from mmyolo.registry import HOOKS

from ...errors import UserError
from ..optim_wrappers import NominalBatchOptimWrapper


class NonFiniteLossError(UserError, RuntimeError):
    """The training loss became NaN or Inf (tools/train.py prints it as one line)."""


def _optim_wrappers(runner):
    """The runner's optim wrappers as a dict (one, or those of an OptimWrapperDict)."""
    return getattr(runner.optim_wrapper, 'optim_wrappers', None) or {'': runner.optim_wrapper}


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop (default) or skip a training step whose loss is NaN/Inf, naming iteration and terms.

    Args:
        action (str): ``'stop'`` raises :class:`NonFiniteLossError` with one line such as
            ``non-finite loss at iteration 12 (epoch 1): loss=nan loss_bbox=nan``;
            ``'skip'`` logs that line as a warning and goes on (the step is not applied: this
            needs ``optim_wrapper.type='NominalBatchOptimWrapper'`` (the recipe's), or AmpOptimWrapper,
            whose loss scaler skips such steps).
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, action='stop'):
        if action not in ('stop', 'skip'):
            raise ValueError(f"NonFiniteLossHook action must be 'stop' or 'skip', got {action!r}")
        self.action = action
        self.skipped = 0

    def before_train(self, runner):
        wrappers = _optim_wrappers(runner)
        unguarded = [type(w).__name__ for w in wrappers.values()
                     if not isinstance(w, NominalBatchOptimWrapper) and 'Amp' not in type(w).__name__]
        if self.action == 'skip' and unguarded:
            raise NonFiniteLossError(
                f"non_finite_loss action 'skip' needs optim_wrapper.type='NominalBatchOptimWrapper' "
                f'(the config has {unguarded[0]}, which would apply a NaN step)')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        terms = {k: float(v.detach().mean()) for k, v in (outputs or {}).items()
                 if 'loss' in k and torch.is_tensor(v) and not torch.isfinite(v).all()}
        wrappers = _optim_wrappers(runner)
        if not terms and all(getattr(w, 'last_loss_finite', True) for w in wrappers.values()):
            return
        shown = ' '.join(f'{k}={v}' for k, v in terms.items()) or 'on another process'
        message = (f'non-finite loss at iteration {runner.iter + 1} '
                   f'(epoch {runner.epoch + 1}): {shown}')
        if self.action == 'stop':
            raise NonFiniteLossError(
                message + ' (lower the learning rate, check the labels, or set '
                "default_hooks.non_finite_loss.action='skip')")
        self.skipped += 1
        runner.logger.warning(f'{message}; step skipped ({self.skipped} so far)')
