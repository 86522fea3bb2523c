"""configs/yolo11{n,s,m,l,x}_coco.py and their bases: the scale table, the recipe and the data pipelines."""
import copy
import os.path as osp

import pytest
import torch
from _tiny_data import make_tiny_coco
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.datasets import yolov5_collate
from mmyolo.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# yolo11.yaml scales: depth, width, max_channels; and the neck outputs (Detect inputs) of the reference table
YAML = dict(n=(0.50, 0.25, 1024, (64, 128, 256)), s=(0.50, 0.50, 1024, (128, 256, 512)),
            m=(0.50, 1.00, 512, (256, 512, 512)), l=(1.00, 1.00, 512, (256, 512, 512)),
            x=(1.00, 1.50, 512, (384, 768, 768)))


def load(scale):
    return Config.fromfile(osp.join(REPO, 'configs', f'yolo11{scale}_coco.py'))


@pytest.mark.parametrize('scale', list(YAML))
def test_scale_configs(scale):
    cfg = load(scale)
    depth, width, max_channels, detect_in = YAML[scale]
    for part in (cfg.model.backbone, cfg.model.neck):
        assert (part.deepen_factor, part.widen_factor, part.max_channels) == (depth, width, max_channels)
        assert part.force_c3k == (scale in 'mlx')
    init_default_scope('mmyolo')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert tuple(model.bbox_head.head_module.in_channels) == detect_in
    assert model.neck.in_channels == [min(c, max_channels) * width for c in (512, 512, 1024)]
    assert cfg.model.neck.p5_context is False
    assert cfg.model.bbox_head.head_module.num_classes == cfg.model.train_cfg.assigner.num_classes == 80


def test_recipe():
    cfg = load('n')
    optim = cfg.optim_wrapper
    assert optim.constructor == 'YOLOv5OptimizerConstructor' and optim.clip_grad.max_norm == 10.0
    assert (optim.optimizer.type, optim.optimizer.lr, optim.optimizer.momentum, optim.optimizer.weight_decay,
            optim.optimizer.nesterov) == ('SGD', 0.01, 0.937, 0.0005, True)
    sched = cfg.default_hooks.param_scheduler
    assert (sched.type, sched.scheduler_type, sched.lr_factor, sched.warmup_epochs) == \
        ('YOLOv5ParamSchedulerHook', 'linear', 0.01, 3)
    assert sched.max_epochs == cfg.train_cfg.max_epochs == cfg.max_epochs
    assert cfg.default_hooks.checkpoint.save_best == 'auto'
    ema, switch, best_thr, early_stop = cfg.custom_hooks
    assert best_thr.type == 'BestThresholdHook'
    # Ultralytics' patience 100 on its fitness, which the val evaluator (CocoMetric + P/R/F1) gives
    assert (early_stop.type, early_stop.monitor, early_stop.patience, cfg.patience) == \
        ('FitnessEarlyStoppingHook', 'coco/fitness', 100, 100)
    assert cfg.val_evaluator.type == cfg.test_evaluator.type == 'DetectionPRMetric'
    assert (ema.type, ema.ema_type, ema.momentum) == ('EMAHook', 'ExpMomentumEMA', 0.0001)
    assert switch.type == 'mmdet.PipelineSwitchHook' and switch.switch_epoch == cfg.max_epochs - 10
    assert [t.type for t in switch.switch_pipeline] == [t.type for t in cfg.train_pipeline_stage2]
    assert cfg.train_dataloader.collate_fn.type == 'yolov5_collate'
    test_cfg = cfg.model.test_cfg
    assert (test_cfg.multi_label, test_cfg.nms_pre, test_cfg.score_thr, test_cfg.nms.iou_threshold,
            test_cfg.max_per_img) == (True, 30000, 0.001, 0.7, 300)
    assert cfg.model.train_cfg.assigner.topk == 10


def test_pipelines_run(tmp_path):
    """Stage-1 (Mosaic + affine), stage-2 (letterbox) and test pipelines on a tiny COCO-layout set."""
    root = make_tiny_coco(str(tmp_path), num_images=4, size=64) + '/'
    cfg = load('n')
    init_default_scope('mmyolo')
    overrides = dict(data_root=root, ann_file='annotations/train.json', data_prefix=dict(img='images/'),
                     metainfo=dict(classes=('fire', 'smoke')))
    affine = [t for t in cfg.train_pipeline if t.type == 'YOLOv5RandomAffine'][0]
    assert (affine.max_translate_ratio, affine.scaling_ratio_range, affine.border) == (0.1, (0.5, 1.5), (-320, -320))
    torch.manual_seed(0)
    for pipeline in (cfg.train_pipeline, cfg.train_pipeline_stage2):
        dataset = DATASETS.build(dict(copy.deepcopy(cfg.train_dataloader.dataset), pipeline=pipeline, **overrides))
        batch = yolov5_collate([dataset[i] for i in range(2)])
        assert batch['inputs'].shape == (2, 3, 640, 640)
        boxes = batch['data_samples']['bboxes_labels']
        assert boxes.shape[1] == 6 and set(boxes[:, 0].tolist()) <= {0., 1.}
        assert torch.all(boxes[:, 2:] >= 0) and torch.all(boxes[:, 2:] <= 640)
    val = DATASETS.build(dict(copy.deepcopy(cfg.val_dataloader.dataset), **overrides))
    sample = val[0]
    # the long side is resized to 640 (up too, as Ultralytics' loader does); square images need no padding
    assert sample['inputs'].shape == (3, 640, 640)
    assert sample['data_samples'].scale_factor == (10.0, 10.0)
    assert list(sample['data_samples'].pad_param) == [0., 0., 0., 0.]
