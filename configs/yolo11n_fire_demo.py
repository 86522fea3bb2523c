# Plain YOLO11n with the demo recipe (_base_/fire_demo.py: 256 px, 15 epochs), the baseline of the comparison.
_base_ = './_base_/fire_demo.py'

scale = _base_.scales.n
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
