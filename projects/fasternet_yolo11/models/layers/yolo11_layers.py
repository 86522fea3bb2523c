"""YOLO11 building blocks on mmcv ``ConvModule``.

The blocks reproduce the YOLO11 modules of Ultralytics 8.3.0 (C3k2, C3k,
SPPF, C2PSA and their parts) with the layout of MMYOLO's own bricks, so that
every Ultralytics ``Conv`` becomes a ``ConvModule`` whose ``.conv`` / ``.bn``
children carry the same parameter names.

Conventions shared with Ultralytics:

* every conv is ``Conv2d(bias=False)`` -> ``BN(eps=1e-3, momentum=0.03)``
  -> ``SiLU`` (``act_cfg=None`` where Ultralytics uses ``act=False``);
* conv weights start from PyTorch's default init. ``ConvModule`` applies a
  Kaiming init when built (and again from ``init_weights``), so the modules
  that own these blocks (backbone, neck, head) call
  :func:`reset_conv_parameters` in their ``init_weights`` as MMYOLO's
  YOLOv5/v8 backbones and necks do;
* widths follow Ultralytics' ``parse_model``: see :func:`yolo11_channels`.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.layers.csp_layer import CSPLayer
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmyolo.models.layers import CSPLayerWithTwoConv, DarknetBottleneck
from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS
from torch import Tensor

YOLO11_NORM_CFG = dict(type='BN', momentum=0.03, eps=0.001)
YOLO11_ACT_CFG = dict(type='SiLU', inplace=True)


def yolo11_channels(channels: int, widen_factor: float,
                    max_channels: int) -> int:
    """Width that Ultralytics' ``parse_model`` gives a yaml channel number.

    ``make_divisible(min(channels, max_channels) * widen_factor, 8)``; e.g.
    1024 becomes 256 for YOLO11n (w=0.25, max 1024) and 768 for YOLO11x
    (w=1.5, max 512).
    """
    return make_divisible(min(channels, max_channels), widen_factor)


def reset_conv_parameters(module: nn.Module) -> None:
    """Give every ``nn.Conv2d`` in ``module`` PyTorch's default init.

    Undoes the Kaiming init of ``ConvModule`` so that a freshly initialised
    model starts where Ultralytics' does.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()


