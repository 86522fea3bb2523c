# YOLO11 on a fire dataset laid out the Ultralytics way, read in place (YOLOFormatDataset):
#   <root>/<data yaml>, <root>/train/images, <root>/train/labels/*.txt, classes.txt
# with the seed's training defaults (epochs=100, imgsz=640, batch=8). An overlay on the COCO chain:
# the pipelines and the recipe are the same; only the data, the class count and the schedule change.
_base_ = './models/yolo11.py'

# ======================== the data (stated once) ========================
# The data yaml names the splits; the default is the embedded synthetic demo
# (python tools/misc/make_fire_demo.py writes it). Point this at your own dataset.
data_yaml = 'data/fire_demo/fire_demo.yaml'
class_names = ('fire', 'smoke')  # must equal the yaml's `names` (checked when the dataset loads)
num_classes = len(class_names)
metainfo = dict(classes=class_names, palette=[(255, 97, 0), (128, 128, 128)])

# ======================== seed training defaults ========================
max_epochs = 100
train_batch_size_per_gpu = 8
train_num_workers = 2
close_mosaic_epochs = 10
val_interval = 1  # Ultralytics validates every epoch

model = dict(
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(assigner=dict(num_classes=num_classes)))

# CocoMetric builds its ground truth from the packed `instances` when ann_file is None.
test_pipeline = [
    *_base_.test_pipeline[:-1],
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param',
                    'instances'))
]
train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    dataset=dict(_delete_=True, type='YOLOFormatDataset', data_yaml=data_yaml, split='train',
                 metainfo=metainfo, pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='YOLOFormatDataset', data_yaml=data_yaml, split='val',
                 metainfo=metainfo, test_mode=True, pipeline=test_pipeline, batch_shapes_cfg=None))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='mmdet.CocoMetric', ann_file=None, metric='bbox',
                     classwise=True, proposal_nums=(100, 1, 10))
test_evaluator = val_evaluator

# Values the recipe derived from max_epochs / batch size are not recomputed: set them here.
optim_wrapper = dict(optimizer=dict(batch_size_per_gpu=train_batch_size_per_gpu))
default_hooks = dict(
    param_scheduler=dict(max_epochs=max_epochs),
    checkpoint=dict(interval=val_interval, save_best='coco/bbox_mAP', rule='greater', max_keep_ckpts=2))
_base_.custom_hooks[1].switch_epoch = max_epochs - close_mosaic_epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=val_interval,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
