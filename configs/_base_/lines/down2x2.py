# YOLO11-Down2x2: YOLO11 whose stride-2 convs (stem, backbone stages, neck bottom-up path) are non-overlapping
# 2x2 Conv-BN-SiLU instead of 3x3 (4/9 of their multiply-adds; the kernel of FasterNet's patch merging).
_base_ = './yolo11.py'
line = {name: dict(backbone=dict(downsample_kernel=2), neck=dict(downsample_kernel=2)) for name in _base_.scales}
