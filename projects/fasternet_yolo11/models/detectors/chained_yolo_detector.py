"""mmyolo's YOLODetector whose modules take their input widths from the module before."""
import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmyolo.models.detectors import YOLODetector
from mmyolo.registry import MODELS


@MODELS.register_module()
class ChainedYOLODetector(YOLODetector):
    """:class:`mmyolo.models.detectors.YOLODetector` built module by module, each one's input
    widths read from the one before, as Ultralytics' ``parse_model`` passes its channel list:

    * ``neck.in_channels`` (when the config leaves it out) is the built backbone's
      ``out_channels``, its real output widths;
    * ``bbox_head.head_module.in_channels`` (when left out) is the built neck's ``out_channels``.

    So a config names a backbone and a scale and never restates a width: a FasterNet backbone
    and a CSPDarknet one of the same scale feed the same neck config. Forward, loss, predict and
    the state-dict keys are YOLODetector's. A checkpoint of a distilled run
    (:class:`DistilledYOLODetector`) loads as it is: its ``distill_*`` tensors (the alignment
    convs, which only training uses) are ignored when this model has none.

    Args: those of YOLODetector.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 bbox_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 use_syncbn: bool = True):
        # SingleStageDetector.__init__, with the widths passed on between the builds
        BaseDetector.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        neck = dict(neck)
        if neck.get('in_channels') is None:
            neck['in_channels'] = list(self.backbone.out_channels)
        self.neck = MODELS.build(neck)
        bbox_head = dict(bbox_head, train_cfg=train_cfg, test_cfg=test_cfg)
        head_module = dict(bbox_head['head_module'])
        if head_module.get('in_channels') is None:
            head_module['in_channels'] = list(self.neck.out_channels)
        bbox_head['head_module'] = head_module
        self.bbox_head = MODELS.build(bbox_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if use_syncbn and get_world_size() > 1:
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(self)
            print_log('Using SyncBatchNorm()', 'current')

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        if not hasattr(self, 'distill_align'):
            for key in [k for k in state_dict if k.startswith(prefix + 'distill_')]:
                del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
