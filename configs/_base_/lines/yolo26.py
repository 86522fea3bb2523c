# YOLO26 (Ultralytics 8.4 yolo26.yaml): YOLO11 with a linear first conv and a residual in SPPF, C3k blocks in every
# neck C3k2 and attention in the last, and a DFL-free head with a one-to-one branch whose top-k replaces NMS.
_base_ = '../yolo11_scales.py'
yolo26_sppf = dict(first_act=False, residual=True)  # SPPF [1024, 5, 3, True]: linear first conv, a residual
line = {
    name: dict(
        backbone=dict(**f, sppf_cfg=yolo26_sppf),
        neck=dict(f, force_c3k=True, top_attn=True),
        bbox_head=dict(
            type='YOLO26Head',
            head_module=dict(reg_max=1, one2one=True),
            loss_dfl=None,
            loss_l1=dict(type='mmdet.L1Loss', reduction='sum', loss_weight=1.5)),
        train_cfg=dict(
            assigner=dict(type='YOLO26TaskAlignedAssigner', min_box_size=16),
            one2one_assigner=dict(type='YOLO26TaskAlignedAssigner', use_ciou=True, topk=7, topk2=1, alpha=0.5,
                                  beta=6.0, eps=1e-9, min_box_size=16)),
        test_cfg=dict(end2end=True))  # end2end=False: the one-to-many branch and NMS (test_cfg.nms)
    for name, f in _base_.scales.items()
}
