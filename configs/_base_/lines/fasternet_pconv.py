# YOLO11-FasterNet-PConv: YOLO11 with FasterNet's block in the neck (C3k2-Faster: PConv 3x3 on 1/4 of the
# channels, then 1x1 expand and project) and FasterNet's PConv + 1x1 as the head's box-branch 3x3 convs.
_base_ = './yolo11.py'
line = {
    name: dict(neck=dict(csp_block=dict(type='C3k2Faster', n_div=4, mlp_ratio=2.0)),
               bbox_head=dict(head_module=dict(pconv_n_div=4)))
    for name in _base_.scales
}
