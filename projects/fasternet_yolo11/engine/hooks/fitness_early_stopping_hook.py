"""``FitnessEarlyStoppingHook``: Ultralytics' ``patience`` on mmengine's ``EarlyStoppingHook``.

Stop when the monitored metric (default ``coco/fitness`` = 0.1 mAP50 + 0.9 mAP50-95, rule
greater) has not improved for ``patience`` epochs. Differences from mmengine's hook (0.10.7):

* ``patience`` counts epochs since the best validation, as Ultralytics does (mmengine counts
  validations, so with ``val_interval=10`` its patience 5 means 50 epochs); with an
  iteration-based loop, or ``by_epoch=False``, it counts validations;
* an improvement is strictly better than the best by more than ``min_delta`` (default 0): a
  metric that stays the same is no improvement (Ultralytics' ``>=`` never stops such a run;
  mmengine's default ``min_delta`` is 0.1, a whole 10 mAP points);
* ``patience <= 0`` disables it (Ultralytics);
* when it stops, the checkpoint of the epoch just trained is written (the checkpoint hook
  writes one only every ``interval`` epochs or at ``max_epochs``), and the log line says why,
  where the best was and which checkpoints hold the best and the last weights;
* the best value and its epoch live in the message hub's runtime info, so ``--resume``
  continues counting.

Priority LOWEST (as mmengine's): the checkpoint hook has already written ``best_*.pth``.
"""
import math
import warnings

from mmengine.hooks import CheckpointHook, EarlyStoppingHook
from mmengine.runner import EpochBasedTrainLoop
from mmyolo.registry import HOOKS


@HOOKS.register_module()
class FitnessEarlyStoppingHook(EarlyStoppingHook):
    """Args: monitor, rule ('greater'/'less'), min_delta, strict, check_finite,
    stopping_threshold: as mmengine's EarlyStoppingHook; patience (int): epochs (or
    validations) without improvement before stopping, default 100 (Ultralytics); by_epoch
    (bool, optional): count epochs (default: when the train loop is epoch-based);
    save_last (bool): write the stopping epoch's checkpoint. Default True."""

    _INFO = 'early_stopping'

    def __init__(self, monitor='coco/fitness', rule='greater', min_delta=0.0, strict=False,
                 check_finite=True, patience=100, stopping_threshold=None, by_epoch=None,
                 save_last=True):
        super().__init__(monitor, rule=rule, min_delta=min_delta, strict=strict,
                         check_finite=check_finite, patience=patience,
                         stopping_threshold=stopping_threshold)
        self.by_epoch = by_epoch
        self.save_last = save_last
        self.best_step = None
        self.num_val = 0

    def _counts_epochs(self, runner):
        if self.by_epoch is not None:
            return self.by_epoch
        return isinstance(runner.train_loop, EpochBasedTrainLoop)

    def before_run(self, runner):
        if self.patience > 0:
            super().before_run(runner)

    def before_train(self, runner):
        state = runner.message_hub.get_info(self._INFO)
        if isinstance(state, dict) and state.get('monitor') == self.monitor:
            self.best_score = state['best']
            self.best_step = state['best_step']
            self.num_val = state['num_val']

    def _improved(self, current):
        if self.best_step is None:
            return True
        if self.rule == 'greater':
            return current > self.best_score + abs(self.min_delta)
        return current < self.best_score - abs(self.min_delta)

    def after_val_epoch(self, runner, metrics):
        if self.patience <= 0 or not hasattr(runner, 'train_loop') or runner.train_loop is None:
            return
        if self.monitor not in (metrics or {}):
            if self.strict:
                raise RuntimeError(f'Early stopping monitors `{self.monitor}`, which the evaluation '
                                   f'does not give (it gives {list(metrics or {})})')
            warnings.warn(f'Early stopping skipped: the evaluation gives no `{self.monitor}` '
                          f'({list(metrics or {})})')
            return
        self.num_val += 1
        epochs = self._counts_epochs(runner)
        step = int(runner.epoch) if epochs else self.num_val
        unit = 'epochs' if epochs else 'validations'
        current = float(metrics[self.monitor])
        reason = None
        if self.check_finite and not math.isfinite(current):
            reason = f'{self.monitor} = {current} is not finite'
        elif self.stopping_threshold is not None and self.rule_map[self.rule](
                current, self.stopping_threshold):
            reason = (f'{self.monitor} = {current:.4f} reached the stopping threshold '
                      f'{self.stopping_threshold}')
        if self._improved(current):
            self.best_score, self.best_step = current, step
        elif reason is None and step - self.best_step >= self.patience:
            reason = (f'{self.monitor} has not improved for {step - self.best_step} {unit} '
                      f'(patience {self.patience}): best {self.best_score:.4f} at '
                      f'{unit[:-1]} {self.best_step}, now {current:.4f}')
        runner.message_hub.update_info(self._INFO, dict(
            monitor=self.monitor, best=self.best_score, best_step=self.best_step,
            num_val=self.num_val))
        if reason is None:
            return
        runner.train_loop.stop_training = True
        last = self._save_last(runner) if self.save_last else None
        best = runner.message_hub.get_info('best_ckpt')
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        where = (f'after epoch {runner.epoch} of {max_epochs}' if epochs
                 else f'at iteration {runner.iter}')
        runner.logger.info(
            f'Early stopping {where}: {reason}.'
            + (f' Best checkpoint: {best}.' if best else '')
            + (f' Last checkpoint: {last}.' if last else ''))

    def _save_last(self, runner):
        """Write the stopping step's checkpoint unless the checkpoint hook already has."""
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        if not hooks:
            return None
        hook = hooks[0]
        step = runner.epoch if hook.by_epoch else runner.iter
        name = hook.file_backend.join_path(hook.out_dir, hook.filename_tmpl.format(step))
        if hook.last_ckpt != name:
            hook._save_checkpoint_with_step(runner, step, meta=dict(epoch=runner.epoch, iter=runner.iter))
        return hook.last_ckpt
