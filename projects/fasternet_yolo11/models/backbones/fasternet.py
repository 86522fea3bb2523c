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
backbone; the timm layout and the key map are in
:mod:`fasternet_yolo11.models.utils.fasternet_converter`.
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers.fasternet_layers import BasicStage, PatchEmbed, PatchMerging
from ..utils.fasternet_converter import (
    check_fasternet_state_dict,
    convert_fasternet_state_dict,
    find_prefix,
    unwrap,
)


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
    ``widen_factor`` (the one argument of the YOLO11-FasterNet reference YAML,
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
            ``deploy.set_pconv_mode`` switches the inference form.
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
            weights). ``dict(type='Pretrained', checkpoint=PATH)`` is
            mmengine's own loader; the file may be an official, timm or
            detector checkpoint: :meth:`_load_from_state_dict` converts it
            and checks that every backbone tensor fits.

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

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Read FasterNet weights in any public layout, strictly.

        Every ``load_state_dict`` of a model holding this backbone passes
        here first (``init_cfg`` Pretrained, ``load_from``, resume, EMA), with
        ``prefix`` the backbone's place in that model. The entries under it
        are rewritten in ``state_dict`` into this module's names
        (:func:`convert_fasternet_state_dict`: official, timm or a detector's
        ``backbone.``/``model.`` nesting, classifier dropped), and then every
        backbone tensor (all but the per-output norms and
        ``num_batches_tracked``) must be there with its shape: a
        ValueError names the first that is not, instead of mmengine's
        warning. One ``FasterNet: loaded ...`` line is logged when the
        entries were not already in this module's names. A state dict with
        nothing under ``prefix`` is left to torch's missing-key report.
        """
        mine = {k[len(prefix):]: v for k, v in state_dict.items()
                if k.startswith(prefix)}
        if find_prefix(unwrap(mine)) is not None:
            source = f'{prefix!r}' if prefix else 'the checkpoint'
            converted, report = convert_fasternet_state_dict(mine)
            check_fasternet_state_dict(converted, self.state_dict(),
                                       report, source)
            for key in mine:
                del state_dict[prefix + key]
            state_dict.update(
                {prefix + k: v for k, v in converted.items()})
            if report.changed:
                print_log(report.summary(source), logger='current')
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
