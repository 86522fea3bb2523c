# Plain YOLO11m on the fire data (for comparison with yolo11m_fasternet_fire.py).
_base_ = './_base_/yolo11_fire.py'

scale = _base_.scales.m
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels)))
