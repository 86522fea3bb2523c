"""--weights: transfer by module correspondence (fasternet_yolo11/engine/weight_transfer.py)."""
import os.path as osp

import pytest
import torch

from fasternet_yolo11.engine import weight_transfer as wt
from fasternet_yolo11.utils.cli import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def build(config, num_classes=None):
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = load_config(osp.join(REPO, 'configs', config))
    if num_classes is not None:
        cfg.model.bbox_head.head_module.num_classes = num_classes
        cfg.model.train_cfg.assigner.num_classes = num_classes
    init_default_scope('mmyolo')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


@pytest.fixture(scope='module')
def yolo11n_fire(tmp_path_factory):
    """A YOLO11n (2 classes) 'checkpoint' of ours, with weights unlike any initialisation."""
    _, model = build('yolo11n_fire.py')
    gen = torch.Generator().manual_seed(1)
    state = {k: (torch.randn(v.shape, generator=gen) if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    path = str(tmp_path_factory.mktemp('w') / 'yolo11n_fire.pth')
    torch.save({'state_dict': state, 'meta': {'epoch': 3}}, path)
    return path, state


def test_yolo11n_into_lite_n(yolo11n_fire):
    path, src = yolo11n_fire
    source = wt.read_weights(path)
    assert source.kind == 'detector'
    _, model = build('yolo11n_fasternet_lite_fire.py')
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = wt.transfer(model.state_dict(), [source])
    counts = result.counts()
    # YOLO11n's backbone is a CSPDarknet: nothing of it fits a FasterNet backbone
    assert counts['backbone']['transferred'] == 0 and counts['backbone']['missing'] == counts['backbone']['tensors']
    # SPPF + C2PSA: YOLO11n's backbone.stage4.2/.3 -> the lite line's neck.reduce_layers.2.0/.1, all of them
    sppf = counts['SPPF + C2PSA']
    assert sppf['tensors'] > 0 and sppf['transferred'] == sppf['tensors']
    assert result.origin['neck.reduce_layers.2.0.conv1.conv.weight'] == path
    # neck: the same except where FasterNet's P3 (64 channels, YOLO11n's 128) enters: the input conv
    # of the top-down C3k2 at P3
    assert result.keys_with('shape') == ['neck.top_down_layers.1.main_conv.conv.weight']
    assert counts['neck']['transferred'] == counts['neck']['tensors'] - 1
    # head: same class count, all of it
    assert counts['head']['transferred'] == counts['head']['tensors'] > 0
    table = wt.format_table(result)
    assert 'SPPF + C2PSA' in table and 'skipped for shape: neck.top_down_layers.1.main_conv.conv.weight' in table

    missing, unexpected = model.load_state_dict(result.state_dict, strict=False)
    assert not unexpected
    after = model.state_dict()
    correspondence = {'neck.reduce_layers.2.0.': 'backbone.stage4.2.', 'neck.reduce_layers.2.1.': 'backbone.stage4.3.'}
    for key, status in result.status.items():
        if status == 'transferred':
            src_key = next((key.replace(a, b, 1) for a, b in correspondence.items() if key.startswith(a)), key)
            assert torch.equal(after[key], src[src_key]), key  # bit-equal
        else:
            assert torch.equal(after[key], before[key]), key  # kept its initial value


def test_other_class_count_reinitialises_only_the_class_convs(tmp_path):
    _, twenty = build('yolo11n_fire.py', num_classes=20)
    path = str(tmp_path / 'yolo11n_20.pth')
    torch.save({'state_dict': twenty.state_dict()}, path)
    _, model = build('yolo11n_fire.py')  # 2 classes, the same network otherwise
    result = wt.transfer(model.state_dict(), [wt.read_weights(path)])
    cls_convs = sorted(f'bbox_head.head_module.cls_preds.{i}.2.{p}' for i in range(3) for p in ('weight', 'bias'))
    assert sorted(result.keys_with('classes')) == cls_convs
    assert not result.keys_with('shape') and not result.keys_with('missing')
    assert result.counts()['head']['classes'] == 6
    assert len(result.state_dict) == len(result.status) - 6


def test_coco_weights_change_the_whole_class_branch_at_n(tmp_path):
    """80 -> 2 classes at n: YOLO11's class-branch width max(64, min(nc, 100)) goes 80 -> 64."""
    _, coco = build('yolo11n_coco.py')
    path = str(tmp_path / 'yolo11n_coco.pth')
    torch.save({'state_dict': coco.state_dict()}, path)
    _, model = build('yolo11n_fire.py')
    result = wt.transfer(model.state_dict(), [wt.read_weights(path)])
    reinit = result.keys_with('classes')
    assert reinit and all(k.startswith(wt.CLASS_BRANCH) for k in reinit)
    assert not result.keys_with('shape') and not result.keys_with('missing')
    assert all(result.status[k] == 'transferred' for k in result.status if '.reg_preds.' in k)


def test_fasternet_imagenet_weights_fill_the_backbone_and_files_layer(yolo11n_fire, tmp_path):
    _, model = build('yolo11n_fasternet_lite_fire.py')
    backbone = {k[len('backbone.'):]: torch.randn(v.shape) if v.is_floating_point() else v
                for k, v in model.state_dict().items() if k.startswith('backbone.')}
    imagenet = dict(backbone, **{'head.weight': torch.zeros(1000, 8), 'head.bias': torch.zeros(1000)})
    path = str(tmp_path / 'fasternet_lite.pth')
    torch.save(imagenet, path)
    source = wt.read_weights(path)
    assert source.kind == 'fasternet' and all(k.startswith('backbone.') for k in source.state_dict)
    # YOLO11 first (SPPF, C2PSA, neck, head), then FasterNet for the backbone
    result = wt.transfer(model.state_dict(), [wt.read_weights(yolo11n_fire[0]), source])
    counts = result.counts()
    assert counts['backbone']['transferred'] == counts['backbone']['tensors']
    assert all(result.origin[k] == path for k in result.status if k.startswith('backbone.'))
    assert torch.equal(result.state_dict['backbone.patch_embed.proj.weight'], backbone['patch_embed.proj.weight'])
    # the transfer checkpoint is an ordinary load_from file
    out = wt.save_transferred(result, str(tmp_path / 'w' / 'transferred_weights.pth'))
    from fasternet_yolo11.engine.checkpoint_io import load_weights_only
    ckpt = load_weights_only(out, map_location='cpu')
    assert set(ckpt['state_dict']) == set(result.state_dict)
    assert ckpt['meta']['weights_transfer']['counts']['backbone']['transferred'] == counts['backbone']['tensors']


def test_unreadable_weights_are_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match='--weights file not found'):
        wt.read_weights(str(tmp_path / 'none.pth'))
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='bad.pth'):
        wt.read_weights(str(bad))
    other = tmp_path / 'other.pth'
    torch.save({'fc.weight': torch.zeros(2, 2)}, str(other))
    with pytest.raises(ValueError, match='neither a detector checkpoint'):
        wt.read_weights(str(other))
