"""Deploy mode: Conv+BN fusion everywhere it applies, PConv slicing, same outputs."""
import copy

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmyolo.registry import MODELS
from mmyolo.utils import register_all_modules
from projects.fasternet_yolo11.deploy import RawOutputs, fuse_conv_bn, switch_to_deploy

register_all_modules()


def random_model(config, seed=0):
    """The config's detector with random weights and non-trivial BN statistics (so that a
    wrong fold shows), in eval mode."""
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model.eval()


@pytest.mark.parametrize('config,fasternet', [('configs/yolo11n_fasternet_fire.py', True),
                                              ('configs/yolo11n_coco.py', False)])
def test_fused_outputs_match_unfused(config, fasternet):
    model = random_model(config)
    x = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        ref = RawOutputs(model)(x)
        deployed = switch_to_deploy(copy.deepcopy(model))
        out = RawOutputs(deployed)(x)
    assert len(out) == 6
    for a, b in zip(ref, out):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()
    left = [n for n, m in deployed.named_modules() if isinstance(m, nn.BatchNorm2d)]
    if fasternet:
        # Only FasterNet's per-output norms stay: they follow a residual add, not a conv.
        assert left and all(n.split('.')[-1] in ('norm0', 'norm2', 'norm4', 'norm6')
                            for n in left), left
        b = deployed.backbone
        assert isinstance(b.patch_embed.norm, nn.Identity)
        assert isinstance(b.stages[1].norm, nn.Identity)  # PatchMerging
        block = b.stages[0].blocks[0]
        assert isinstance(block.mlp[1], nn.Identity) and block.mlp[0].bias is not None
        assert block.spatial_mixing.forward_type == 'slicing'
    else:
        assert left == []
    assert isinstance(deployed.bbox_head.head_module.reg_preds[0][0].bn, nn.Identity)
    assert deployed._fused_conv_bn > 50
    # Deployed weights are channels_last (the fast CPU layout), every 4-D one.
    convs = [m.weight for m in deployed.modules() if isinstance(m, nn.Conv2d)]
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)


def test_fuse_only_pairs_adjacent_conv_bn():
    """A BN that does not read the conv's output directly is left alone (mmcv's util would
    fold it across the ReLU)."""
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4)).eval()
    seq[2].running_mean.fill_(0.3)
    x = torch.rand(1, 3, 8, 8)
    ref = seq(x)
    fuse_conv_bn(seq)
    assert isinstance(seq[2], nn.BatchNorm2d) and seq._fused_conv_bn == 0
    assert torch.allclose(seq(x), ref)


@pytest.mark.parametrize('backend,options', [
    ('fused', dict(pconv='slicing')),
    ('fused', dict(pconv='split_cat', channels_last=True)),
    ('onnx', dict(pconv='slicing', ort_opt='disable')),
    ('onnx', dict(pconv='split_cat', ort_opt='all')),
])
def test_benchmark_inference_options_keep_outputs(backend, options, tmp_path):
    # Every option the benchmark and the comparison report time is a pure speed choice.
    from tools.analysis_tools.benchmark import runners
    model = random_model('configs/yolo11n_fasternet_lite_coco.py')
    options = dict(options)
    pconv = options.pop('pconv')

    def outputs(backend, **kw):
        make = runners(model, backend, 'cpu', (64, 96), pconv, 1, str(tmp_path), **kw)
        torch.manual_seed(3)  # the same random input for every backend
        return [torch.as_tensor(o) for o in make(2)()]
    ref = outputs('eager')
    out = outputs(backend, **options)
    assert len(out) == len(ref) == 6
    for a, b in zip(ref, out):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-3, rtol=1e-3), \
            (a - b).abs().max()
