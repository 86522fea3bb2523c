"""Parameters and MACs of the FasterNet backbones beside the paper's table.

    python tools/analysis_tools/fasternet_table.py                 # the six official archs
    python tools/analysis_tools/fasternet_table.py --widen 0.25 0.5 1.0 1.5 --shape 640

For each arch it builds the backbone (no per-output norms) and, for the comparison with the
paper (Tab. 3/8, ImageNet 224x224, classifier included), the official classifier head
``AvgPool -> Conv1x1(8C -> 1280, no bias) -> act -> Linear(1280 -> 1000)``.  MACs come from
mmengine's counter (fvcore rules: one multiply-add of a conv/linear is one "flop", BN and
pooling add a little); the paper's "FLOPs" are MACs too: Tab. 3 matches the full count
(T2 1.91, S 4.56, M 8.74, L 15.52 G), Tab. 8 / the README the conv+linear count (1.90, 4.55,
8.72, 15.49 G), so both are printed.  The paper's parameter counts
(3.9/7.6/15.0/31.1/53.5/93.4 M) leave out the BN parameters (the BN-fused deployment model), so
both counts are printed.
"""
import argparse

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmcv.cnn import build_activation_layer  # noqa: E402
from mmengine.analysis import FlopAnalyzer  # noqa: E402

from fasternet_yolo11.models import FasterNet  # noqa: E402
from fasternet_yolo11.utils import cli

PAPER = {'t0': (3.9, 0.34), 't1': (7.6, 0.85), 't2': (15.0, 1.90),
         's': (31.1, 4.55), 'm': (53.5, 8.72), 'l': (93.4, 15.49)}


class WithClassifier(nn.Module):
    """A FasterNet backbone with the official ImageNet head: (B, 3, H, W) -> (B, 1000)."""

    def __init__(self, backbone: FasterNet, act_cfg: dict):
        super().__init__()
        self.backbone = backbone
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv_head = nn.Conv2d(backbone.out_channels[-1], 1280, 1, bias=False)
        self.act = build_activation_layer(act_cfg)
        self.classifier = nn.Linear(1280, 1000)

    def forward(self, x):
        x = self.act(self.conv_head(self.pool(self.backbone(x)[-1])))
        return self.classifier(x.flatten(1))


def count(module, only_bn=False):
    return sum(p.numel() for m in module.modules() for p in m.parameters(recurse=False)
               if not only_bn or isinstance(m, nn.modules.batchnorm._BatchNorm))


def macs(model, size):
    """(all MACs mmengine counts, conv/linear MACs only), in G."""
    analyzer = FlopAnalyzer(model.eval(), (torch.randn(1, 3, size, size), ))
    analyzer.unsupported_ops_warnings(False)  # GELU/ReLU/add/cat count 0 under fvcore rules
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        ops = analyzer.by_operator()
    return sum(ops.values()) / 1e9, (ops['conv'] + ops['linear']) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(PAPER), choices=list(PAPER))
    parser.add_argument('--widen', nargs='*', type=float, default=[],
                        help='also list the YOLO widen factors (T0 shape), backbone only')
    parser.add_argument('--shape', type=int, default=224, help='input size (square)')
    args = parser.parse_args()

    print(f'input {args.shape}x{args.shape}; params in M, MACs in G '
          '(all = mmengine/fvcore count incl. BN and pooling, conv = conv + linear only)')
    print('| arch | backbone params | + classifier | + classifier, no BN | paper params '
          '| backbone MACs all / conv | + classifier MACs all / conv | paper MACs |')
    print('|---|---|---|---|---|---|---|---|')
    for arch in args.archs:
        backbone = FasterNet(arch, out_indices=(0, 1, 2, 3), out_norm=False)
        full = WithClassifier(
            FasterNet(arch, out_indices=(3, ), out_norm=False),
            FasterNet.arch_settings[arch]['act_cfg'])
        bb, total, bn = count(backbone), count(full), count(full, only_bn=True)
        p_params, p_macs = PAPER[arch]
        (bb_all, bb_conv), (full_all, full_conv) = macs(backbone, args.shape), \
            macs(full, args.shape)
        print(f'| {arch} | {bb / 1e6:.3f} | {total / 1e6:.3f} | {(total - bn) / 1e6:.3f} '
              f'| {p_params} | {bb_all:.3f} / {bb_conv:.3f} '
              f'| {full_all:.3f} / {full_conv:.3f} | {p_macs} |')
    for widen in args.widen:
        backbone = FasterNet(widen_factor=widen, out_indices=(1, 2, 3))
        bb_all, bb_conv = macs(backbone, args.shape)
        print(f'| widen {widen} (out channels {backbone.out_channels}, with out norms) '
              f'| {count(backbone) / 1e6:.3f} | | | | {bb_all:.3f} / {bb_conv:.3f} | | |')

if __name__ == '__main__':
    cli.main(main)
