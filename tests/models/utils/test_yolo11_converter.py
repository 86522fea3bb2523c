"""YOLO11 conversion: the key mapping (models/utils/ultralytics_converter.py), its strictness and the command line
(tools/model_converters/ultralytics_to_mmyolo.py)."""
import os.path as osp
import sys

import pytest
import torch
from _yolo11_reference import REPO, ultralytics_state_dict
from _yolo11_reference import converter as conv

from fasternet_yolo11.models.utils.ultralytics_converter import convert_key
from fasternet_yolo11.utils import cli


@pytest.mark.parametrize('key, c3k_layers, expected', [
    ('model.0.conv.weight', (), 'backbone.stem.conv.weight'),
    ('model.7.bn.running_var', (), 'backbone.stage4.0.bn.running_var'),
    ('model.2.cv1.conv.weight', (), 'backbone.stage1.1.main_conv.conv.weight'),
    ('model.2.cv2.bn.bias', (), 'backbone.stage1.1.final_conv.bn.bias'),
    ('model.2.m.0.cv2.conv.weight', (), 'backbone.stage1.1.blocks.0.conv2.conv.weight'),
    ('model.8.m.0.cv3.bn.weight', {8}, 'backbone.stage4.1.blocks.0.final_conv.bn.weight'),
    ('model.8.m.0.cv2.conv.weight', {8}, 'backbone.stage4.1.blocks.0.short_conv.conv.weight'),
    ('model.8.m.0.m.1.cv1.conv.weight', {8}, 'backbone.stage4.1.blocks.0.blocks.1.conv1.conv.weight'),
    ('model.9.cv2.conv.weight', (), 'backbone.stage4.2.conv2.conv.weight'),
    ('model.10.cv1.conv.weight', (), 'backbone.stage4.3.main_conv.conv.weight'),
    ('model.10.m.1.attn.qkv.bn.running_mean', (), 'backbone.stage4.3.blocks.1.attn.qkv.bn.running_mean'),
    ('model.10.m.0.ffn.1.conv.weight', (), 'backbone.stage4.3.blocks.0.ffn.1.conv.weight'),
    ('model.13.m.0.cv1.conv.weight', (), 'neck.top_down_layers.0.blocks.0.conv1.conv.weight'),
    ('model.17.conv.weight', (), 'neck.downsample_layers.0.conv.weight'),
    ('model.22.m.0.cv1.conv.weight', {22}, 'neck.bottom_up_layers.1.blocks.0.main_conv.conv.weight'),
    ('model.23.cv2.1.2.bias', (), 'bbox_head.head_module.reg_preds.1.2.bias'),
    ('model.23.cv3.2.1.0.bn.num_batches_tracked', (), 'bbox_head.head_module.cls_preds.2.1.0.bn.num_batches_tracked'),
    # YOLO26: the attention block of layer 22 and the one-to-one head branch
    ('model.22.m.0.0.cv2.conv.weight', {22: 'attn'}, 'neck.bottom_up_layers.1.blocks.0.0.conv2.conv.weight'),
    ('model.22.m.0.1.attn.pe.bn.weight', {22: 'attn'}, 'neck.bottom_up_layers.1.blocks.0.1.attn.pe.bn.weight'),
    ('model.22.m.0.1.ffn.0.conv.weight', {22: 'attn'}, 'neck.bottom_up_layers.1.blocks.0.1.ffn.0.conv.weight'),
    ('model.23.one2one_cv2.0.2.weight', (), 'bbox_head.head_module.one2one_reg_preds.0.2.weight'),
    ('model.23.one2one_cv3.1.0.1.bn.bias', (), 'bbox_head.head_module.one2one_cls_preds.1.0.1.bn.bias'),
])
def test_convert_key(key, c3k_layers, expected):
    kinds = c3k_layers if isinstance(c3k_layers, dict) else dict.fromkeys(c3k_layers, 'c3k')
    assert convert_key(key, kinds) == expected


@pytest.mark.parametrize('key', ['model.11.weight', 'model.24.conv.weight', 'model.9.cv3.conv.weight',
                                 'model.2.m.x.cv1.conv.weight', 'model.0.conv.bias', 'backbone.stem.conv.weight',
                                 'model.10.m.0.attn.q.conv.weight', 'model.23.one2one_dfl.conv.weight'])
def test_unknown_keys_are_errors(key):
    with pytest.raises(KeyError):
        convert_key(key)


