"""``ChannelsLastHook``: train in the NHWC layout (``tools/train.py --channels-last``)."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmyolo.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Train in the channels_last (NHWC) memory format (``tools/train.py --channels-last``).

    oneDNN's CPU convolutions (forward and backward) run NHWC natively; with the weights in
    channels_last every activation follows (``train_speed.py --channels-last`` measures the
    gain). The numbers computed are the same; checkpoints load into either layout.

    Runs first in ``before_run`` (priority VERY_HIGH) so that EMAHook's copy of the model is
    made from the converted one. Under a distributed wrapper it does nothing (DDP has already
    laid out its gradient buckets for the original strides) and says so.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if is_model_wrapper(runner.model):
            runner.logger.warning('ChannelsLastHook: the model is wrapped for distributed '
                                  'training; keeping the contiguous layout')
            return
        runner.model.to(memory_format=torch.channels_last)
        runner.logger.info('ChannelsLastHook: model weights in channels_last (NHWC)')
