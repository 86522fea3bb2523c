# A very small detector on a tiny generated COCO-layout dataset, for fast tool tests.
# data_root is set by the tests with --cfg-options.
_base_ = '../../configs/_base_/default_runtime.py'

data_root = 'data/tiny/'
class_names = ('fire', 'smoke')
num_classes = len(class_names)
img_scale = (64, 64)
metainfo = dict(classes=class_names)
norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
act_cfg = dict(type='SiLU', inplace=True)

model = dict(
    type='YOLODetector',
    data_preprocessor=dict(type='YOLOv5DetDataPreprocessor', mean=[0., 0., 0.],
                           std=[255., 255., 255.], bgr_to_rgb=True),
    backbone=dict(type='YOLOv8CSPDarknet', arch='P5', last_stage_out_channels=256,
                  deepen_factor=0.33, widen_factor=0.125, norm_cfg=norm_cfg, act_cfg=act_cfg),
    neck=dict(type='YOLOv8PAFPN', deepen_factor=0.33, widen_factor=0.125,
              in_channels=[256, 512, 256], out_channels=[256, 512, 256], num_csp_blocks=3,
              norm_cfg=norm_cfg, act_cfg=act_cfg),
    bbox_head=dict(
        type='YOLOv8Head',
        head_module=dict(type='YOLOv8HeadModule', num_classes=num_classes,
                         in_channels=[256, 512, 256], widen_factor=0.125, reg_max=16,
                         norm_cfg=norm_cfg, act_cfg=act_cfg, featmap_strides=[8, 16, 32]),
        prior_generator=dict(type='mmdet.MlvlPointGenerator', offset=0.5, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='none',
                      loss_weight=0.5),
        loss_bbox=dict(type='IoULoss', iou_mode='ciou', bbox_format='xyxy', reduction='sum',
                       loss_weight=7.5, return_iou=False),
        loss_dfl=dict(type='mmdet.DistributionFocalLoss', reduction='mean', loss_weight=1.5 / 4)),
    train_cfg=dict(assigner=dict(type='BatchTaskAlignedAssigner', num_classes=num_classes,
                                 use_ciou=True, topk=10, alpha=0.5, beta=6.0, eps=1e-9)),
    test_cfg=dict(multi_label=True, nms_pre=1000, score_thr=0.001,
                  nms=dict(type='nms', iou_threshold=0.7), max_per_img=100))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True),
    dict(type='mmdet.PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param')),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='yolov5_collate'),
    dataset=dict(type='YOLOv5CocoDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                 filter_cfg=dict(filter_empty_gt=False, min_size=2), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='YOLOv5CocoDataset', data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/val.json', data_prefix=dict(img='images/'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmdet.CocoMetric', ann_file=data_root + 'annotations/val.json',
                     metric='bbox', proposal_nums=(100, 1, 10))
test_evaluator = val_evaluator

optim_wrapper = dict(type='FiniteOptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1),
                     visualization=dict(draw=False))
