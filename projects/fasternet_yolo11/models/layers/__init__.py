from .faster_blocks import C3k2Faster, C3kFaster, FasterBottleneck
from .fasternet_layers import BasicStage, FasterNetBlock, PatchEmbed, PatchMerging, PConv
from .yolo11_layers import C2PSA, SPPF, Attention, Bottleneck, C3k, C3k2, PSABlock, yolo11_channels

__all__ = ['PConv', 'FasterNetBlock', 'BasicStage', 'PatchEmbed', 'PatchMerging', 'Bottleneck',
           'C3k', 'C3k2', 'SPPF', 'Attention', 'PSABlock', 'C2PSA', 'yolo11_channels',
           'FasterBottleneck', 'C3kFaster', 'C3k2Faster']
