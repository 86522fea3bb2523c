"""``BestThresholdHook``: the best-F1 confidence threshold of the last validation goes into the
checkpoints' meta (``checkpoint['meta']['best_f1_threshold']``, read back by
:func:`~fasternet_yolo11.engine.checkpoint_meta.read_checkpoint_meta`), so the demos can use it.

After each validation it reads ``key`` (``coco/best_f1_thr``, logged by
:class:`~fasternet_yolo11.evaluation.DetectionPRMetric`) from the metrics into the message hub's
runtime info (saved and resumed with the run), and every checkpoint written afterwards carries
it, with ``best_f1_threshold_epoch``, the epoch of the validation it comes from. The priority
is above the checkpoint hook's, so ``best_*.pth`` carries its own validation's threshold; an
``epoch_N.pth`` is written before epoch N's validation and so carries the previous one's.
"""
import math

from mmengine.hooks import Hook
from mmyolo.registry import HOOKS

from ..checkpoint_meta import BEST_F1_THRESHOLD


@HOOKS.register_module()
class BestThresholdHook(Hook):
    """Args: key (str): the metric to store. meta_key (str): its name in the meta."""

    priority = 'NORMAL'  # CheckpointHook (VERY_LOW) saves best_* in its after_val_epoch

    def __init__(self, key='coco/best_f1_thr', meta_key=BEST_F1_THRESHOLD):
        self.key = key
        self.meta_key = meta_key

    def after_val_epoch(self, runner, metrics=None):
        value = (metrics or {}).get(self.key)
        if value is None or not math.isfinite(float(value)):
            return
        runner.message_hub.update_info(self.meta_key, float(value))
        runner.message_hub.update_info(self.meta_key + '_epoch', int(runner.epoch))

    def before_save_checkpoint(self, runner, checkpoint):
        value = runner.message_hub.get_info(self.meta_key)
        if value is None:
            return
        meta = checkpoint.setdefault('meta', {})
        meta[self.meta_key] = float(value)
        epoch = runner.message_hub.get_info(self.meta_key + '_epoch')
        if epoch is not None:
            meta[self.meta_key + '_epoch'] = int(epoch)
