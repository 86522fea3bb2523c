"""FasterNet backbone ("Run, Don't Walk: Chasing Higher FLOPS for Faster
Neural Networks", Chen et al., CVPR 2023, arXiv:2303.03667) for MMYOLO.

Layout (strides 4/8/16/32, ``C = embed_dim``)::

    patch_embed    Conv4x4/s4 + BN   (B, 3, H, W) -> (B, C, H/4, W/4)
    stages.0       depths[0] x FasterNetBlock(C)   -> out index 0, stride 4
    stages.1       PatchMerging Conv2x2/s2 + BN, C -> 2C
    stages.2       depths[1] x FasterNetBlock(2C)  -> out index 1, stride 8
    stages.3       PatchMerging, 2C -> 4C
    stages.4       depths[2] x FasterNetBlock(4C)  -> out index 2, stride 16
    stages.5       PatchMerging, 4C -> 8C
    stages.6       depths[3] x FasterNetBlock(8C)  -> out index 3, stride 32
    norm{0,2,4,6}  optional BN on each selected output (``out_norm``)

Module names are the official repository's (``JierunChen/FasterNet``,
``models/fasternet.py``), so an official checkpoint maps 1:1 onto this
backbone. ``FasterNet.load_pretrained`` (used by
``init_cfg=dict(type='Pretrained', checkpoint=...)``) reads both public
layouts:

Official layout (GitHub release files such as
``fasternet_t0-epoch=281-val_acc1=71.9180.pth``; a raw state dict or one
wrapped in ``state_dict``/``model``, keys possibly prefixed, e.g. ``model.``
in the Lightning checkpoints)::

    patch_embed.{proj,norm}.*                        -> same name
    stages.{0,2,4,6}.blocks.{j}.spatial_mixing.partial_conv3.weight
                                                     -> same name
    stages.{0,2,4,6}.blocks.{j}.mlp.{0,1,3}.*        -> same name
    stages.{0,2,4,6}.blocks.{j}.layer_scale          -> ...layer_scale.weight
    stages.{1,3,5}.{reduction,norm}.*                -> same name
    norm{0,2,4,6}.*  (detection ``fork_feat`` only)  -> per-output norms
    avgpool_pre_head.1.weight, head.{weight,bias}    -> dropped (classifier)

timm layout (``timm.models.fasternet``, timm >= 1.0.16)::

    patch_embed.*                                    -> same name
    stages.{i}.blocks.{j}.*                          -> stages.{2i}.blocks.{j}.*
    stages.{i}.downsample.*        (i = 1, 2, 3)     -> stages.{2i-1}.*
    conv_head.weight, classifier.{weight,bias}       -> dropped (classifier)

The prefix in front of ``patch_embed.proj.weight`` (``''``, ``model.``,
``module.``, ``backbone.`` ...) is detected and stripped, keys outside it are
skipped, so an mmdet/mmyolo detector checkpoint works too.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath, LayerScale
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule, initialize
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS

# Keys of the ImageNet classifier head in either layout; never loaded.
CLASSIFIER_KEY = re.compile(r'^(avgpool_pre_head|head|conv_head|classifier)\.')
# timm nests the merge layer into the following stage.
TIMM_DOWNSAMPLE_KEY = re.compile(r'^stages\.(\d+)\.downsample\.(.*)$')
TIMM_BLOCKS_KEY = re.compile(r'^stages\.(\d+)\.blocks\.(.*)$')
OUT_NORM_KEY = re.compile(r'^norm\d+\.')


class PConv(nn.Module):
    """Partial convolution: a 3x3 conv on the first ``dim // n_div`` channels,
    the other channels pass through unchanged (no norm, no activation).

    Args:
        dim (int): Channels C of the input and output.
        n_div (int): 1 / partial ratio r; the conv sees ``C // n_div``
            channels. Defaults to 4 (r = 1/4).
        forward_type (str): ``'split_cat'`` (training and inference;
            default) splits, convolves and concatenates; ``'slicing'``
            (inference, see :meth:`switch_to_deploy`) writes the conv result
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

    def switch_to_deploy(self) -> None:
        """Use the ``'slicing'`` forward (no concat) from now on."""
        self.forward_type = 'slicing'


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


