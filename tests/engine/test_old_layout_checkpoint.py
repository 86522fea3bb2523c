"""The package move kept registry names and state-dict keys: every config builds, and a checkpoint
written before the move (tests/fixtures/old_layout/, see its README) still tests and resumes."""
import glob
import os.path as osp

import pytest
import torch
from _tools import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmyolo.registry import MODELS

from fasternet_yolo11.datasets.demo_data import make_fire_demo
from fasternet_yolo11.engine.checkpoint_io import load_weights_only

OLD_CKPT = osp.join(REPO, 'tests', 'fixtures', 'old_layout', 'tiny_fasternet_yolo11_epoch_1.pth')
TINY = osp.join(REPO, 'tests', 'configs', 'tiny_fasternet_yolo11.py')
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_every_config_builds(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    with torch.device('meta'):  # the structure, without allocating x-scale weights
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 1e6


def test_old_checkpoint_has_every_key_of_the_new_model():
    cfg = Config.fromfile(TINY)
    init_default_scope('mmyolo')
    model = MODELS.build(cfg.model)
    old = load_weights_only(OLD_CKPT, map_location='cpu')
    assert old['meta']['cfg'].count('projects.fasternet_yolo11') == 1  # written by the old layout
    result = model.load_state_dict(old['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in model.state_dict().items():
        assert torch.equal(value, old['state_dict'][key]), key


@pytest.fixture(scope='module')
def fire_yaml(tmp_path_factory):
    return make_fire_demo(str(tmp_path_factory.mktemp('fire')), num_train=4, num_val=2, img_size=64, seed=3)


def _data(fire_yaml):
    return [f'{k}.dataset.data_yaml={fire_yaml}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def test_old_checkpoint_tests_and_resumes(fire_yaml, tmp_path):
    out = run_tool('tools/test.py', TINY, OLD_CKPT, '--work-dir', str(tmp_path / 'test'),
                   '--cfg-options', *_data(fire_yaml)).out
    assert 'coco/bbox_mAP' in out
    work = tmp_path / 'resume'
    out = run_tool('tools/train.py', TINY, '--work-dir', str(work), '--resume', OLD_CKPT, '--cfg-options',
                   *_data(fire_yaml), 'train_cfg.max_epochs=2', 'default_hooks.param_scheduler.max_epochs=2').out
    assert 'resumed epoch: 1' in out
    assert 'Epoch(train) [2]' in out
    assert torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=True)['meta']['epoch'] == 2
