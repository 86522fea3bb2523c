# The YOLO11 detector (Ultralytics 8.3.0 yolo11.yaml) on the full COCO recipe, without a scale: a leaf adds a
# line (_base_/lines/*.py) and picks its scale, `model = _base_.line.n`.
# Chain: default_runtime.py <- datasets/coco_detection.py <- schedules/yolo11_recipe.py <- models/yolo11.py
#        <- fire.py <- fire_demo.py
_base_ = '../schedules/yolo11_recipe.py'

strides = [8, 16, 32]
norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)  # Ultralytics' initialize_weights values
act_cfg = dict(type='SiLU', inplace=True)

# ChainedYOLODetector: mmyolo's YOLODetector in which the neck and the head take their input widths from the
# module before them, so no config restates a width.
model = dict(
    type='ChainedYOLODetector',
    data_preprocessor=dict(
        type='YOLOv5DetDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.], bgr_to_rgb=True),
    # model.0-10: stem, stage1-4 (stage4 ends with SPPF and C2PSA); outputs P3/P4/P5
    backbone=dict(type='YOLO11CSPDarknet', norm_cfg=norm_cfg, act_cfg=act_cfg),
    # model.11-22; the backbone already has SPPF + C2PSA, so no p5_context here
    neck=dict(
        type='YOLO11PAFPN',
        out_channels=[256, 512, 1024],  # yaml widths, scaled inside
        num_csp_blocks=2,
        p5_context=False,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    # model.23 (Detect); loss as Ultralytics' v8DetectionLoss (box 7.5, cls 0.5, dfl 1.5)
    bbox_head=dict(
        type='YOLO11Head',
        head_module=dict(
            type='YOLO11HeadModule',
            num_classes=_base_.num_classes,
            featmap_strides=strides,
            reg_max=16,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg),
        prior_generator=dict(type='mmdet.MlvlPointGenerator', offset=0.5, strides=strides),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='none', loss_weight=0.5),
        loss_bbox=dict(
            type='IoULoss', iou_mode='ciou', bbox_format='xyxy', reduction='sum', loss_weight=7.5, return_iou=False),
        # mmdet's DFL sums the 4 sides, Ultralytics averages them
        loss_dfl=dict(type='mmdet.DistributionFocalLoss', reduction='mean', loss_weight=1.5 / 4)),
    train_cfg=dict(
        assigner=dict(
            type='BatchTaskAlignedAssigner',
            num_classes=_base_.num_classes,
            use_ciou=True,
            topk=10,
            alpha=0.5,
            beta=6.0,
            eps=1e-9)),
    # Ultralytics val: conf 0.001, iou 0.7, max_det 300, multi_label, max_nms 30000
    test_cfg=dict(
        multi_label=True, nms_pre=30000, score_thr=0.001, nms=dict(type='nms', iou_threshold=0.7), max_per_img=300))
