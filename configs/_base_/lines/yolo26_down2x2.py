# YOLO26-Down2x2: YOLO26 whose stride-2 convs (stem, backbone stages, neck bottom-up path) are non-overlapping
# 2x2 Conv-BN-SiLU instead of 3x3 (FasterNet's patch-merging kernel; --weights folds pretrained 3x3 kernels in).
_base_ = './yolo26.py'
line = {name: dict(backbone=dict(downsample_kernel=2), neck=dict(downsample_kernel=2)) for name in _base_.scales}
