"""The YOLO11 PAFPN (layers 11-22 of Ultralytics' ``yolo11.yaml``)."""
from typing import Optional, Sequence

import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmyolo.models.necks import BaseYOLONeck
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
class YOLO11PAFPN(BaseYOLONeck):
    """Path aggregation neck of YOLO11.

    Top-down: upsample x2 -> concat with the lateral input -> C3k2; bottom-up:
    3x3 (or, with ``downsample_kernel=2``, 2x2) stride-2 conv -> concat with the top-down map of that level -> C3k2.
    Upsampled/downsampled maps come first in each concat, as in Ultralytics.
    Module names and Ultralytics layers (3 levels)::

        reduce_layers.2    -> (p5_context only) SPPF + C2PSA on P5
        top_down_layers.0  -> model.13  (C3k2 -> C(512))
        top_down_layers.1  -> model.16  (C3k2 -> C(256), P3 out)
        downsample_layers.0 -> model.17, bottom_up_layers.0 -> model.19 (P4)
        downsample_layers.1 -> model.20, bottom_up_layers.1 -> model.22 (P5)

    ``in_channels`` are the **actual** channels of the backbone outputs (they
    are not scaled), so any backbone fits. The neck's own widths are the yaml
    numbers ``out_channels`` scaled as Ultralytics does,
    ``make_divisible(min(c, max_channels) * widen_factor, 8)``; C3k2 repeats
    are ``max(round(num_csp_blocks * deepen_factor), 1)``. Only the last
    bottom-up C3k2 uses C3k blocks, unless ``force_c3k`` (m/l/x).

    ``p5_context`` builds ``SPPF(in_channels[-1], C(out_channels[-1]), k=5)``
    and ``C2PSA`` on the P5 input (as the reduce layer of the top level).
    The plain YOLO11 leaves it off because its backbone already ends with
    SPPF + C2PSA (backbone ``stage4``). The FasterNet detector
    (``[-1, 1, FasterNet, [0.25]]``, ``[-1, 1, SPPF, [1024, 5]]``,
    ``[-1, 2, C2PSA, [1024]]``, then the YOLO11 head on FasterNet's P3/P4 and
    the C2PSA output) turns it on: these two modules are new layers that
    belong to the detector, while the backbone stays exactly the pretrained
    FasterNet, so its ImageNet checkpoint loads without missing or extra keys.

    Args:
        in_channels (Sequence[int]): Actual P3/P4/P5 input channels (a
            ``ChainedYOLODetector`` passes its backbone's ``out_channels``).
        out_channels (Sequence[int]): Yaml widths of the outputs; the attribute
            ``out_channels`` holds their real widths after scaling.
            Defaults to (256, 512, 1024).
        deepen_factor (float): Depth multiple. Defaults to 1.0.
        widen_factor (float): Width multiple. Defaults to 1.0.
        max_channels (int): Yaml widths are capped at this before scaling.
            Defaults to 1024.
        force_c3k (bool): C3k blocks in every C3k2. Defaults to False.
        csp_block (dict, optional): The CSP block instead of :class:`C3k2`, e.g.
            ``dict(type='C3k2Faster', n_div=4, mlp_ratio=2.)``; built with C3k2's arguments
            added. None (default) is YOLO11's C3k2, with its keys and parameters.
        downsample_kernel (int): Kernel of the bottom-up stride-2 convs: 3 (YOLO11) or 2
            (see :func:`build_downsample_conv`). Defaults to 3.
        top_attn (bool): The last bottom-up C3k2 (the P5 output) with the attention block
            (``C3k2(attn=True)``) and one repeat, as YOLO26's layer 22. Defaults to False.
        sppf_cfg (dict, optional): Options of the ``p5_context`` :class:`SPPF`.
        num_csp_blocks (int): Yaml repeats of each C3k2 (and of C2PSA).
            Defaults to 2.
        p5_context (bool): Build SPPF + C2PSA on P5. Defaults to False.
        freeze_all (bool): Freeze the whole neck. Defaults to False.
        norm_cfg (dict): Norm config. Defaults to BN(momentum=0.03, eps=1e-3).
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict, optional): None means PyTorch's default conv init.

    Shapes: inputs (B, in_channels[i], H/s_i, W/s_i) for s = 8, 16, 32;
    outputs (B, C(out_channels[i]), H/s_i, W/s_i), e.g. 64/128/256 for
    YOLO11n.
    """

    def __init__(self,
                 in_channels: Optional[Sequence[int]] = None,
                 out_channels: Sequence[int] = (256, 512, 1024),
                 deepen_factor: float = 1.0,
                 widen_factor: float = 1.0,
                 max_channels: int = 1024,
                 force_c3k: bool = False,
                 csp_block: OptConfigType = None,
                 downsample_kernel: int = 3,
                 top_attn: bool = False,
                 sppf_cfg: OptConfigType = None,
                 num_csp_blocks: int = 2,
                 p5_context: bool = False,
                 freeze_all: bool = False,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None):
        if in_channels is None:
            raise ValueError('YOLO11PAFPN needs in_channels: give them, or build the neck in a '
                             'ChainedYOLODetector, which passes the backbone\'s widths')
        assert len(in_channels) == len(out_channels)
        # read by the build_*_layer methods that BaseYOLONeck.__init__ calls
        self.max_channels = max_channels
        self.force_c3k = force_c3k
        self.csp_block = csp_block
        self.downsample_kernel = downsample_kernel
        self.top_attn = top_attn
        self.sppf_cfg = dict(sppf_cfg or {})
        self.num_csp_blocks = num_csp_blocks
        self.p5_context = p5_context
        self.widths = [
            yolo11_channels(c, widen_factor, max_channels)
            for c in out_channels
        ]
        super().__init__(
            in_channels=list(in_channels),
            out_channels=list(out_channels),
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            freeze_all=freeze_all,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        self.out_channels = list(self.widths)  # real output widths (the argument holds yaml widths)

    @property
    def _top(self) -> int:
        return len(self.in_channels) - 1

    def _reduced_channels(self, idx: int) -> int:
        """Channels of ``reduce_layers[idx]``'s output."""
        if idx == self._top and self.p5_context:
            return self.widths[idx]
        return self.in_channels[idx]

    def _csp(self, in_channels: int, out_channels: int,
             use_c3k: bool, attn: bool = False) -> nn.Module:
        extra = dict(attn=True, num_blocks=1) if attn else dict(
            num_blocks=make_round(self.num_csp_blocks, self.deepen_factor))
        return build_csp_block(
            self.csp_block,
            in_channels=in_channels,
            out_channels=out_channels,
            use_c3k=use_c3k or self.force_c3k,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            **extra)

    def build_reduce_layer(self, idx: int) -> nn.Module:
        """Identity, or SPPF + C2PSA on the top level when ``p5_context``."""
        if idx != self._top or not self.p5_context:
            return nn.Identity()
        cfg = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        width = self.widths[idx]
        return nn.Sequential(
            SPPF(self.in_channels[idx], width, 5, **self.sppf_cfg, **cfg),
            C2PSA(
                width,
                width,
                num_blocks=make_round(self.num_csp_blocks,
                                      self.deepen_factor),
                **cfg))

    def build_upsample_layer(self, idx: int) -> nn.Module:
        return nn.Upsample(scale_factor=2, mode='nearest')

    def build_top_down_layer(self, idx: int) -> nn.Module:
        """C3k2 on cat(upsampled level ``idx``, lateral ``idx - 1``)."""
        high = (
            self._reduced_channels(idx)
            if idx == self._top else self.widths[idx])
        return self._csp(high + self.in_channels[idx - 1],
                         self.widths[idx - 1], False)

    def build_downsample_layer(self, idx: int) -> nn.Module:
        return build_downsample_conv(
            self.widths[idx],
            self.widths[idx],
            self.downsample_kernel,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        """C3k2 on cat(downsampled level ``idx``, top-down ``idx + 1``)."""
        high = (
            self._reduced_channels(idx + 1)
            if idx + 1 == self._top else self.widths[idx + 1])
        top = idx + 1 == self._top
        return self._csp(self.widths[idx] + high, self.widths[idx + 1], top, attn=top and self.top_attn)

    def build_out_layer(self, idx: int) -> nn.Module:
        return nn.Identity()

    def init_weights(self):
        """PyTorch's default conv init (as Ultralytics) unless init_cfg."""
        if self.init_cfg is None:
            reset_conv_parameters(self)
        else:
            super().init_weights()