@MODELS.register_module()
class FasterNet(BaseModule):
    """FasterNet backbone.

    Official variants (``arch``; all with n_div 4, mlp_ratio 2, BN; the
    drop-path rate is the official ImageNet one, given here for reference:
    this class defaults to ``drop_path_rate=0``)::

        arch  embed_dim  depths        stage channels       act   drop_path
        t0    40         1, 2, 8, 2    40/80/160/320        GELU  0.0
        t1    64         1, 2, 8, 2    64/128/256/512       GELU  0.02
        t2    96         1, 2, 8, 2    96/192/384/768       ReLU  0.05
        s     128        1, 2, 13, 2   128/256/512/1024     ReLU  0.1
        m     144        3, 4, 18, 3   144/288/576/1152     ReLU  0.2
        l     192        3, 4, 18, 3   192/384/768/1536     ReLU  0.3
        lite  128        1, 2, 4, 2    128/256/512/1024     ReLU  -

    ``lite`` is not from the paper: it is the CPU-latency variant of this
    project (see the arch table's comment and the project README).

    Width rule. ``arch`` gives the shape (depths, activation) and, alone,
    the official width: ``FasterNet(arch='s')`` *is* FasterNet-S.
    ``widen_factor`` (the one argument of the YOLO11-FasterNet seed YAML,
    ``[-1, 1, FasterNet, [w]]``) sets the width on MMYOLO's scale instead:
    ``embed_dim = make_divisible(160 * widen_factor, 8)``, 160 being the
    embed_dim at widen_factor 1.0. With the default ``arch='t0'`` this gives
    the YOLO scales::

        YOLO scale   widen_factor   embed_dim   stage channels
        n            0.25           40          40/80/160/320   (= T0)
        s            0.5            80          80/160/320/640
        m, l         1.0            160         160/320/640/1280
        x            1.5            240         240/480/960/1920

    so the n-scale backbone is FasterNet-T0 exactly (and its ImageNet
    weights load into it). ``arch='lite'`` scales from 128 instead
    (``base_embed_dim`` in its table entry): n 32, s 64, m/l 128, x 192,
    i.e. YOLO11's own backbone widths.

    Args:
        arch (str | dict): ``'t0'``, ``'t1'``, ``'t2'``, ``'s'``, ``'m'``,
            ``'l'``, ``'lite'``, or a dict with ``embed_dim``, ``depths``,
            ``act_cfg`` and optionally ``base_embed_dim``.
            Defaults to ``'t0'``.
        widen_factor (float, optional): YOLO width multiplier, see above.
            None keeps the arch's own embed_dim. Defaults to None.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages to output, 0/1/2/3 = strides
            4/8/16/32. Defaults to (1, 2, 3) (P3/P4/P5, what the YOLO neck
            takes).
        frozen_stages (int): -1 freezes nothing; 0 freezes ``patch_embed``;
            k >= 1 also freezes the first k stages (with their merging layers
            and output norms): requires_grad False, eval mode. Defaults to -1.
        norm_eval (bool): Keep every BN in eval mode during training (frozen
            running statistics). Defaults to False.
        drop_path_rate (float): Stochastic depth rate of the last block,
            rising linearly from 0 over all blocks. Defaults to 0.
        layer_scale_init_value (float): See :class:`FasterNetBlock`; 0 (the
            released models) disables layer scale. Defaults to 0.
        n_div (int): PConv partial ratio 1/r. Defaults to 4.
        mlp_ratio (float): MLP expansion. Defaults to 2.
        pconv_fw_type (str): ``'split_cat'`` (default) or ``'slicing'``;
            :meth:`switch_to_deploy` switches to ``'slicing'``.
        out_norm (bool): Add a BN (``norm0/2/4/6``, named by stage index as
            in the official detection backbone, ``fork_feat=True``) on each
            selected output. The official detectors and the public YOLO ports
            use them, and True is the setting meant for the YOLO11 detector:
            a stage output is an unnormalised residual stream, the norm gives
            the neck normalised inputs like those of a CSP backbone (whose
            stage outputs end in Conv-BN-act). Defaults to True.
        norm_cfg (dict): Norm layers. Defaults to BN (torch defaults, as in
            the official models).
        act_cfg (dict, optional): Overrides the arch's activation.
        init_cfg (dict | list[dict], optional): None gives the official
            initialisation (truncated normal, std 0.02, on conv/linear
            weights). ``dict(type='Pretrained', checkpoint=PATH)`` loads an
            official or timm ImageNet checkpoint through
            :meth:`load_pretrained` (every backbone tensor must match).

    Attributes:
        stage_channels (list[int]): Channels of the four stages.
        out_channels (list[int]): Channels of the outputs, in order.

    Shape: (B, in_channels, H, W) -> tuple of (B, out_channels[i],
    H / 2**(out_indices[i] + 2), W / 2**(out_indices[i] + 2)).
    """

    arch_settings = {
        't0': dict(embed_dim=40, depths=(1, 2, 8, 2),
                   act_cfg=dict(type='GELU')),
        't1': dict(embed_dim=64, depths=(1, 2, 8, 2),
                   act_cfg=dict(type='GELU')),
        't2': dict(embed_dim=96, depths=(1, 2, 8, 2),
                   act_cfg=dict(type='ReLU', inplace=True)),
        's': dict(embed_dim=128, depths=(1, 2, 13, 2),
                  act_cfg=dict(type='ReLU', inplace=True)),
        'm': dict(embed_dim=144, depths=(3, 4, 18, 3),
                  act_cfg=dict(type='ReLU', inplace=True)),
        'l': dict(embed_dim=192, depths=(3, 4, 18, 3),
                  act_cfg=dict(type='ReLU', inplace=True)),
        # Not a paper variant: the CPU-latency line found by this project's
        # search (tools/analysis_tools/compare_report.py --search). Stage
        # widths equal YOLO11's backbone widths (64/128/256 at P3-P5 for n),
        # half of T0's stage-3 depth, ReLU (cheaper than GELU on CPU).
        'lite': dict(embed_dim=128, depths=(1, 2, 4, 2),
                     act_cfg=dict(type='ReLU', inplace=True),
                     base_embed_dim=128),
    }
    # embed_dim at widen_factor 1.0 unless the arch sets its own: makes YOLO's
    # n scale (0.25) T0-wide.
    base_embed_dim = 160
    default_init_cfg = dict(
        type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)

    def __init__(self,
                 arch: Union[str, dict] = 't0',
                 widen_factor: Optional[float] = None,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0.,
                 n_div: int = 4,
                 mlp_ratio: float = 2.,
                 pconv_fw_type: str = 'split_cat',
                 out_norm: bool = True,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            init_cfg=self.default_init_cfg if init_cfg is None else init_cfg)
        if isinstance(arch, str):
            assert arch in self.arch_settings, \
                f'arch must be one of {list(self.arch_settings)}, got {arch}'
            arch = self.arch_settings[arch]
        embed_dim = arch['embed_dim'] if widen_factor is None else \
            make_divisible(arch.get('base_embed_dim', self.base_embed_dim),
                           widen_factor)
        depths = tuple(arch['depths'])
        act_cfg = act_cfg if act_cfg is not None else arch['act_cfg']
        num_stages = len(depths)
        assert set(out_indices) <= set(range(num_stages)), out_indices
        assert -1 <= frozen_stages <= num_stages, frozen_stages

        self.embed_dim = embed_dim
        self.depths = depths
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_norm = out_norm
        self.stage_channels = [embed_dim * 2**i for i in range(num_stages)]
        self.out_channels = [self.stage_channels[i] for i in self.out_indices]

        self.patch_embed = PatchEmbed(in_channels, embed_dim, 4, norm_cfg)
        # Stochastic depth rising linearly from 0 to drop_path_rate over all
        # blocks (plain Python: construction also works on the meta device).
        num_blocks = sum(depths)
        dpr = [drop_path_rate * i / max(num_blocks - 1, 1)
               for i in range(num_blocks)]
        stages = []
        for i, (dim, depth) in enumerate(zip(self.stage_channels, depths)):
            if i > 0:
                stages.append(PatchMerging(dim // 2, 2, norm_cfg))
            start = sum(depths[:i])
            stages.append(
                BasicStage(
                    dim,
                    dpr[start:start + depth],
                    n_div=n_div,
                    mlp_ratio=mlp_ratio,
                    layer_scale_init_value=layer_scale_init_value,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    pconv_fw_type=pconv_fw_type))
        self.stages = nn.Sequential(*stages)
        if out_norm:
            for i in self.out_indices:
                self.add_module(f'norm{2 * i}',
                                build_norm_layer(norm_cfg,
                                                 self.stage_channels[i])[1])
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) -> tuple of the selected stage outputs."""
        x = self.patch_embed(x)
        outs = []
        for idx, layer in enumerate(self.stages):
            x = layer(x)
            # Even indices of ``stages`` are the FasterNet stages.
            if idx % 2 == 0 and idx // 2 in self.out_indices:
                outs.append(getattr(self, f'norm{idx}')(x)
                            if self.out_norm else x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        modules = [self.patch_embed]
        for i in range(self.frozen_stages):
            modules += list(self.stages[max(2 * i - 1, 0):2 * i + 1])
            if self.out_norm and i in self.out_indices:
                modules.append(getattr(self, f'norm{2 * i}'))
        for m in modules:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'FasterNet':
        """Set train mode, keeping frozen stages (and, with ``norm_eval``,
        every BN) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def switch_to_deploy(self) -> None:
        """Switch every PConv to the inference-only ``'slicing'`` forward.

        Note: MMYOLO 0.6's ``mmyolo.utils.switch_to_deploy(model)`` only
        calls RepVGGBlock's method; call this one directly (or through a
        util that calls ``switch_to_deploy()`` on every module having it).
        """
        for m in self.modules():
            if isinstance(m, PConv):
                m.switch_to_deploy()

    def init_weights(self) -> None:
        """Apply ``init_cfg``; a ``Pretrained`` entry goes through
        :meth:`load_pretrained` (strict for backbone tensors) instead of
        mmengine's lenient ``load_checkpoint``."""
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else \
            [self.init_cfg] if self.init_cfg else []
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        if not pretrained:
            super().init_weights()
            return
        if self._is_init:
            print_log(f'init_weights of {type(self).__name__} has been '
                      'called more than once.', logger='current')
            return
        others = [c for c in cfgs if c.get('type') != 'Pretrained']
        if others:
            initialize(self, others)
        cfg = pretrained[-1]
        self.load_pretrained(
            cfg['checkpoint'],
            map_location=cfg.get('map_location', 'cpu'),
            prefix=cfg.get('prefix'))
        self._is_init = True

    def load_pretrained(self,
                        checkpoint: str,
                        map_location: str = 'cpu',
                        prefix: Optional[str] = None) -> None:
        """Load an official or timm FasterNet checkpoint (see the module
        docstring for the key mappings).

        Every backbone tensor (all parameters and BN statistics except
        ``num_batches_tracked``) must be in the file with the right shape;
        classifier keys are dropped; per-output norms load when the file has
        them (official detection checkpoints) and keep their init otherwise.
        One summary line is logged.

        Args:
            checkpoint (str): Path or URL, read by mmengine's
                ``_load_checkpoint`` (so torch's weights-only loading and the
                project's allow-list apply).
            map_location (str): Passed to ``torch.load``. Defaults to 'cpu'.
            prefix (str, optional): Key prefix of the backbone in the file;
                None detects it from ``patch_embed.proj.weight``.

        Raises:
            ValueError: a backbone key missing from the file, a backbone-like
                key the model lacks (arch mismatch), or a shape mismatch.
        """
        ckpt = _load_checkpoint(checkpoint, map_location=map_location)
        state_dict, layout, prefix, skipped = convert_fasternet_state_dict(
            ckpt, prefix)
        own = self.state_dict()

        def is_optional(key):
            return OUT_NORM_KEY.match(key) or key.endswith(
                'num_batches_tracked')

        missing = [
            k for k in own if k not in state_dict and not is_optional(k)
        ]
        if missing:
            raise ValueError(
                f'FasterNet checkpoint {checkpoint} ({layout} layout) lacks '
                f'{len(missing)} backbone keys: {_short(missing)}')
        unexpected = [k for k in state_dict if k not in own]
        bad_norms = [k for k in unexpected if OUT_NORM_KEY.match(k)]
        unexpected = [k for k in unexpected if k not in bad_norms]
        if unexpected:
            raise ValueError(
                f'FasterNet checkpoint {checkpoint} ({layout} layout) has '
                f'{len(unexpected)} backbone keys this model lacks (does the '
                f'arch match?): {_short(unexpected)}')
        for key, value in state_dict.items():
            if key in own and value.shape != own[key].shape:
                raise ValueError(
                    f'FasterNet checkpoint {checkpoint}: shape mismatch for '
                    f'{key}: checkpoint {tuple(value.shape)} vs model '
                    f'{tuple(own[key].shape)} (does the arch/widen_factor '
                    f'match?)')
        for key in bad_norms:
            skipped.setdefault('per-output norm not built', []).append(key)
            del state_dict[key]
        self.load_state_dict(state_dict, strict=False)

        fresh = sorted({
            k.split('.')[0]
            for k in own if OUT_NORM_KEY.match(k) and k not in state_dict
        })
        msg = (f'FasterNet: loaded {len(state_dict)}/{len(own)} tensors from '
               f'{checkpoint} ({layout} layout, prefix {prefix!r})')
        for reason, keys in skipped.items():
            msg += f'; skipped {len(keys)} keys ({reason}): {_short(keys)}'
        if fresh:
            msg += (f'; per-output norms {", ".join(fresh)} not in the '
                    'checkpoint, kept at init')
        print_log(msg, logger='current')


def _short(keys: List[str], n: int = 4) -> str:
    """At most ``n`` keys, for messages."""
    more = f', ... (+{len(keys) - n})' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def convert_fasternet_state_dict(
    ckpt: dict,
    prefix: Optional[str] = None
) -> Tuple[Dict[str, Tensor], str, str, Dict[str, List[str]]]:
    """Turn a loaded FasterNet checkpoint into this backbone's key names.

    Args:
        ckpt (dict): ``torch.load`` result: a state dict, or a dict holding
            one under ``state_dict`` or ``model``.
        prefix (str, optional): Prefix of the backbone keys; None detects it
            as whatever precedes ``patch_embed.proj.weight``.

    Returns:
        tuple: (state dict in this module's names, ``'official'`` or
        ``'timm'``, the prefix used, {reason: skipped original keys}).
    """
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt.get(wrapper), dict):
            ckpt = ckpt[wrapper]
            break
    if prefix is None:
        anchor = 'patch_embed.proj.weight'
        found = sorted(
            k[:-len(anchor)] for k in ckpt
            if k == anchor or k.endswith('.' + anchor))
        if len(found) != 1:
            raise ValueError(
                'Cannot find the FasterNet weights in the checkpoint: '
                f'expected one key ending in {anchor!r}, found {found}; '
                'pass `prefix` in init_cfg.')
        prefix = found[0]
    skipped: Dict[str, List[str]] = {}
    state = {}
    for key, value in ckpt.items():
        if not key.startswith(prefix):
            skipped.setdefault(f'outside prefix {prefix!r}', []).append(key)
        elif CLASSIFIER_KEY.match(key[len(prefix):]):
            skipped.setdefault('ImageNet classifier', []).append(key)
        else:
            state[key[len(prefix):]] = value
    layout = 'timm' if any(TIMM_DOWNSAMPLE_KEY.match(k) for k in state) \
        else 'official'
    out = {}
    for key, value in state.items():
        if layout == 'timm':
            merge = TIMM_DOWNSAMPLE_KEY.match(key)
            blocks = TIMM_BLOCKS_KEY.match(key)
            if merge:
                key = f'stages.{2 * int(merge[1]) - 1}.{merge[2]}'
            elif blocks:
                key = f'stages.{2 * int(blocks[1])}.blocks.{blocks[2]}'
        if key.endswith('.layer_scale'):
            # A bare nn.Parameter there; here it is LayerScale.weight.
            key += '.weight'
        out[key] = value
    return out, layout, prefix, skipped
