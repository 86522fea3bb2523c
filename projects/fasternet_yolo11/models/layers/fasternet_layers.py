"""FasterNet's building blocks ("Run, Don't Walk: Chasing Higher FLOPS for
Faster Neural Networks", Chen et al., CVPR 2023, arXiv:2303.03667).

``PConv`` (partial convolution) and ``FasterNetBlock`` (PConv + two 1x1 convs)
are what the paper contributes; ``PatchEmbed`` and ``PatchMerging`` are the
stem and the downsampling of the FasterNet backbone
(:class:`~fasternet_yolo11.models.backbones.FasterNet`). Child names are the
official repository's (``JierunChen/FasterNet``), so its checkpoints map 1:1.
"""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath, LayerScale
from mmdet.utils import ConfigType
from torch import Tensor


class PConv(nn.Module):
    """Partial convolution: a 3x3 conv on the first ``dim // n_div`` channels,
    the other channels pass through unchanged (no norm, no activation).

    Args:
        dim (int): Channels C of the input and output.
        n_div (int): 1 / partial ratio r; the conv sees ``C // n_div``
            channels. Defaults to 4 (r = 1/4).
        forward_type (str): ``'split_cat'`` (training and inference;
            default) splits, convolves and concatenates; ``'slicing'``
            (inference, set by ``deploy.set_pconv_mode``) writes the conv result
            into a copy of the input. Both give identical outputs and neither
            modifies its input, which the block's residual still needs.

    Shape: (B, C, H, W) -> (B, C, H, W).
    """

    forward_types = ('split_cat', 'slicing')

    def __init__(self, dim: int, n_div: int = 4,
                 forward_type: str = 'split_cat'):
        super().__init__()
        assert forward_type in self.forward_types, forward_type
        self.dim_conv3 = dim // n_div
        self.dim_untouched = dim - self.dim_conv3
        self.forward_type = forward_type
        self.partial_conv3 = nn.Conv2d(
            self.dim_conv3, self.dim_conv3, 3, 1, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.forward_type == 'slicing':
            # Read from ``x`` and write into a copy: ``x`` stays intact for
            # the shortcut, and the conv input saved for backward is never
            # overwritten (so gradients flow in this mode too).
            out = x.clone()
            out[:, :self.dim_conv3] = self.partial_conv3(x[:, :self.dim_conv3])
            return out
        x1, x2 = torch.split(x, [self.dim_conv3, self.dim_untouched], dim=1)
        return torch.cat((self.partial_conv3(x1), x2), dim=1)


class FasterNetBlock(nn.Module):
    """FasterNet block: PConv, then an MLP of two 1x1 convs
    (C -> mlp_ratio*C -> BN -> act -> C), optional layer scale, drop path and
    the residual add.

    Args:
        dim (int): Channels C.
        n_div (int): PConv partial ratio 1/r. Defaults to 4.
        mlp_ratio (float): Hidden width of the MLP over C. Defaults to 2.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        layer_scale_init_value (float): Initial per-channel scale of the MLP
            branch; 0 disables it (as in every released FasterNet).
            The scale is mmcv's ``LayerScale``, whose parameter is named
            ``weight``: MMYOLO's ``YOLOv5OptimizerConstructor`` only
            optimizes parameters named ``weight``/``bias`` (it puts this one
            in the decayed ``weight`` group, like the conv weights).
        norm_cfg (dict): Norm after the first 1x1 conv. Defaults to BN.
        act_cfg (dict): Activation after that norm. Defaults to ReLU.
        pconv_fw_type (str): :class:`PConv` forward type.

    Shape: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self,
                 dim: int,
                 n_div: int = 4,
                 mlp_ratio: float = 2.,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 0.,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU', inplace=True),
                 pconv_fw_type: str = 'split_cat'):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.spatial_mixing = PConv(dim, n_div, pconv_fw_type)
        # Indices 0/1/2/3 as in the official nn.Sequential (checkpoint keys).
        self.mlp = nn.Sequential(
            nn.Conv2d(dim, hidden, 1, bias=False),
            build_norm_layer(norm_cfg, hidden)[1],
            build_activation_layer(act_cfg),
            nn.Conv2d(hidden, dim, 1, bias=False))
        self.layer_scale = LayerScale(
            dim, data_format='channels_first', scale=layer_scale_init_value
        ) if layer_scale_init_value > 0 else nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0 \
            else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.layer_scale(self.mlp(self.spatial_mixing(x)))
        return x + self.drop_path(y)


class BasicStage(nn.Module):
    """``depth`` FasterNet blocks at one resolution (the official
    ``BasicStage``; the wrapper exists for the ``stages.i.blocks.j`` key
    names). Shape: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, dim: int, drop_paths: Sequence[float], **block_kwargs):
        super().__init__()
        self.blocks = nn.Sequential(*(
            FasterNetBlock(dim, drop_path=p, **block_kwargs)
            for p in drop_paths))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


class PatchEmbed(nn.Module):
    """Stem: non-overlapping 4x4 stride-4 conv + BN.

    Shape: (B, in_channels, H, W) -> (B, embed_dim, H/4, W/4).
    """

    def __init__(self, in_channels: int, embed_dim: int,
                 patch_size: int = 4,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.proj = nn.Conv2d(
            in_channels, embed_dim, patch_size, patch_size, bias=False)
        self.norm = build_norm_layer(norm_cfg, embed_dim)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.proj(x))


class PatchMerging(nn.Module):
    """Downsampling between stages: 2x2 stride-2 conv doubling the channels
    + BN. Shape: (B, C, H, W) -> (B, 2C, H/2, W/2)."""

    def __init__(self, dim: int, patch_size: int = 2,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.reduction = nn.Conv2d(
            dim, 2 * dim, patch_size, patch_size, bias=False)
        self.norm = build_norm_layer(norm_cfg, 2 * dim)[1]

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.reduction(x))
