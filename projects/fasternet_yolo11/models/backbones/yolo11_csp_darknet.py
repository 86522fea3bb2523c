"""The YOLO11 CSP backbone (layers 0-10 of Ultralytics' ``yolo11.yaml``)."""
from typing import List, Sequence

import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmyolo.models.backbones import BaseBackbone
from mmyolo.models.utils import make_round
from mmyolo.registry import MODELS

from ..layers.yolo11_layers import (
    C2PSA,
    SPPF,
    YOLO11_ACT_CFG,
    YOLO11_NORM_CFG,
    build_csp_block,
    build_downsample_conv,
    reset_conv_parameters,
    yolo11_channels,
)


@MODELS.register_module()
class YOLO11CSPDarknet(BaseBackbone):
    """CSP-Darknet backbone of YOLO11.

    ``stem`` is a 3x3 stride-2 conv; every stage is a 3x3 stride-2 conv and a
    :class:`C3k2` (``downsample_kernel=2``: 2x2 stride-2 convs); the last stage adds
    :class:`SPPF` (k=5) and :class:`C2PSA`. YOLO26's backbone is this one with its SPPF option
    (``sppf_cfg``).
    Module names line up with Ultralytics' layer indices::

        model.0 -> stem            model.5 -> stage3.0   model.8  -> stage4.1
        model.1 -> stage1.0        model.6 -> stage3.1   model.9  -> stage4.2
        model.2 -> stage1.1        model.7 -> stage4.0   model.10 -> stage4.3
        model.3 -> stage2.0
        model.4 -> stage2.1

    Scaling is Ultralytics' ``parse_model``: a yaml width ``c`` becomes
    ``make_divisible(min(c, max_channels) * widen_factor, 8)`` and a yaml
    repeat ``n`` becomes ``max(round(n * deepen_factor), 1)``. ``force_c3k``
    is the m/l/x rule that turns every C3k2 into its C3k variant.

    Args:
        arch (str): Key of :attr:`arch_settings`. Defaults to 'P5'.
        deepen_factor (float): Depth multiple. Defaults to 1.0.
        widen_factor (float): Width multiple. Defaults to 1.0.
        max_channels (int): Yaml widths are capped at this before scaling
            (1024 for n/s, 512 for m/l/x). Defaults to 1024.
        force_c3k (bool): Use C3k blocks in every C3k2. Defaults to False.
        csp_block (dict, optional): The stages' CSP block instead of :class:`C3k2`, e.g.
            ``dict(type='C3k2Faster', n_div=4, mlp_ratio=2.)``; built with C3k2's arguments
            added. None (default) is YOLO11's C3k2, with its keys and parameters.
        downsample_kernel (int): Kernel of the stem's and the stages' stride-2 convs: 3
            (YOLO11) or 2 (the kernel of FasterNet's non-overlapping patch merging, 4/9 of the
            multiply-adds; see :func:`build_downsample_conv`). Defaults to 3.
        sppf_cfg (dict, optional): Options of the last stage's :class:`SPPF` (YOLO26:
            ``dict(first_act=False, residual=True)``). None: YOLO11's.
        input_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int]): Outputs among (stem, stage1..4).
            Defaults to (2, 3, 4), i.e. P3/P4/P5 (strides 8/16/32).
        frozen_stages (int): Stages to freeze; -1 freezes none.
        norm_cfg (dict): Norm config. Defaults to BN(momentum=0.03, eps=1e-3).
        act_cfg (dict): Activation config. Defaults to SiLU.
        norm_eval (bool): Keep BN in eval mode during training.
        init_cfg (dict, optional): Init config; None means PyTorch's default
            conv init, as Ultralytics.

    Attributes:
        out_channels (list[int]): Real widths of the outputs, e.g. [128, 128, 256] for YOLO11n.

    Shapes: (B, 3, H, W) -> P3 (B, C(512), H/8, W/8), P4 (B, C(512), H/16,
    W/16), P5 (B, C(1024), H/32, W/32), e.g. 128/128/256 for YOLO11n.
    """
    # Yaml numbers of each stage, from left to right: in_channels and
    # out_channels of the stride-2 conv, out_channels of the C3k2, yaml
    # repeats of the C3k2 (and of C2PSA), the C3k2's c3k flag and expand
    # ratio, whether SPPF + C2PSA follow (last stage).
    arch_settings = {
        'P5': [[64, 128, 256, 2, False, 0.25, False],
               [256, 256, 512, 2, False, 0.25, False],
               [512, 512, 512, 2, True, 0.5, False],
               [512, 1024, 1024, 2, True, 0.5, True]],
    }

    def __init__(self,
                 arch: str = 'P5',
                 deepen_factor: float = 1.0,
                 widen_factor: float = 1.0,
                 max_channels: int = 1024,
                 force_c3k: bool = False,
                 csp_block: OptConfigType = None,
                 downsample_kernel: int = 3,
                 sppf_cfg: OptConfigType = None,
                 input_channels: int = 3,
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None):
        # read by build_*_layer, which BaseBackbone.__init__ calls
        self.max_channels = max_channels
        self.force_c3k = force_c3k
        self.csp_block = csp_block
        self.downsample_kernel = downsample_kernel
        self.sppf_cfg = dict(sppf_cfg or {})
        super().__init__(
            self.arch_settings[arch],
            deepen_factor,
            widen_factor,
            input_channels=input_channels,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            init_cfg=init_cfg)
        # real widths of the outputs (stem, stage1..4 by out_indices), read by the neck's builder
        widths = [self._width(self.arch_setting[0][0])] + [self._width(s[2]) for s in self.arch_setting]
        self.out_channels = [widths[i] for i in out_indices]

    def _width(self, channels: int) -> int:
        return yolo11_channels(channels, self.widen_factor, self.max_channels)

    def build_stem_layer(self) -> nn.Module:
        """The stride-2 conv ``model.0``."""
        return build_downsample_conv(
            self.input_channels,
            self._width(self.arch_setting[0][0]),
            self.downsample_kernel,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def build_stage_layer(self, stage_idx: int, setting: list) -> List:
        """Stride-2 conv, C3k2 and, in the last stage, SPPF and C2PSA."""
        (in_channels, conv_channels, out_channels, num_blocks, use_c3k,
         expand_ratio, use_context) = setting
        in_channels = self._width(in_channels)
        conv_channels = self._width(conv_channels)
        out_channels = self._width(out_channels)
        num_blocks = make_round(num_blocks, self.deepen_factor)
        cfg = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        stage = [
            build_downsample_conv(
                in_channels, conv_channels, self.downsample_kernel, **cfg),
            build_csp_block(
                self.csp_block,
                in_channels=conv_channels,
                out_channels=out_channels,
                num_blocks=num_blocks,
                use_c3k=use_c3k or self.force_c3k,
                expand_ratio=expand_ratio,
                **cfg)
        ]
        if use_context:
            stage.append(SPPF(out_channels, out_channels, 5, **self.sppf_cfg, **cfg))
            stage.append(
                C2PSA(
                    out_channels,
                    out_channels,
                    num_blocks=num_blocks,
                    **cfg))
        return stage

    def init_weights(self):
        """PyTorch's default conv init (as Ultralytics) unless init_cfg."""
        if self.init_cfg is None:
            reset_conv_parameters(self)
        else:
            super().init_weights()