@pytest.mark.parametrize('scale', ['n', 's', 'm', 'l', 'x'])
def test_all_scales_map_exactly(scale):
    """Every recorded Ultralytics key of every scale maps onto the config's model, shapes included."""
    src = ultralytics_state_dict(scale)
    assert conv.infer_scale(src) == (scale, 80)
    converted = conv.convert_state_dict(src)
    assert len(converted) == len(src) - 1  # only the DFL conv is dropped
    target = conv.build_target_state_dict(osp.join(REPO, 'configs', f'yolo11{scale}_coco.py'))
    conv.compare_state_dicts(converted, target)


def test_mismatches_are_errors():
    src = ultralytics_state_dict('n')
    converted = conv.convert_state_dict(src)
    target = conv.build_target_state_dict(osp.join(REPO, 'configs', 'yolo11n_coco.py'))
    missing = dict(converted)
    missing.pop('backbone.stage4.3.blocks.0.attn.pe.bn.running_var')
    with pytest.raises(KeyError, match='1 target keys without a source'):
        conv.compare_state_dicts(missing, target)
    extra = dict(converted, **{'neck.extra.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='1 converted keys'):
        conv.compare_state_dicts(extra, target)
    wrong = dict(converted)
    wrong['backbone.stem.conv.weight'] = torch.zeros(32, 3, 3, 3)
    with pytest.raises(ValueError, match='shape'):
        conv.compare_state_dicts(wrong, target)
    # against another scale's model everything is a shape mismatch
    with pytest.raises(ValueError):
        conv.compare_state_dicts(converted, conv.build_target_state_dict(
            osp.join(REPO, 'configs', 'yolo11s_coco.py')))
    bad_dfl = dict(src)
    bad_dfl['model.23.dfl.conv.weight'] = torch.zeros(1, 16, 1, 1)
    with pytest.raises(ValueError, match='arange'):
        conv.convert_state_dict(bad_dfl)
    with pytest.raises(KeyError):
        conv.convert_state_dict(dict(src, **{'model.23.extra.weight': torch.zeros(1)}))


def test_command_line_converts_plain_state_dict(tmp_path):
    src = {k: v.half() if v.is_floating_point() else v for k, v in ultralytics_state_dict('n').items()}
    src_path, dst_path = tmp_path / 'yolo11n_sd.pth', tmp_path / 'out.pth'
    torch.save(src, src_path)
    conv.main(['--src', str(src_path), '--dst', str(dst_path)])
    ckpt = torch.load(dst_path, map_location='cpu', weights_only=True)
    assert ckpt['meta']['scale'] == 'n'
    assert all(v.dtype != torch.float16 for v in ckpt['state_dict'].values())
    model_sd = conv.build_target_state_dict(osp.join(REPO, 'configs', 'yolo11n_coco.py'))
    assert set(ckpt['state_dict']) == set(model_sd)
    # a state dict nested under 'model' with 3 classes is accepted and checked against a 3-class model
    # (YOLO11s: its class branch width max(128, min(nc, 100)) does not depend on nc, only the last conv does)
    three = ultralytics_state_dict('s')
    for level in range(3):
        key = f'model.23.cv3.{level}.2'
        three[f'{key}.weight'] = three[f'{key}.weight'][:3]
        three[f'{key}.bias'] = three[f'{key}.bias'][:3]
    torch.save({'model': three}, src_path)
    conv.main(['--src', str(src_path), '--dst', str(dst_path)])
    ckpt = torch.load(dst_path, weights_only=True)
    assert ckpt['meta']['scale'] == 's'
    assert ckpt['state_dict']['bbox_head.head_module.cls_preds.0.2.bias'].shape == (3, )
    # with an explicit config of another class count the mismatch is an error
    with pytest.raises(SystemExit):
        cli.main(conv.main, ['--src', str(src_path), '--dst', str(dst_path), '--config',
                   osp.join(REPO, 'configs', 'yolo11s_coco.py')])


def test_pickled_model_is_read_without_ultralytics(tmp_path, capsys, monkeypatch):
    path = tmp_path / 'pickled.pt'
    conv2d = torch.nn.Conv2d(1, 1, 1)
    torch.save({'model': conv2d}, path)  # a pickled module, as Ultralytics saves
    monkeypatch.setitem(sys.modules, 'ultralytics', None)  # `import ultralytics` fails
    src = conv.load_source(str(path))
    assert list(src) == ['weight', 'bias'] and all(torch.equal(src[k], v) for k, v in conv2d.state_dict().items())
    with pytest.raises(SystemExit):  # not a YOLO11 DetectionModel
        cli.main(conv.main, ['--src', str(path), '--dst', str(tmp_path / 'out.pth')])
    assert 'not a YOLO11/YOLO26 detection state dict' in capsys.readouterr().err