class Bottleneck(DarknetBottleneck):
    """The residual bottleneck used inside C3k2 and C3k.

    ``conv1`` (k x k, ``out * expansion`` channels) -> ``conv2`` (k x k), plus
    the input when ``add_identity`` and ``in == out``. C3k2 uses it with
    ``expansion=0.5``, C3k with ``expansion=1.0``; both with 3x3 kernels
    (Ultralytics ``Bottleneck(k=(3, 3))``).

    Shapes: (B, in, H, W) -> (B, out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 expansion: float = 0.5,
                 kernel_size: int = 3,
                 add_identity: bool = True,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            in_channels,
            out_channels,
            expansion=expansion,
            kernel_size=(kernel_size, kernel_size),
            padding=(kernel_size // 2, kernel_size // 2),
            add_identity=add_identity,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)


@MODELS.register_module()
class C3k(CSPLayer):
    """CSP bottleneck with 3 convs and k x k bottlenecks (Ultralytics C3k).

    ``final_conv(cat(blocks(main_conv(x)), short_conv(x)))`` where
    ``main_conv``/``short_conv`` are 1x1 convs to ``out * expand_ratio``
    channels and ``blocks`` are ``num_blocks`` :class:`Bottleneck` with
    ``expansion=1.0``. MMDet's ``CSPLayer`` has exactly this forward; only its
    blocks (1x1 then 3x3) differ, so they are replaced.

    Shapes: (B, in, H, W) -> (B, out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 add_identity: bool = True,
                 expand_ratio: float = 0.5,
                 kernel_size: int = 3,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            in_channels,
            out_channels,
            expand_ratio=expand_ratio,
            num_blocks=num_blocks,
            add_identity=add_identity,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        mid_channels = int(out_channels * expand_ratio)
        cfg = dict(
            add_identity=add_identity, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.blocks = nn.Sequential(*(self.build_block(
            mid_channels, kernel_size, cfg) for _ in range(num_blocks)))

    def build_block(self, channels: int, kernel_size: int,
                    cfg: dict) -> nn.Module:
        """One of the ``num_blocks`` blocks (C -> C); a hook for subclasses
        (e.g. ``C3kFaster``). ``cfg``: ``add_identity``, ``norm_cfg``,
        ``act_cfg``."""
        return Bottleneck(
            channels,
            channels,
            expansion=1.0,
            kernel_size=kernel_size,
            **cfg)


@MODELS.register_module()
class C3k2(CSPLayerWithTwoConv):
    """C2f-style CSP layer of YOLO11 (Ultralytics C3k2).

    ``main_conv`` (1x1) makes ``2 * mid`` channels (``mid = out *
    expand_ratio``) and splits them in two; each block takes the last chunk
    and appends its output; ``final_conv`` (1x1) fuses the
    ``(2 + num_blocks) * mid`` channels. MMYOLO's ``CSPLayerWithTwoConv`` (the
    YOLOv8 C2f) has this forward; the blocks are what YOLO11 changes:
    ``C3k(mid, mid, num_blocks=2)`` when ``use_c3k`` else
    ``Bottleneck(mid, mid, expansion=0.5)``.

    Note that ``use_c3k`` is the second yaml argument of Ultralytics' C3k2
    rows, not a shortcut flag: YOLO11 keeps ``add_identity=True`` everywhere.
    ``attn`` (YOLO26's last neck block, its fourth yaml argument) makes each block a
    ``Bottleneck(mid, mid, expansion=0.5)`` followed by a :class:`PSABlock` (``max(mid // 64, 1)``
    heads): global attention on the P5 map, which is small enough for it. It takes precedence
    over ``use_c3k``.

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
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            in_channels,
            out_channels,
            expand_ratio=expand_ratio,
            num_blocks=num_blocks,
            add_identity=add_identity,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)
        mid = self.mid_channels
        cfg = dict(
            add_identity=add_identity, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.blocks = nn.ModuleList(
            self.build_attn_block(mid, cfg) if attn else self.build_block(mid, use_c3k, cfg)
            for _ in range(num_blocks))

    @staticmethod
    def build_attn_block(channels: int, cfg: dict) -> nn.Module:
        """YOLO26's attention block: Bottleneck then PSABlock (C -> C)."""
        return nn.Sequential(
            Bottleneck(channels, channels, expansion=0.5, **cfg),
            PSABlock(channels, attn_ratio=0.5, num_heads=max(channels // 64, 1),
                     add_identity=cfg['add_identity'], norm_cfg=cfg['norm_cfg'], act_cfg=cfg['act_cfg']))

    def build_block(self, channels: int, use_c3k: bool,
                    cfg: dict) -> nn.Module:
        """One of the ``num_blocks`` blocks (C -> C); a hook for subclasses
        (e.g. ``C3k2Faster``). ``cfg``: ``add_identity``, ``norm_cfg``,
        ``act_cfg``."""
        if use_c3k:
            return C3k(channels, channels, num_blocks=2, **cfg)
        return Bottleneck(channels, channels, expansion=0.5, **cfg)


def build_csp_block(csp_block: Optional[ConfigType], **kwargs) -> nn.Module:
    """The CSP block of a backbone stage or a neck level: :class:`C3k2` with ``kwargs`` when
    ``csp_block`` is None (YOLO11), else ``csp_block`` (a config such as
    ``dict(type='C3k2Faster', n_div=4, mlp_ratio=2.)``) built with ``kwargs`` added. The
    block must take C3k2's arguments (``in_channels``, ``out_channels``, ``num_blocks``,
    ``use_c3k``, ``expand_ratio``, ``norm_cfg``, ``act_cfg``)."""
    if csp_block is None:
        return C3k2(**kwargs)
    cfg = copy.deepcopy(dict(csp_block))
    cfg.update(kwargs)
    return MODELS.build(cfg)


# Kernel sizes of the stride-2 convs: YOLO11's overlapping 3x3, or FasterNet's non-overlapping 2x2
# (its PatchMerging, ``fasternet_layers.PatchMerging``, here as Conv-BN-act).
DOWNSAMPLE_KERNELS = (3, 2)


def build_downsample_conv(in_channels: int,
                          out_channels: int,
                          kernel_size: int = 3,
                          norm_cfg: ConfigType = YOLO11_NORM_CFG,
                          act_cfg: ConfigType = YOLO11_ACT_CFG) -> ConvModule:
    """The stride-2 Conv-BN-act that halves H and W (YOLO11's stem, stage and neck
    downsampling): ``kernel_size`` 3 is YOLO11's (padding 1), 2 is FasterNet's patch merging
    (padding 0), which reads each input pixel once and costs 4/9 of the multiply-adds.

    Shapes: (B, in, H, W) -> (B, out, H/2, W/2) for even H, W (YOLO inputs are multiples of 32).
    """
    assert kernel_size in DOWNSAMPLE_KERNELS, \
        f'downsample kernel_size must be one of {DOWNSAMPLE_KERNELS}, got {kernel_size}'
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=2,
        padding=kernel_size // 2 if kernel_size == 3 else 0,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg)


def fold_3x3_to_2x2(weight: Tensor) -> Tensor:
    """The 2x2 stride-2 kernel (padding 0) that starts from a trained 3x3 stride-2 one (padding 1).

    Output (i, j) of the 3x3 conv reads input rows 2i-1, 2i, 2i+1 (columns alike); the 2x2 one
    reads rows 2i, 2i+1. Row 2i-1 is the neighbour of row 2i, so its taps are added to those of
    row 2i (index 0) and the same along columns::

        [[w00 w01 w02],        [[w00+w01+w10+w11, w02+w12],
         [w10 w11 w12],   ->    [w20+w21,         w22    ]]
         [w20 w21 w22]]

    On an input that is constant over each 3x3 window both convs give the same output (the sum
    of the kernel times the value), so the folded conv keeps what the 3x3 one responds to at
    low frequencies, where images hold most of their energy.

    Shapes: (out, in, 3, 3) -> (out, in, 2, 2).
    """
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f'fold_3x3_to_2x2 needs a 3x3 kernel, got {tuple(weight.shape)}')
    rows = torch.stack([weight[..., 0, :] + weight[..., 1, :], weight[..., 2, :]], -2)  # (..., 2, 3)
    return torch.stack([rows[..., 0] + rows[..., 1], rows[..., 2]], -1)  # (..., 2, 2)


@MODELS.register_module()
class SPPF(BaseModule):
    """Spatial pyramid pooling - fast (Ultralytics' ``SPPF``).

    ``conv1`` (1x1, ``in // 2``) -> ``num_pools`` chained ``MaxPool(k, 1, k // 2)`` -> ``conv2``
    (1x1) on the concatenation of ``conv1``'s map and every pooled one. YOLO11 is the default;
    YOLO26 (``SPPF [1024, 5, 3, True]``) drops ``conv1``'s activation (``first_act=False``) and
    adds the input back (``residual=True``, when the widths match): the pooled maxima are then
    taken of the linear projection, and the block learns a correction of its input.

    Shapes: (B, in, H, W) -> (B, out, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 num_pools: int = 3,
                 first_act: bool = True,
                 residual: bool = False,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        mid = in_channels // 2
        self.num_pools = num_pools
        self.residual = residual and in_channels == out_channels
        self.conv1 = ConvModule(in_channels, mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg if first_act else None)
        self.poolings = nn.MaxPool2d(kernel_size, stride=1, padding=kernel_size // 2)
        self.conv2 = ConvModule(mid * (num_pools + 1), out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        maps = [self.conv1(x)]
        for _ in range(self.num_pools):
            maps.append(self.poolings(maps[-1]))
        out = self.conv2(torch.cat(maps, 1))
        return out + x if self.residual else out


class Attention(BaseModule):
    """Multi-head self-attention over all positions, used by PSABlock.

    ``qkv`` (1x1, no activation) gives, per head, ``key_dim`` query,
    ``key_dim`` key and ``head_dim`` value channels, interleaved head by head
    ([q|k|v] of head 0, then head 1, ...) as in Ultralytics, so pretrained
    weights load unchanged. The output is
    ``proj(v @ softmax(q^T k / sqrt(key_dim))^T + pe(v))`` where ``pe`` is a
    depthwise 3x3 positional encoding on the values.

    Args:
        channels (int): Input and output channels ``C``; must equal
            ``num_heads * head_dim``.
        num_heads (int): Number of heads. YOLO11 uses ``C // 64``.
        attn_ratio (float): ``key_dim = int(head_dim * attn_ratio)``.

    Shapes: (B, C, H, W) -> (B, C, H, W); attention maps are
    (B, num_heads, H*W, H*W).
    """

    def __init__(self,
                 channels: int,
                 num_heads: int = 8,
                 attn_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert num_heads > 0 and channels % num_heads == 0, \
            f'{channels} channels cannot be split into {num_heads} heads'
        self.num_heads = num_heads
        self.head_dim = channels // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        qkv_channels = channels + 2 * self.key_dim * num_heads
        self.qkv = ConvModule(
            channels, qkv_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.proj = ConvModule(
            channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.pe = ConvModule(
            channels,
            channels,
            3,
            padding=1,
            groups=channels,
            norm_cfg=norm_cfg,
            act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.num_heads,
                                   2 * self.key_dim + self.head_dim,
                                   h * w).split(
                                       [self.key_dim, self.key_dim,
                                        self.head_dim],
                                       dim=2)
        # (B, heads, N, N): row i holds the weights of position i's query
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(b, c, h, w)
        x = x + self.pe(v.reshape(b, c, h, w))
        return self.proj(x)


@MODELS.register_module()
class PSABlock(BaseModule):
    """Position-sensitive attention block: attention then a 1x1 FFN.

    ``x = x + attn(x)``; ``x = x + ffn(x)`` with ``ffn`` = 1x1 conv to
    ``2C`` (SiLU) -> 1x1 conv back to ``C`` (no activation).

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self,
                 channels: int,
                 attn_ratio: float = 0.5,
                 num_heads: int = 4,
                 add_identity: bool = True,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.add_identity = add_identity
        self.attn = Attention(
            channels, num_heads, attn_ratio=attn_ratio, norm_cfg=norm_cfg)
        self.ffn = nn.Sequential(
            ConvModule(
                channels,
                channels * 2,
                1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            ConvModule(
                channels * 2, channels, 1, norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(x) if self.add_identity else self.attn(x)
        return x + self.ffn(x) if self.add_identity else self.ffn(x)


@MODELS.register_module()
class C2PSA(BaseModule):
    """CSP layer with position-sensitive attention (Ultralytics C2PSA).

    ``main_conv`` (1x1) makes ``2 * mid`` channels (``mid = C *
    expand_ratio``); the second half goes through ``num_blocks``
    :class:`PSABlock` (``mid // 64`` heads) and ``final_conv`` (1x1) fuses
    both halves back to ``C`` channels.

    Shapes: (B, C, H, W) -> (B, C, H, W); ``in_channels == out_channels``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 expand_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO11_NORM_CFG,
                 act_cfg: ConfigType = YOLO11_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert in_channels == out_channels, 'C2PSA keeps its width'
        self.mid_channels = int(in_channels * expand_ratio)
        mid = self.mid_channels
        self.main_conv = ConvModule(
            in_channels, 2 * mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.final_conv = ConvModule(
            2 * mid, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.blocks = nn.Sequential(*(PSABlock(
            mid,
            attn_ratio=0.5,
            num_heads=max(mid // 64, 1),
            norm_cfg=norm_cfg,
            act_cfg=act_cfg) for _ in range(num_blocks)))

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.main_conv(x).split(
            (self.mid_channels, self.mid_channels), dim=1)
        return self.final_conv(torch.cat((a, self.blocks(b)), dim=1))


__all__ = [
    'yolo11_channels', 'reset_conv_parameters', 'Bottleneck', 'C3k', 'C3k2', 'build_csp_block',
    'DOWNSAMPLE_KERNELS', 'build_downsample_conv', 'SPPF', 'Attention', 'PSABlock', 'C2PSA'
]
