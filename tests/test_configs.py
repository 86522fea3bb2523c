"""Every config loads; the fire/COCO and YOLO11/FasterNet families are thin diffs that agree: a leaf names a
recipe, a line and a scale, and states nothing else."""
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


def build(cfg):
    """The detector of a config on the meta device (its real module widths, no memory)."""
    init_default_scope('mmyolo')
    with torch.device('meta'):
        return MODELS.build(cfg.model)


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
            assert f'yolo11{s}_down2x2_{kind}.py' in names


def test_demo_configs_differ_only_in_the_network():
    # The comparison report's fixed recipe: the three demo configs train the same way.
    def without_model(cfg):
        d = cfg.to_dict()
        for key in ('model', 'line', 'scales', 'fasternet_backbone', 'yolo26_sppf'):  # the network's parts
            d.pop(key, None)
        return d
    demos = [load(f'{n}_fire_demo.py') for n in ('yolo11n', 'yolo11n_fasternet',
                                                  'yolo11n_fasternet_lite')]
    assert without_model(demos[0]) == without_model(demos[1]) == without_model(demos[2])
    assert (demos[0].train_cfg.max_epochs, demos[0].img_scale) == (15, (256, 256))
    assert [d.model.backbone.get('arch') for d in demos] == [None, 't0', 'lite']
    for d in demos:  # the rest of the network is the plain YOLO11n neck and head
        assert build(d).bbox_head.head_module.in_channels == build(demos[0]).bbox_head.head_module.in_channels


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
    elif '_down2x2' in path:  # YOLO11 with 2x2 stride-2 convs
        assert cfg.model.backbone.type == 'YOLO11CSPDarknet'
        assert cfg.model.backbone.downsample_kernel == cfg.model.neck.downsample_kernel == 2
        assert cfg.model.neck.get('csp_block') is None and not head.get('pconv_n_div')
    elif 'fasternet' in path:
        assert cfg.model.backbone.type == 'FasterNet' and cfg.model.neck.p5_context


def test_reference_yaml_defaults_and_widen_factors():
    for s, w in zip(SCALES, (0.25, 0.5, 1.0, 1.0, 1.5)):
        cfg = load(f'yolo11{s}_fasternet_fire.py')
        assert cfg.model.backbone.widen_factor == w
        assert (cfg.train_cfg.max_epochs, cfg.img_scale, cfg.train_dataloader.batch_size) == \
            (100, (640, 640), 8)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_leaf_configs_name_a_recipe_a_line_and_a_scale(path):
    """A leaf is a comment, a recipe and a line (_base_/lines/), and the line's scale: the scale letter of its
    file name, and nothing else, so that no width or module setting is restated in a leaf."""
    lines = [ln for ln in open(path).read().splitlines() if ln.strip()]
    scale = osp.basename(path)[len('yolo11')]
    assert lines[0].startswith('# ') and len(lines) == 3, lines
    assert lines[1].startswith("_base_ = ['./_base_/") and "'./_base_/lines/" in lines[1]
    assert lines[2] == f'model = _base_.line.{scale}'


def test_every_config_named_after_fasternet_has_a_fasternet_module():
    """A line's name says what is in its network: a config named after FasterNet builds a FasterNet-family
    module (the FasterNet backbone, FasterNet blocks or PConv); the others build none."""
    from fasternet_yolo11.models.backbones import FasterNet
    from fasternet_yolo11.models.layers import FasterNetBlock, PConv
    for path in CONFIGS:
        model = build(Config.fromfile(path))
        family = [m for m in model.modules() if isinstance(m, (FasterNet, FasterNetBlock, PConv))]
        assert bool(family) == ('fasternet' in osp.basename(path)), osp.basename(path)


@pytest.mark.parametrize('name', ['yolo11n_fasternet_fire.py', 'yolo11s_fasternet_fire.py',
                                  'yolo11n_fasternet_lite_fire.py', 'yolo11s_fasternet_lite_fire.py',
                                  'yolo11n_fasternet_pconv_fire.py', 'yolo11n_down2x2_fire.py',
                                  'yolo11s_down2x2_fire.py'])
def test_fasternet_detector_builds_and_runs(name):
    init_default_scope('mmyolo')
    model = MODELS.build(load(name).model).eval()
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(torch.rand(1, 3, 64, 96))
    assert [tuple(c.shape) for c in cls_scores] == [(1, 2, 8, 12), (1, 2, 4, 6), (1, 2, 2, 3)]
    assert all(b.shape[1] == 4 for b in bbox_preds)
