# YOLO11-FasterNet-lite: the FasterNet line with the backbone in its CPU variant (arch 'lite': YOLO11's own
# backbone widths, depths 1-2-4-2, ReLU).
_base_ = './fasternet.py'
line = {name: dict(backbone=dict(arch='lite')) for name in _base_.scales}
