# The fire recipe: a fire dataset laid out the Ultralytics way, read in place (YOLOFormatDataset):
#   <root>/<data yaml>, <root>/train/images, <root>/train/labels/*.txt, classes.txt
# with the reference YAML's training defaults (epochs=100, imgsz=640, batch=8). An overlay on the COCO chain:
# the pipelines and the recipe are the same; only the data, the class count and the schedule change.
# Any dataset, without a config file: tools/train.py CONFIG --data my.yaml [--epochs --img-size --batch].
_base_ = './models/yolo11.py'
# after the _base_ line, so that mmengine reads this as a plain (not a lazy-import) config
from fasternet_yolo11.config.derivation import derived_keys  # noqa: E402

# ======================== the data (stated once) ========================
# The data yaml names the splits; the default is the embedded synthetic demo
# (python tools/misc/make_fire_demo.py writes it). Point this at your own dataset, or use --data.
data_yaml = 'data/fire_demo/fire_demo.yaml'
class_names = ('fire', 'smoke')  # must equal the yaml's `names` (checked when the dataset loads)
metainfo = dict(classes=class_names, palette=[(255, 97, 0), (128, 128, 128)])

# ======================== the reference YAML's training defaults ========================
max_epochs = 100
train_batch_size_per_gpu = 8
train_num_workers = 2
close_mosaic_epochs = 10
val_interval = save_epoch_intervals = 1  # Ultralytics validates every epoch
# One optimizer step per batch (nbs None), not Ultralytics' nominal batch 64 (one step per 8 batches of 8): on
# small data sets the 8x fewer steps cost accuracy (docs/training.md measures it). --nbs 64 turns it on.
nbs = None

# CocoMetric builds its ground truth from the packed `instances` when ann_file is None.
test_pipeline = [
    *_base_.test_pipeline[:-1],
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param',
                    'instances'))
]
train_dataloader = dict(
    dataset=dict(_delete_=True, type='YOLOFormatDataset', data_yaml=data_yaml, split='train',
                 metainfo=metainfo, pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='YOLOFormatDataset', data_yaml=data_yaml, split='val',
                 metainfo=metainfo, test_mode=True, pipeline=test_pipeline, batch_shapes_cfg=None))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='DetectionPRMetric', ann_file=None, metric='bbox',
                     classwise=True, proposal_nums=(100, 1, 10))
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco/bbox_mAP', rule='greater', max_keep_ckpts=2))

# every key that depends on the values above (num_classes of head and assigner, batch sizes, schedule,
# switch epoch, intervals, accumulation), recomputed from _base_ (fasternet_yolo11/config/derivation.py)
globals().update(derived_keys(_base_, globals()))
