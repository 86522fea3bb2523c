"""Deploy mode: Conv+BN fusion everywhere it applies, PConv slicing, same outputs."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmyolo.registry import MODELS
from mmyolo.utils import register_all_modules
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from fasternet_yolo11.deploy.export_graphs import RawOutputs
from fasternet_yolo11.models.deploy_form import fuse_conv_bn, switch_to_deploy

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


@pytest.mark.parametrize('config', ['configs/yolo11n_coco.py', 'configs/yolo11n_fasternet_fire.py',
                                    'configs/yolo11n_fasternet_lite_fire.py', 'configs/yolo11m_coco.py'])
def test_mmcv_fuse_meets_only_adjacent_conv_bn_pairs(config):
    """mmcv's fuse_conv_bn pairs a BN with the last Conv2d among its siblings, even across another
    layer (Conv, ReLU, BN would be folded wrongly). In the project's models every BN that has an
    earlier Conv2d sibling reads that conv's output directly, so mmcv's fold is the right one: every
    such pair is fused, and nothing else."""
    model = random_model(config)
    adjacent = 0
    for module in model.modules():
        children = list(module.children())
        for i, child in enumerate(children):
            if isinstance(child, _BatchNorm) and any(isinstance(c, nn.Conv2d) for c in children[:i]):
                assert isinstance(children[i - 1], nn.Conv2d), (type(module).__name__, i)
                adjacent += 1
    assert adjacent > 50
    assert fuse_conv_bn(model)._fused_conv_bn == adjacent


@pytest.mark.parametrize('backend,options', [
    ('pytorch_deploy', dict(pconv='slicing')),
    ('pytorch_deploy', dict(pconv='split_cat', channels_last=True)),
    ('onnxruntime', dict(pconv='slicing', ort_opt='disable')),
    ('onnxruntime', dict(pconv='split_cat', ort_opt='all')),
    ('onnxruntime', dict(pconv='slicing', ort_spinning=False)),
])
def test_benchmark_inference_options_keep_outputs(backend, options, tmp_path):
    # Every option the benchmark and the comparison report time is a pure speed choice.
    from fasternet_yolo11.deploy.speed_runners import build_runner
    cfg = Config.fromfile('configs/yolo11n_fasternet_lite_coco.py')
    model = random_model('configs/yolo11n_fasternet_lite_coco.py')
    options = dict(options)
    pconv = options.pop('pconv')

    def outputs(backend, **kw):
        make = build_runner(model, cfg, backend, 'cpu', (64, 96), pconv, 1, str(tmp_path), **kw)
        torch.manual_seed(3)  # the same random input for every backend
        return [torch.as_tensor(o) for o in make(2)()]
    ref = outputs('pytorch')
    out = outputs(backend, **options)
    assert len(out) == len(ref) == 6
    for a, b in zip(ref, out):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-3, rtol=1e-3), \
            (a - b).abs().max()


@pytest.mark.parametrize('spinning', [True, False])
def test_ort_session_spinning_option(spinning, tmp_path):
    # The comparison report's interleaved rounds turn ONNX Runtime's thread spinning off.
    from fasternet_yolo11.deploy.runtimes import ort_session
    path = str(tmp_path / 'conv.onnx')
    torch.onnx.export(torch.nn.Conv2d(3, 4, 3), (torch.zeros(1, 3, 8, 8),), path, dynamo=False,
                      input_names=['images'])
    opts = ort_session(path, threads=1, spinning=spinning).get_session_options()
    key = 'session.intra_op.allow_spinning'
    if spinning:
        with pytest.raises(RuntimeError):  # never set: ONNX Runtime's default, spinning on
            opts.get_session_config_entry(key)
    else:
        assert opts.get_session_config_entry(key) == '0'
