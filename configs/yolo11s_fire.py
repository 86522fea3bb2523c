# Plain YOLO11s on the fire data (for comparison with yolo11s_fasternet_fire.py).
_base_ = './_base_/yolo11_fire.py'

scale = _base_.scales.s
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
