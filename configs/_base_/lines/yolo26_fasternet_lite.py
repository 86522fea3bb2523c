# YOLO26-FasterNet-lite: the YOLO26-FasterNet line with the backbone in its CPU variant (arch 'lite').
_base_ = './yolo26_fasternet.py'
line = {name: dict(backbone=dict(arch='lite')) for name in _base_.scales}
