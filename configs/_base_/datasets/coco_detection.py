# COCO detection data for the YOLO11 recipe (Ultralytics 8.3.0 augmentation, mmyolo's transforms).
# Inheritance chain (linear, so no duplicate keys between sibling bases):
#   default_runtime.py <- datasets/coco_detection.py <- schedules/yolo11_recipe.py <- models/yolo11.py
#   <- yolo11{n..x}_coco.py
_base_ = '../default_runtime.py'

# ======================== shared numbers (data) ========================
data_root = 'data/coco/'
train_ann_file = 'annotations/instances_train2017.json'
train_data_prefix = 'train2017/'
val_ann_file = 'annotations/instances_val2017.json'
val_data_prefix = 'val2017/'
num_classes = 80  # read by models/yolo11.py (head and assigner)
img_scale = (640, 640)  # width, height
dataset_type = 'YOLOv5CocoDataset'

train_batch_size_per_gpu = 16  # Ultralytics' default batch; weight decay is rescaled from 64 by the optimizer
train_num_workers = 8
val_batch_size_per_gpu = 1
val_num_workers = 2
persistent_workers = True  # must be False when num_workers is 0

# Ultralytics default.yaml: scale 0.5, translate 0.1, degrees/shear 0; box_candidates aspect ratio < 100
affine_scale = 0.5
max_translate_ratio = 0.1
max_aspect_ratio = 100

# ======================== pipelines ========================
pre_transform = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True)
]

# Ultralytics applies Blur/MedianBlur/ToGray/CLAHE at p=0.01 (when albumentations is installed), HSV gains
# (0.015, 0.7, 0.4) (YOLOv5HSVRandomAug's defaults) and a horizontal flip at 0.5.
last_transform = [
    dict(
        type='LenientAlbu',  # fasternet_yolo11/datasets/transforms.py: mmdet's Albu, for albumentations >= 1.4.11
        transforms=[
            dict(type='Blur', p=0.01),
            dict(type='MedianBlur', p=0.01),
            dict(type='ToGray', p=0.01),
            dict(type='CLAHE', p=0.01)
        ],
        bbox_params=dict(
            type='BboxParams', format='pascal_voc', label_fields=['gt_bboxes_labels', 'gt_ignore_flags']),
        keymap={
            'img': 'image',
            'gt_bboxes': 'bboxes'
        }),
    dict(type='YOLOv5HSVRandomAug'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'flip', 'flip_direction'))
]

random_affine = dict(
    type='YOLOv5RandomAffine',
    max_rotate_degree=0.0,
    max_shear_degree=0.0,
    max_translate_ratio=max_translate_ratio,
    scaling_ratio_range=(1 - affine_scale, 1 + affine_scale),
    max_aspect_ratio=max_aspect_ratio,
    border_val=(114, 114, 114))

# Stage 1: 4-image mosaic on a 2x canvas, then the affine crops it back to img_scale.
train_pipeline = [
    *pre_transform,
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0, pre_transform=pre_transform),
    dict(**random_affine, border=(-img_scale[0] // 2, -img_scale[1] // 2)),  # img_scale is (w, h)
    *last_transform
]

# Stage 2 (the last close_mosaic epochs, switched by mmdet.PipelineSwitchHook in the recipe): letterbox, no mosaic.
train_pipeline_stage2 = [
    *pre_transform,
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True, pad_val=dict(img=114.0)),
    random_affine,
    *last_transform
]

test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param'))
]

# ======================== dataloaders and metric ========================
train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    persistent_workers=persistent_workers,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='yolov5_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=train_ann_file,
        data_prefix=dict(img=train_data_prefix),
        filter_cfg=dict(filter_empty_gt=False, min_size=32),
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=val_batch_size_per_gpu,
    num_workers=val_num_workers,
    persistent_workers=persistent_workers,
    pin_memory=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        data_prefix=dict(img=val_data_prefix),
        ann_file=val_ann_file,
        pipeline=test_pipeline,
        batch_shapes_cfg=None))
test_dataloader = val_dataloader

# mmdet's CocoMetric (pycocotools mAP) plus P/R/F1 at the best-F1 threshold, Ultralytics' table and the fitness
# (fasternet_yolo11/evaluation/metrics/detection_pr_metric.py)
val_evaluator = dict(
    type='DetectionPRMetric', proposal_nums=(100, 1, 10), ann_file=data_root + val_ann_file, metric='bbox')
test_evaluator = val_evaluator
