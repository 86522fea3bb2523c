# YOLO26-FasterNet: the reference YAML's FasterNet backbone swap on YOLO26: a FasterNet backbone, then YOLO26's
# SPPF (linear first conv, residual) + C2PSA on P5 built by the neck, and YOLO26's neck and NMS-free head.
_base_ = ['./yolo26.py', '../models/fasternet_backbone.py']
line = {
    name: dict(backbone=dict(_base_.fasternet_backbone, widen_factor=f['widen_factor']),
               neck=dict(p5_context=True, sppf_cfg=_base_.yolo26_sppf))
    for name, f in _base_.scales.items()
}
