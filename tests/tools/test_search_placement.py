"""compare_report.py --search's placement set: one generated config per candidate of
configs/_search_/placements.py, at the n scale and at s, building what it says."""
import os.path as osp

from mmengine.config import Config
from mmyolo.registry import MODELS
from mmyolo.utils import register_all_modules

from fasternet_yolo11.analysis import compare, spaces
from fasternet_yolo11.models.layers import C3k2Faster, PConv
from fasternet_yolo11.utils.cli import REPO_ROOT
from tools.analysis_tools import compare_report

register_all_modules()


def entries(tmp_path, *argv):
    args = compare_report.parse_args(['--work-dir', str(tmp_path), '--search', *argv])
    return compare.search_entries(args)


def test_placement_set_has_every_candidate(tmp_path):
    got = entries(tmp_path, '--search-set', 'placement')
    labels = [label for label, _, _ in got]
    assert labels[0] == 'YOLO11n' and got[0][2] is None
    assert [name for _, _, name in got[1:]] == list(Config.fromfile(osp.join(
        REPO_ROOT, 'configs/_search_/placements.py')).faster_candidates)
    assert len(set(labels)) == len(labels)
    both = entries(tmp_path)  # default: the FasterNet designs and the placements
    assert len(both) == len(got) + len(spaces.SEARCH_SPACE)


def test_placement_configs_build_the_candidate(tmp_path):
    by_name = {name: config for _, config, name in entries(tmp_path, '--search-set', 'placement')}

    def model(name):
        return MODELS.build(Config.fromfile(by_name[name]).model)
    neck = model('neck')
    assert not any(isinstance(m, C3k2Faster) for m in neck.backbone.modules())
    assert any(isinstance(m, C3k2Faster) for m in neck.neck.modules())
    head = model('head_pconv')
    assert isinstance(head.bbox_head.head_module.reg_preds[0][0][0], PConv)
    lite = model('lite_neck')
    assert type(lite.backbone).__name__ == 'FasterNet'


def test_s_scale_runs_the_placement_set_only(tmp_path):
    got = entries(tmp_path, '--search-scale', 's')
    assert got[0][0] == 'YOLO11s' and all(name for _, _, name in got[1:])
    cfg = Config.fromfile(dict((n, c) for _, c, n in got[1:])['both'])
    assert cfg.model.backbone.widen_factor == 0.5 and cfg.model.neck.csp_block.type == 'C3k2Faster'


def test_combined_candidate_has_pconv_in_backbone_neck_and_head(tmp_path):
    by_name = {name: config for _, config, name in entries(tmp_path, '--search-set', 'placement')}
    m = MODELS.build(Config.fromfile(by_name['lite_neck_head']).model)
    assert type(m.backbone).__name__ == 'FasterNet'
    assert any(isinstance(x, C3k2Faster) for x in m.neck.modules())
    assert isinstance(m.bbox_head.head_module.reg_preds[0][0][0], PConv)


def test_search_names_picks_candidates_and_training_keeps_the_head(tmp_path):
    got = entries(tmp_path, '--search-set', 'placement', '--search-scale', 's',
                  '--search-names', 'head_pconv', 'lite_neck_head')
    assert [name for _, _, name in got] == [None, 'head_pconv', 'lite_neck_head']
    yaml_path = osp.join(tmp_path, 'd.yaml')
    with open(yaml_path, 'w') as f:
        f.write('path: .\ntrain: images\nval: images\nnames: [a, b, c]\n')
    cfg = compare.training_config(got[1][1], compare_report.parse_args([]).train_recipe, yaml_path)
    head = cfg.model.bbox_head.head_module
    assert head.pconv_n_div == 4 and head.num_classes == 3
    assert MODELS.build(cfg.model).bbox_head.head_module.in_channels == [128, 256, 512]


def test_search_on_yolo26_changes_the_yolo26_head_and_neck(tmp_path):
    got = entries(tmp_path, '--search-line', 'yolo26', '--search-set', 'placement')
    assert got[0][0] == 'YOLO26n' and got[0][1].endswith('yolo26n_coco.py')
    by_name = {name: config for _, config, name in got[1:]}
    assert len(by_name) == len(got) - 1 == len(Config.fromfile(osp.join(
        REPO_ROOT, 'configs/_search_/placements.py')).faster_candidates)
    m = MODELS.build(Config.fromfile(by_name['down2x2_head_dw']).model)
    head = m.bbox_head.head_module
    assert type(m.bbox_head).__name__ == 'YOLO26Head' and head.one2one and head.reg_max == 1
    assert m.backbone.stem.conv.kernel_size == (2, 2) and len(head.one2one_reg_preds[0][0]) == 2  # dw + pw
    lite = Config.fromfile(by_name['lite_neck_head'])
    assert lite.model.backbone.arch == 'lite' and lite.model.bbox_head.type == 'YOLO26Head'
    designs = entries(tmp_path, '--search-line', 'yolo26', '--search-set', 'fasternet')
    assert Config.fromfile(designs[1][1]).model.neck.sppf_cfg.residual  # YOLO26n-FasterNet with another backbone
