"""Every config loads; the fire/COCO and YOLO11/FasterNet families are thin diffs that agree."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
SCALES = 'nsmlx'


def load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def test_all_twenty_one_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    for s in SCALES:
        for kind in ('coco', 'fire', 'fasternet_coco', 'fasternet_fire'):
            assert f'yolo11{s}_{kind}.py' in names
    for demo in ('yolo11n', 'yolo11n_fasternet', 'yolo11n_fasternet_lite'):
        assert f'{demo}_fire_demo.py' in names
    for s in 'ns':  # the CPU lines ship for the scales they were measured at
        for kind in ('coco', 'fire'):
            assert f'yolo11{s}_fasternet_lite_{kind}.py' in names
            assert f'yolo11{s}_fasternet_pconv_{kind}.py' in names
            assert f'yolo11{s}_fasternet_merging_{kind}.py' in names


def test_demo_configs_differ_only_in_the_network():
    # The comparison report's fixed recipe: the three demo configs train the same way.
    def without_model(cfg):
        d = cfg.to_dict()
        for key in ('model', 'scale', 'fasternet', 'fasternet_scales', 'fasternet_lite_scales'):
            d.pop(key, None)
        return d
    demos = [load(f'{n}_fire_demo.py') for n in ('yolo11n', 'yolo11n_fasternet',
                                                  'yolo11n_fasternet_lite')]
    assert without_model(demos[0]) == without_model(demos[1]) == without_model(demos[2])
    assert (demos[0].train_cfg.max_epochs, demos[0].img_scale) == (15, (256, 256))
    assert [d.model.backbone.get('arch') for d in demos] == [None, 't0', 'lite']
    for d in demos:  # the rest of the network is the plain YOLO11n neck and head
        assert d.model.bbox_head.head_module.in_channels == demos[0].model.bbox_head.head_module.in_channels


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_is_consistent(path):
    cfg = Config.fromfile(path)
    head = cfg.model.bbox_head.head_module
    assert head.num_classes == cfg.model.train_cfg.assigner.num_classes == cfg.num_classes
    if '_fire' in path:
        assert cfg.num_classes == len(cfg.class_names) == 2
        assert cfg.train_dataloader.dataset.type == 'YOLOFormatDataset'
        assert cfg.val_evaluator.ann_file is None  # ground truth from the same labels
    switch = [h for h in cfg.custom_hooks if h.type == 'mmdet.PipelineSwitchHook'][0]
    assert switch.switch_epoch == cfg.train_cfg.max_epochs - cfg.close_mosaic_epochs
    assert cfg.default_hooks.param_scheduler.max_epochs == cfg.train_cfg.max_epochs
    assert cfg.optim_wrapper.optimizer.batch_size_per_gpu == cfg.train_dataloader.batch_size
    if '_pconv' in path:  # FasterNet's block inside YOLO11: its backbone, PConv neck and head
        assert cfg.model.backbone.type == 'YOLO11CSPDarknet'
        assert cfg.model.neck.csp_block.type == 'C3k2Faster' and head.pconv_n_div == 4
    elif '_merging' in path:  # YOLO11 with 2x2 stride-2 convs (FasterNet's patch merging)
        assert cfg.model.backbone.type == 'YOLO11CSPDarknet'
        assert cfg.model.backbone.downsample_kernel == cfg.model.neck.downsample_kernel == 2
        assert cfg.model.neck.get('csp_block') is None and not head.get('pconv_n_div')
    elif 'fasternet' in path:
        assert cfg.model.backbone.type == 'FasterNet' and cfg.model.neck.p5_context


def test_seed_defaults_and_widen_factors():
    for s, w in zip(SCALES, (0.25, 0.5, 1.0, 1.0, 1.5)):
        cfg = load(f'yolo11{s}_fasternet_fire.py')
        assert cfg.model.backbone.widen_factor == w
        assert (cfg.train_cfg.max_epochs, cfg.img_scale, cfg.train_dataloader.batch_size) == \
            (100, (640, 640), 8)


@pytest.mark.parametrize('name', ['yolo11n_fasternet_fire.py', 'yolo11s_fasternet_fire.py',
                                  'yolo11n_fasternet_lite_fire.py', 'yolo11s_fasternet_lite_fire.py',
                                  'yolo11n_fasternet_pconv_fire.py', 'yolo11n_fasternet_merging_fire.py',
                                  'yolo11s_fasternet_merging_fire.py'])
def test_fasternet_detector_builds_and_runs(name):
    init_default_scope('mmyolo')
    model = MODELS.build(load(name).model).eval()
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(torch.rand(1, 3, 64, 96))
    assert [tuple(c.shape) for c in cls_scores] == [(1, 2, 8, 12), (1, 2, 4, 6), (1, 2, 2, 3)]
    assert all(b.shape[1] == 4 for b in bbox_preds)
