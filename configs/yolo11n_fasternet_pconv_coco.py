# YOLO11n-FasterNet-PConv on COCO (80 classes), Ultralytics' recipe:
#  FasterNet's PConv in YOLO11's neck and head (placement search, README: faster fused, less accurate):
#  YOLO11n's backbone, SPPF, C2PSA
#  -> YOLO11 neck with C3k2-Faster blocks (PConv 3x3 on 1/4 of the channels, then two 1x1)
#  -> Detect head whose box-branch 3x3 convs are PConv + 1x1.
_base_ = ['./_base_/models/yolo11.py', './_base_/models/faster_blocks.py']

scale = _base_.scales.n
model = dict(
    backbone=dict(**scale.factors),
    neck=dict(**scale.factors, in_channels=scale.backbone_out_channels,
              csp_block=_base_.faster_block),
    bbox_head=dict(head_module=dict(in_channels=scale.neck_out_channels,
                                    pconv_n_div=_base_.head_pconv_n_div)))
