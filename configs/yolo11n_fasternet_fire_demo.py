# The README's main job (`make demo`): YOLO11n-FasterNet (the seed's T0 line) trained from scratch on the
# embedded synthetic fire/smoke demo with the demo recipe (_base_/fire_demo.py: 256 px, 15 epochs).
_base_ = ['./_base_/fire_demo.py', './_base_/models/fasternet.py']

scale, fasternet = _base_.scales.n, _base_.fasternet_scales.n
model = dict(
    backbone=dict(_delete_=True, **fasternet.backbone),
    neck=dict(**scale.factors, in_channels=fasternet.out_channels, p5_context=True),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
