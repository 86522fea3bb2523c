# YOLO11-FasterNet, the reference YAML's swap: a FasterNet backbone (`[-1, 1, FasterNet, [w]]`, w = the scale's
# width, so n is FasterNet-T0 and takes its ImageNet weights), then SPPF + C2PSA on P5 (built by the neck, so the
# backbone stays exactly FasterNet) and the YOLO11 neck and head.
_base_ = ['../yolo11_scales.py', '../models/fasternet_backbone.py']
line = {
    name: dict(backbone=dict(_base_.fasternet_backbone, widen_factor=f['widen_factor']),
               neck=dict(**f, p5_context=True))
    for name, f in _base_.scales.items()
}
