# YOLO11s-FasterNet-PConv on the fire data (seed defaults: epochs 100, imgsz 640, batch 8):
#  FasterNet's PConv in YOLO11's neck and head (placement search, README: faster fused, less accurate):
#  YOLO11s's backbone, SPPF, C2PSA
#  -> YOLO11 neck with C3k2-Faster blocks (PConv 3x3 on 1/4 of the channels, then two 1x1)
#  -> Detect head whose box-branch 3x3 convs are PConv + 1x1.
_base_ = ['./_base_/yolo11_fire.py', './_base_/models/faster_blocks.py']

scale = _base_.scales.s
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels,
              csp_block=_base_.faster_block),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels,
                                    pconv_n_div=_base_.head_pconv_n_div)))
