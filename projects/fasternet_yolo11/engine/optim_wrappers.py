"""Optim wrappers with Ultralytics' gradient accumulation to a nominal batch:
``NominalBatchOptimWrapper`` (fp32; a step is never taken on a NaN/Inf loss) and
``NominalBatchAmpOptimWrapper`` (mixed precision).

Declared in the recipe (``configs/_base_/schedules/yolo11_recipe.py``); the
:class:`~fasternet_yolo11.engine.hooks.NonFiniteLossHook` reads what it did. The accumulation
count comes from the config's ``nbs`` and the wrapper type from its ``amp``
(``config/derivation.py``).
"""
import numpy as np
import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmyolo.registry import OPTIM_WRAPPERS


class NominalBatchAccumulation:
    """Ultralytics' (8.3.0 trainer) gradient accumulation on an mmengine optim wrapper.

    With ``accumulative_counts=k > 1``:

    * **the gradients of the window's batches are summed, not averaged.** Each batch's loss is
      back-propagated as it is (``scale_loss`` is the identity; mmengine's OptimWrapper divides
      it by k). The YOLOv8/YOLO11 loss is already Ultralytics' ``loss.sum() * batch_size``
      (times the world size under DDP), so one step applies the gradient of about
      ``k * batch`` images, as an Ultralytics step at ``accumulate=k`` does, and
      ``clip_grad`` (max norm 10) clips that summed gradient, as Ultralytics does;
    * **steps follow Ultralytics' rule**: at batch ``ni`` (0-based, counted over the whole run,
      the scheduler hook's ``runner.iter``) the wrapper steps when ``ni - last_step >=
      accumulate(ni)``. With ``accumulate_warmup=dict(epochs=E, min_iters=M)`` (copied from
      the ``YOLOv5ParamSchedulerHook`` by the config derivation) accumulate ramps during the
      lr warm-up as Ultralytics' does, ``max(1, round(interp(ni, [0, nw], [1, k])))`` with
      ``nw = max(round(E * iters_per_epoch), M)``, the same ``nw`` over which the hook ramps
      lr and momentum per iteration; after it, accumulate is k. Without it (None), every
      window is k batches;
    * the last iteration of the run always steps (mmengine's rule; Ultralytics drops it);
    * on resume the step positions are replayed from iteration 0, so the windows fall where
      they would have; the gradients of a window cut by the checkpoint are lost (mmengine does
      not save them).

    With k = 1 every batch steps, exactly as mmengine's OptimWrapper.
    """

    def __init__(self, *args, accumulate_warmup=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.accumulate_warmup = accumulate_warmup
        self._warmup_iters = None  # resolved at the first iteration (needs the loader length)
        self._last_step = None
        self._count_origin = 0

    # -------- the schedule --------
    def _resolve(self):
        if self._last_step is not None:
            return
        nw = 0
        if self.accumulate_warmup and self._accumulative_counts > 1:
            hub = MessageHub.get_current_instance()
            max_epochs, max_iters = hub.get_info('max_epochs'), hub.get_info('max_iters')
            if max_epochs and max_iters:
                per_epoch = max_iters // max_epochs
                nw = max(round(self.accumulate_warmup.get('epochs', 3) * per_epoch),
                         self.accumulate_warmup.get('min_iters', 0))
            else:
                print_log('accumulate_warmup: the run length is unknown (no max_epochs/max_iters '
                          'in the message hub); accumulating without a warm-up ramp',
                          logger='current', level=30)
        self._warmup_iters = nw
        # replay the steps before a resume: the ramp batch by batch, then every k batches
        last, k = -1, self._accumulative_counts
        for ni in range(min(self._count_origin, nw + 1)):
            if ni - last >= self.accumulate_at(ni):
                last = ni
        if self._count_origin > nw + 1:
            last += (self._count_origin - 1 - last) // k * k
        self._last_step = last
        if k > 1:
            ramp = f', ramping from 1 over the first {nw} iterations' if nw else ''
            print_log(f'gradient accumulation: one optimizer step per {k} batches{ramp} '
                      '(Ultralytics nominal batch; gradients summed)', logger='current')

    def accumulate_at(self, ni):
        """How many batches the window that contains batch ``ni`` spans (Ultralytics'
        ``self.accumulate`` at ``ni``)."""
        k = self._accumulative_counts
        nw = self._warmup_iters
        if k <= 1 or not nw:
            return k
        return max(1, int(np.interp(min(ni, nw), [0, nw], [1, k]).round()))

    def _steps_at(self, ni):
        self._resolve()
        return ni - self._last_step >= self.accumulate_at(ni) or ni + 1 == self._max_counts

    # -------- mmengine's OptimWrapper interface --------
    def initialize_count_status(self, model, init_counts, max_counts):
        # mmengine's version warns when a resume point is not a multiple of k, which is
        # meaningless under this rule (the windows are replayed), so only the counters are set
        self._inner_count = init_counts
        self._max_counts = max_counts
        self._remainder_counts = max_counts % self._accumulative_counts
        self._count_origin = init_counts
        self._last_step = None

    def should_update(self):
        return self._steps_at(self._inner_count - 1)  # called after backward (count + 1)

    def should_sync(self):
        return self._steps_at(self._inner_count)  # called before backward

    def scale_loss(self, loss):
        return loss  # summed over the window, as Ultralytics (see the class docstring)

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        self.backward(self.scale_loss(loss))
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))
            self._last_step = self._inner_count - 1

    def end_window_without_step(self):
        """The current batch ends its window but nothing is applied (a dropped step)."""
        if self.should_update():
            self._last_step = self._inner_count - 1


# FiniteOptimWrapper: the name under which configs written before the rename ask for it.
@OPTIM_WRAPPERS.register_module(name=['NominalBatchOptimWrapper', 'FiniteOptimWrapper'])
class NominalBatchOptimWrapper(NominalBatchAccumulation, OptimWrapper):
    """OptimWrapper with Ultralytics' accumulation (:class:`NominalBatchAccumulation`;
    ``accumulative_counts=1``: a step per batch) that does not step on a NaN/Inf loss.

    The backward pass still runs (DDP expects one per forward); when the loss is not finite on
    any process the gradients are dropped instead of stepped, so the weights and the optimizer's
    state (momentum) stay as they were and the EMA keeps averaging finite weights.
    ``last_loss_finite`` tells :class:`NonFiniteLossHook` what happened.

    With accumulation, a non-finite batch drops the gradients accumulated so far in its window
    (they share the gradient buffers with it); the window's later batches still accumulate and
    step at its end, and when the non-finite batch is the window's last, the window ends with no
    step. All processes agree on this (the finiteness is all-reduced), and under DDP the
    gradients stay in sync: those dropped were never all-reduced, or were zeroed everywhere.
    """

    last_loss_finite = True

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        finite = torch.isfinite(loss.detach()).all().float().reshape(1)
        if get_world_size() > 1:  # all processes must agree, or their weights drift apart
            all_reduce(finite, op='min')
        self.last_loss_finite = bool(finite.item())
        if self.last_loss_finite:
            return super().update_params(loss, step_kwargs, zero_kwargs)
        self.backward(self.scale_loss(loss))  # counts the batch (_inner_count) as usual
        self.zero_grad(**(zero_kwargs or {}))
        self.end_window_without_step()


@OPTIM_WRAPPERS.register_module()
class NominalBatchAmpOptimWrapper(NominalBatchAccumulation, AmpOptimWrapper):
    """mmengine's AmpOptimWrapper (GPU) with Ultralytics' accumulation: what ``amp`` selects
    when the config accumulates (its loss scaler skips the non-finite steps itself)."""
