"""FasterNet's block inside YOLO11's CSP blocks ("C3k2-Faster").

The YOLO variants that use FasterNet most widely do not swap the backbone: they keep YOLO's
stem, stride-2 convs and CSP layout and replace the Bottleneck inside each CSP block by a
FasterNet block (PConv 3x3 on ``C // n_div`` channels, then 1x1 expand + BN + act and a 1x1
projection, plus the residual). Here:

* :class:`FasterBottleneck`: :class:`~.fasternet_layers.FasterNetBlock` with the Bottleneck's
  ``(in_channels, out_channels, add_identity, norm_cfg, act_cfg)`` interface;
* :class:`C3kFaster`: :class:`~.yolo11_layers.C3k` whose blocks are FasterBottlenecks;
* :class:`C3k2Faster`: :class:`~.yolo11_layers.C3k2` whose blocks are FasterBottlenecks, or
  C3kFaster when ``use_c3k`` (the m/l/x variant).

The CSP classes are subclasses that override only the ``build_block`` hook, so the forward,
the widths and the module names (``main_conv``, ``blocks.i``, ``final_conv``) are C3k2's and
C3k's. ``YOLO11CSPDarknet`` and ``YOLO11PAFPN`` take ``csp_block=dict(type='C3k2Faster',
n_div=4, mlp_ratio=2.)`` to use them (backbone only, neck only or both).

Parameters of one FasterBottleneck on C channels (p = C // n_div, h = int(C * mlp_ratio)):
``9 p^2 + C h + 2 h + h C`` (PConv, expand conv, its BN's weight and bias, projection).
"""
import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmyolo.registry import MODELS
from torch import Tensor

from .fasternet_layers import FasterNetBlock
from .yolo11_layers import YOLO11_ACT_CFG, YOLO11_NORM_CFG, C3k, C3k2


@MODELS.register_module()
class FasterBottleneck(FasterNetBlock):
    """FasterNet block as the Bottleneck of YOLO11's CSP blocks.

    ``x + proj(act(bn(expand(pconv(x)))))``: PConv 3x3 on the first ``C // n_div`` channels,
    1x1 conv to ``int(C * mlp_ratio)`` + BN + act, 1x1 conv back to C (no norm, as FasterNet).
    Child names are FasterNetBlock's (``spatial_mixing.partial_conv3``, ``mlp.0/1/3``), so the
    deploy switch fuses the BN into ``mlp.0`` and sets the PConv forward.

    Args:
        in_channels (int): Input channels; must equal ``out_channels``.
        out_channels (int): Output channels.
        n_div (int): PConv sees ``C // n_div`` channels. Defaults to 4.
        mlp_ratio (float): Hidden width over C. Defaults to 2.
        add_identity (bool): The residual add. Defaults to True.
        norm_cfg (dict): Norm after the expand conv. Defaults to YOLO11's BN.
        act_cfg (dict): Activation after that norm. Defaults to SiLU.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 n_div: int = 4,
                 mlp_ratio: float = 2.,
                 add_identity: bool = True,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG) -> None:
        assert in_channels == out_channels, \
            f'FasterBottleneck keeps its width ({in_channels} -> {out_channels})'
        assert in_channels // n_div > 0, f'{in_channels} channels, n_div {n_div}'
        super().__init__(
            in_channels, n_div=n_div, mlp_ratio=mlp_ratio, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.add_identity = add_identity

    def forward(self, x: Tensor) -> Tensor:
        y = self.mlp(self.spatial_mixing(x))
        return x + y if self.add_identity else y


def _faster_kwargs(n_div: int, mlp_ratio: float, block_act_cfg: OptConfigType,
                   cfg: dict) -> dict:
    kwargs = dict(cfg, n_div=n_div, mlp_ratio=mlp_ratio)
    if block_act_cfg is not None:
        kwargs['act_cfg'] = block_act_cfg
    return kwargs


@MODELS.register_module()
class C3kFaster(C3k):
    """:class:`~.yolo11_layers.C3k` with :class:`FasterBottleneck` blocks.

    Args (beyond C3k's): ``n_div``, ``mlp_ratio`` of the blocks; ``block_act_cfg`` their
    activation (None: the layer's ``act_cfg``). ``kernel_size`` is unused (PConv is 3x3).

    Shapes: (B, in, H, W) -> (B, out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 add_identity: bool = True,
                 expand_ratio: float = 0.5,
                 kernel_size: int = 3,
                 n_div: int = 4,
                 mlp_ratio: float = 2.,
                 block_act_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        # read by build_block, which C3k.__init__ calls
        self.n_div, self.mlp_ratio, self.block_act_cfg = n_div, mlp_ratio, block_act_cfg
        super().__init__(
            in_channels,
            out_channels,
            num_blocks=num_blocks,
            add_identity=add_identity,
            expand_ratio=expand_ratio,
            kernel_size=kernel_size,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)

    def build_block(self, channels: int, kernel_size: int, cfg: dict) -> nn.Module:
        return FasterBottleneck(
            channels, channels, **_faster_kwargs(self.n_div, self.mlp_ratio, self.block_act_cfg, cfg))


@MODELS.register_module()
class C3k2Faster(C3k2):
    """:class:`~.yolo11_layers.C3k2` with :class:`FasterBottleneck` blocks, or
    :class:`C3kFaster` (2 FasterBottlenecks) when ``use_c3k``.

    Args (beyond C3k2's): ``n_div``, ``mlp_ratio`` of the blocks; ``block_act_cfg`` their
    activation (None: the layer's ``act_cfg``).

    Shapes: (B, in, H, W) -> (B, out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 use_c3k: bool = False,
                 expand_ratio: float = 0.5,
                 add_identity: bool = True,
                 attn: bool = False,
                 n_div: int = 4,
                 mlp_ratio: float = 2.,
                 block_act_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        # read by build_block, which C3k2.__init__ calls
        self.n_div, self.mlp_ratio, self.block_act_cfg = n_div, mlp_ratio, block_act_cfg
        super().__init__(
            in_channels,
            out_channels,
            num_blocks=num_blocks,
            use_c3k=use_c3k,
            expand_ratio=expand_ratio,
            add_identity=add_identity,
            attn=attn,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)

    def build_block(self, channels: int, use_c3k: bool, cfg: dict) -> nn.Module:
        if use_c3k:
            return C3kFaster(
                channels, channels, num_blocks=2, n_div=self.n_div, mlp_ratio=self.mlp_ratio,
                block_act_cfg=self.block_act_cfg, **cfg)
        return FasterBottleneck(
            channels, channels, **_faster_kwargs(self.n_div, self.mlp_ratio, self.block_act_cfg, cfg))


__all__ = ['FasterBottleneck', 'C3kFaster', 'C3k2Faster']
