"""engine/ultralytics_reader.load_ultralytics_checkpoint: Ultralytics .pt files read without running their pickle.

The genuine-format file is written in a subprocess that registers stand-in ``ultralytics.*`` modules under the
class paths Ultralytics 8.3.0 pickles (so none of them leaks into this process), builds a DetectionModel-shaped
module tree whose state dict is the synthetic YOLO11n one of the fixtures, and saves it the way the 8.3.0
trainer's final ``strip_optimizer`` save (``model`` = EMA weights in fp16, ``ema=None``) and its ``last.pt``
save (``model=None``, ``ema`` set, optimizer state, written through a buffer) look.
"""
import collections
import copyreg
import importlib.abc
import os
import os.path as osp
import pickle
import pickletools
import re
import subprocess
import sys
import zipfile

import pytest
import torch
from _yolo11_reference import REPO, ultralytics_state_dict
from _yolo11_reference import converter as conv

from fasternet_yolo11.engine.checkpoint_io import UnsafeCheckpointError, load_weights_only
from fasternet_yolo11.engine.ultralytics_reader import load_ultralytics_checkpoint
from fasternet_yolo11.models.utils.ultralytics_converter import convert_state_dict
from fasternet_yolo11.utils import cli

TRAIN_ARGS = {'task': 'detect', 'mode': 'train', 'model': 'yolo11n.yaml', 'data': 'coco.yaml', 'epochs': 600,
              'batch': 128, 'imgsz': 640, 'mosaic': 1.0, 'mixup': 0.0, 'copy_paste': 0.1, 'name': 'train'}

# Run as `python -c BUILDER <state dict .pth> <final .pt> <last .pt>`; imports only torch.
BUILDER = r'''
import ast, io, re, sys, types
from copy import deepcopy
import torch
from torch import nn

sd = torch.load(sys.argv[1], weights_only=True)
for name in ('ultralytics', 'ultralytics.nn', 'ultralytics.nn.tasks', 'ultralytics.nn.modules',
             'ultralytics.nn.modules.conv', 'ultralytics.nn.modules.block', 'ultralytics.nn.modules.head'):
    sys.modules[name] = types.ModuleType(name)
    parent, _, child = name.rpartition('.')
    if parent:
        setattr(sys.modules[parent], child, sys.modules[name])


def make_class(module, name, base=nn.Module):
    cls = type(name, (base, ), {'__module__': module})
    setattr(sys.modules[module], name, cls)
    return cls


CONV, BLOCK, HEAD = ('ultralytics.nn.modules.' + m for m in ('conv', 'block', 'head'))
Conv, Concat = make_class(CONV, 'Conv'), make_class(CONV, 'Concat')
DWConv = make_class(CONV, 'DWConv', Conv)
C3k2, C3k, Bottleneck, SPPF, C2PSA, PSABlock, Attention, DFL = (make_class(BLOCK, n) for n in (
    'C3k2', 'C3k', 'Bottleneck', 'SPPF', 'C2PSA', 'PSABlock', 'Attention', 'DFL'))
Detect = make_class(HEAD, 'Detect')
DetectionModel = make_class('ultralytics.nn.tasks', 'DetectionModel')
SILU = nn.SiLU()  # Conv.default_act: one module shared by every Conv, as in Ultralytics
LAYERS = {**dict.fromkeys((0, 1, 3, 5, 7, 17, 20), Conv), **dict.fromkeys((2, 4, 6, 8, 13, 16, 19, 22), C3k2),
          9: SPPF, 10: C2PSA, 23: Detect}
C3K2 = '|'.join(str(i) for i, c in LAYERS.items() if c is C3k2)
# the class of the module at a dotted path below a layer (first match); 'leaf': a real Conv2d/BatchNorm2d
RULES = [
    (rf'model\.({C3K2})\.m', nn.ModuleList),
    (rf'model\.({C3K2})\.m\.\d+', lambda path: C3k if path + '.cv3.conv.weight' in sd else Bottleneck),
    (rf'model\.({C3K2})\.m\.\d+\.m', nn.Sequential),
    (rf'model\.({C3K2})\.m\.\d+\.m\.\d+', Bottleneck),
    (r'model\.10\.m', nn.Sequential), (r'model\.10\.m\.\d+', PSABlock),
    (r'.*\.attn', Attention), (r'.*\.ffn', nn.Sequential), (r'.*\.ffn\.\d+', Conv),
    (r'model\.23\.cv[23]', nn.ModuleList), (r'model\.23\.cv[23]\.\d+', nn.Sequential),
    (r'model\.23\.cv[23]\.\d+\.2', 'leaf'), (r'model\.23\.cv2\.\d+\.[01]', Conv),
    (r'model\.23\.cv3\.\d+\.[01]', nn.Sequential), (r'model\.23\.cv3\.\d+\.[01]\.0', DWConv),
    (r'model\.23\.cv3\.\d+\.[01]\.1', Conv), (r'model\.23\.dfl', DFL),
    (r'.*\.(conv|bn)', 'leaf'), (r'.*\.(cv\d|qkv|proj|pe)', Conv),
]


def children(prefix):
    names = []
    for key in sd:
        if key.startswith(prefix) and key[len(prefix):].split('.')[0] not in names:
            names.append(key[len(prefix):].split('.')[0])
    return names


def leaf(path):
    weight = sd[path + '.weight']
    if path + '.running_mean' in sd:
        return nn.BatchNorm2d(weight.shape[0], eps=1e-3, momentum=0.03)
    out, cin, k = weight.shape[:3]
    groups = out if cin == 1 and out > 1 else 1  # DWConv and the PSA position encoding
    return nn.Conv2d(cin * groups, out, k, padding=k // 2, groups=groups, bias=path + '.bias' in sd)


def node(path):
    kind = next(k for pattern, k in RULES if re.fullmatch(pattern, path)) if path.count('.') > 1 \
        else LAYERS[int(path.split('.')[1])]
    if kind == 'leaf':
        return leaf(path)
    if not isinstance(kind, type):
        kind = kind(path)
    module = kind()
    for name in children(path + '.'):
        module.add_module(name, node(f'{path}.{name}'))
    if isinstance(module, Conv):
        module.act = SILU
    if isinstance(module, SPPF):
        module.m = nn.MaxPool2d(5, 1, 2)
    if isinstance(module, DFL):
        module.conv.requires_grad_(False)
        module.c1 = 16
    return module


layers = []
for i in range(24):
    if i in LAYERS:
        layer = node(f'model.{i}')
    elif i in (11, 14):
        layer = nn.Upsample(None, 2, 'nearest')
    else:
        layer = Concat()
        layer.d = 1
    layer.i, layer.f, layer.type = i, -1, f'{type(layer).__module__}.{type(layer).__name__}'
    layer.np = sum(p.numel() for p in layer.parameters())
    layers.append(layer)
head = layers[23]
head.nc, head.nl, head.reg_max, head.no, head.max_det = 80, 3, 16, 144, 300
head.dynamic = head.export = head.end2end = False
head.format = head.shape = None
head.stride, head.anchors, head.strides = torch.tensor([8., 16., 32.]), torch.empty(0), torch.empty(0)
model = DetectionModel()
model.model = nn.Sequential(*layers)
model.yaml = {'nc': 80, 'scales': {'n': [0.5, 0.25, 1024]}, 'yaml_file': 'yolo11n.yaml', 'ch': 3}
model.save, model.names = [4, 6, 10, 13, 16, 19, 22], {i: f'class{i}' for i in range(80)}
model.inplace, model.end2end, model.stride = True, False, torch.tensor([8., 16., 32.])
model.load_state_dict(sd, strict=True)
assert list(model.state_dict()) == list(sd)
model.eval()
train_args = ast.literal_eval(sys.argv[4])
model.args = dict(train_args)
metrics = {'metrics/precision(B)': 0.6, 'metrics/recall(B)': 0.5, 'metrics/mAP50(B)': 0.55,
           'metrics/mAP50-95(B)': 0.39, 'fitness': 0.41}
info = {'date': '2024-09-30T12:00:00.000000', 'version': '8.3.0', 'license': 'AGPL-3.0 License (https://ultralytics.com/license)',
        'docs': 'https://docs.ultralytics.com'}
# last.pt of the trainer: EMA in fp16, optimizer state, written through a buffer (record prefix 'archive')
ema = deepcopy(model).half()
optimizer = {'state': {0: {'momentum_buffer': torch.zeros(3).half()}},
             'param_groups': [{'lr': 0.01, 'momentum': 0.937, 'params': [0]}]}
buffer = io.BytesIO()
torch.save({'epoch': 599, 'best_fitness': 0.41, 'model': None, 'ema': ema, 'updates': 553000, 'optimizer': optimizer,
            'train_args': train_args, 'train_metrics': metrics, 'train_results': {'epoch': [1.0, 2.0]}, **info}, buffer)
with open(sys.argv[3], 'wb') as f:
    f.write(buffer.getvalue())
# the final save after strip_optimizer: model = the EMA, frozen, fp16; everything trainable dropped
model.half().requires_grad_(False)
torch.save({**info, 'epoch': -1, 'best_fitness': None, 'model': model, 'ema': None, 'updates': None,
            'optimizer': None, 'train_args': train_args, 'train_metrics': metrics,
            'train_results': {'epoch': [1.0, 2.0]}}, sys.argv[2])
'''


class _BlockUltralytics(importlib.abc.MetaPathFinder):
    """Any import of ultralytics fails: the reader must work without it."""

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'ultralytics':
            raise ImportError(f'test: {name} must not be imported')
        return None


@pytest.fixture
def no_ultralytics(monkeypatch):
    monkeypatch.setattr(sys, 'meta_path', [_BlockUltralytics()] + sys.meta_path)
    yield
    assert not [m for m in sys.modules if m.split('.')[0] == 'ultralytics']


@pytest.fixture(scope='module')
def source_fp32():
    """The synthetic YOLO11n Ultralytics state dict as the reader must return it: through fp16 and back."""
    return {k: v.half().float() if v.is_floating_point() else v for k, v in ultralytics_state_dict('n').items()}


@pytest.fixture(scope='module')
def ultralytics_files(tmp_path_factory):
    """(final yolo11n.pt, last.pt) in the format of the Ultralytics 8.3.0 trainer."""
    folder = tmp_path_factory.mktemp('ultralytics')
    sd_path, final, last = folder / 'sd.pth', folder / 'yolo11n.pt', folder / 'last.pt'
    torch.save(ultralytics_state_dict('n'), sd_path)
    subprocess.run([sys.executable, '-c', BUILDER, str(sd_path), str(final), str(last), repr(TRAIN_ARGS)],
                   check=True, cwd=str(folder), timeout=120)
    return str(final), str(last)


def test_genuine_files_are_read_without_ultralytics(ultralytics_files, source_fp32, no_ultralytics):
    final, last = ultralytics_files
    for path, source in ((final, 'model'), (last, 'ema')):
        ckpt = load_ultralytics_checkpoint(path)
        assert ckpt['source'] == source
        assert ckpt['meta'] == {'date': '2024-09-30T12:00:00.000000', 'version': '8.3.0', 'train_args': TRAIN_ARGS}
        sd = ckpt['state_dict']
        assert list(sd) == list(source_fp32)
        for key, value in source_fp32.items():
            assert sd[key].dtype == value.dtype and torch.equal(sd[key], value), key


def test_converter_turns_genuine_file_into_a_loadable_checkpoint(ultralytics_files, source_fp32, no_ultralytics,
                                                                 tmp_path, capsys):
    dst = tmp_path / 'yolo11n_mmyolo.pth'
    conv.main(['--src', ultralytics_files[0], '--dst', str(dst)])
    assert 'YOLO11n (80 classes)' in capsys.readouterr().out
    out = load_weights_only(str(dst), map_location='cpu')
    assert out['meta'] == {'converted_from': 'yolo11n.pt', 'family': 'yolo11', 'scale': 'n',
                           'config': 'configs/yolo11n_coco.py',
                           'ultralytics_version': '8.3.0', 'ultralytics_date': '2024-09-30T12:00:00.000000',
                           'ultralytics_weights': 'model'}
    expected = convert_state_dict(source_fp32)
    assert list(out['state_dict']) == list(expected)
    assert all(torch.equal(out['state_dict'][k], v) and out['state_dict'][k].dtype == v.dtype
               for k, v in expected.items())
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo11n_coco.py'))
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    model = MODELS.build(cfg.model)
    model.load_state_dict(out['state_dict'], strict=True)
    assert torch.equal(model.state_dict()['backbone.stem.conv.weight'], expected['backbone.stem.conv.weight'])


class _Reduce:
    """Pickles as ``func(*args)``: what a crafted checkpoint uses to run code when it is unpickled."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker):
    """(payload, the global the refusal must name): the first five would create ``marker`` if they ran, the
    last two are the steps to any other function."""
    return [
        (_Reduce(os.system, f'touch {marker}'), f'{os.system.__module__}.system'),
        (_Reduce(open, str(marker), 'w'), 'io.open'),
        (_Reduce(eval, f'open({str(marker)!r}, "w")'), 'builtins.eval'),
        (_Reduce(exec, f'open({str(marker)!r}, "w")'), 'builtins.exec'),
        (_Reduce(subprocess.call, ['touch', str(marker)]), 'subprocess.call'),
        (_Reduce(getattr, collections.OrderedDict, 'fromkeys'), 'builtins.getattr'),
        (_Reduce(__import__, 'os'), 'builtins.__import__'),
    ]


def _save_crafted(path, payload, where, protocol=2):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4)).half()
    ckpt = {'date': '2024-09-30', 'version': '8.3.0', 'model': model, 'ema': None, 'train_args': {'batch': 16}}
    if where == 'train_args':
        ckpt['train_args']['project'] = payload
    elif where == 'module_state':  # in a module's __dict__: the state a BUILD hands over
        model[0].extra = payload
    else:  # among the module's children
        model[1]._modules['evil'] = payload
    torch.save(ckpt, path, pickle_protocol=protocol)


def _globals_written(path):
    """The names of the globals a protocol-2 ``data.pkl`` refers to (module names as written)."""
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith('/data.pkl')))
    return {arg.split(' ')[1] for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'}


@pytest.mark.parametrize('where', ['train_args', 'module_state', 'children'])
def test_crafted_files_are_refused_without_running_code(tmp_path, where):
    marker = tmp_path / 'MARKER'
    for i, (payload, name) in enumerate(_payloads(marker)):
        path = tmp_path / f'evil{i}.pt'
        _save_crafted(path, payload, where)
        assert name.rsplit('.', 1)[1] in _globals_written(path)  # the payload is there
        with pytest.raises(UnsafeCheckpointError) as err:
            load_ultralytics_checkpoint(path)
        message = str(err.value)
        assert '\n' not in message and repr(str(path)) in message and f'references {name},' in message, message
        assert not marker.exists()


@pytest.mark.parametrize('reduce, named', [
    ((copyreg._reconstructor, (torch.nn.Conv2d, collections.OrderedDict, None)),
     'copyreg._reconstructor(torch.nn.modules.conv.Conv2d, collections.OrderedDict)'),
    ((copyreg._reconstructor, (collections.OrderedDict, object, None)),
     'copyreg._reconstructor(collections.OrderedDict, builtins.object)'),
    ((copyreg.__newobj__, (collections.OrderedDict, )), 'copyreg.__newobj__(collections.OrderedDict)'),
])
def test_copyreg_builds_stand_ins_only(tmp_path, reduce, named):
    """copyreg's helpers are allowed for stand-ins only (protocol 1: protocol 2 writes __newobj__ as NEWOBJ)."""
    path = tmp_path / 'evil.pt'
    _save_crafted(path, _Reduce(reduce[0], *reduce[1]), 'module_state', protocol=1)
    with pytest.raises(UnsafeCheckpointError, match=re.escape(f'references {named},')):
        load_ultralytics_checkpoint(path)


@pytest.mark.parametrize('protocol', [1, 2, 4])
def test_pickle_protocols(tmp_path, protocol):
    """Protocol 1 pickles modules with copyreg._reconstructor, 2 and up with NEWOBJ: both build stand-ins."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.SiLU()).half()
    model.register_buffer('scratch', torch.ones(1), persistent=False)
    path = tmp_path / 'm.pt'
    torch.save({'model': model, 'ema': None}, path, pickle_protocol=protocol)
    sd = load_ultralytics_checkpoint(path)['state_dict']
    assert list(sd) == list(model.state_dict())
    assert all(torch.equal(sd[k], v.float() if v.dtype == torch.float16 else v) for k, v in model.state_dict().items())


def test_malformed_files_fail_in_one_line(tmp_path):
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(pickle.UnpicklingError, match='cannot read .*garbage.pt.* as an Ultralytics checkpoint'):
        load_ultralytics_checkpoint(garbage)
    # a storage record cut short: refused instead of read past its end (Tensor.set_ would grow it)
    good, short = tmp_path / 'good.pt', tmp_path / 'short.pt'
    torch.save({'model': torch.nn.Conv2d(3, 4, 1)}, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(short, 'w') as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:4] if info.filename.endswith('/data/0') else data)
    with pytest.raises(pickle.UnpicklingError, match='shorter than'):
        load_ultralytics_checkpoint(short)
    with pytest.raises(pickle.UnpicklingError, match='holds no model'):
        torch.save({'model': None, 'ema': None}, good)
        load_ultralytics_checkpoint(good)


def test_command_line_refuses_crafted_file(tmp_path, capsys):
    marker, src, dst = tmp_path / 'MARKER', tmp_path / 'evil.pt', tmp_path / 'out.pth'
    _save_crafted(src, _Reduce(os.system, f'touch {marker}'), 'train_args')
    with pytest.raises(SystemExit) as exit_:
        cli.main(conv.main, ['--src', str(src), '--dst', str(dst)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: refused to read') and 'system' in err[0], err
    # the script itself, as a user runs it
    result = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'model_converters', 'ultralytics_to_mmyolo.py'),
                             '--src', str(src), '--dst', str(dst)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: refused to read') and 'system' in lines[0], lines
    assert not marker.exists() and not dst.exists()


def test_no_unprotected_loading_in_the_project():
    """Nothing in the package or the tools unpickles with the protection off."""
    found = []
    for top in ('projects', 'tools'):
        for folder, _, names in os.walk(osp.join(REPO, top)):
            for name in names:
                if name.endswith('.py'):
                    with open(osp.join(folder, name), encoding='utf-8') as f:
                        if 'weights_only' + '=False' in f.read():  # split: this file is no hit
                            found.append(osp.relpath(osp.join(folder, name), REPO))
    assert not found


def test_weights_flag_reads_a_genuine_pt_and_refuses_a_crafted_one(ultralytics_files, source_fp32, no_ultralytics,
                                                                    tmp_path):
    """``tools/train.py --weights yolo11n.pt`` reads the file through the restricted reader."""
    from fasternet_yolo11.engine import weight_transfer as wt
    source = wt.read_weights(ultralytics_files[0])
    expected = convert_state_dict(source_fp32)
    assert source.kind == 'ultralytics' and list(source.state_dict) == list(expected)
    assert all(torch.equal(source.state_dict[k], v) for k, v in expected.items())
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo11n_fasternet_lite_fire.py'))
    init_default_scope('mmyolo')
    result = wt.transfer(MODELS.build(cfg.model).state_dict(), [source])
    counts = result.counts()
    assert counts['SPPF + C2PSA']['transferred'] == counts['SPPF + C2PSA']['tensors'] > 0
    assert counts['backbone']['transferred'] == 0
    assert all(k.startswith(wt.CLASS_BRANCH) for k in result.keys_with('classes'))  # 80 -> 2 classes
    marker = tmp_path / 'MARKER'
    payload, name = _payloads(marker)[0]
    evil = tmp_path / 'evil.pt'
    _save_crafted(evil, payload, 'train_args')
    with pytest.raises(ValueError, match='refused to read') as err:
        wt.read_weights(str(evil))
    assert '\n' not in str(err.value) and not marker.exists()


GENUINE = osp.join(REPO, 'tests', 'fixtures', 'ultralytics_files')


@pytest.mark.parametrize('name', ['yolo11_tiny_8.3.0', 'yolo26_tiny_8.4.190'])
def test_files_written_by_ultralytics_itself(name, no_ultralytics):
    """Files that Ultralytics 8.3.0 (``strip_optimizer``, what finalises its released weights) and 8.4.190
    (``YOLO.save``) wrote themselves (tests/fixtures/ultralytics_files/README.md): read without ultralytics,
    every tensor of the pickled model with its shape and its saved value."""
    import importlib.util
    import json
    with open(osp.join(GENUINE, f'{name}.json')) as f:
        info = json.load(f)
    ckpt = load_ultralytics_checkpoint(osp.join(GENUINE, f'{name}.pt'))
    assert ckpt['source'] == 'model' and ckpt['meta']['version'] == info['ultralytics_version']
    state = ckpt['state_dict']
    assert [(k, list(v.shape)) for k, v in state.items()] == [(k, shape) for k, shape, _ in info['state_dict']]
    module = osp.join(REPO, info['synthetic_weights']['module'])
    spec = importlib.util.spec_from_file_location(f'{name}_weights', module)
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    shapes = {k: shape for k, shape, _ in info['state_dict']}
    dtypes = {k: 'int64' if dtype == 'int64' else 'float32' for k, _, dtype in info['state_dict']}
    expected = synthetic.synthetic_state_dict(shapes, dtypes, seed=info['synthetic_weights']['seed'])
    for key, value in state.items():  # fp16 in the file, fp32 out of the reader
        want = expected[key].reshape(value.shape)
        want = want.half().float() if want.is_floating_point() else want
        assert value.dtype == want.dtype and torch.equal(value, want), key


def test_yolo11_file_written_by_ultralytics_converts_onto_our_model(no_ultralytics):
    """Its tensors map one to one onto this project's YOLO11 of the same scale (the file's yaml row)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS

    from fasternet_yolo11.models.utils.ultralytics_converter import compare_state_dicts
    state = load_ultralytics_checkpoint(osp.join(GENUINE, 'yolo11_tiny_8.3.0.pt'))['state_dict']
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo11n_coco.py'))
    tiny = dict(deepen_factor=0.5, widen_factor=0.125, max_channels=1024)  # yolo11_tiny.yaml's scale row
    cfg.merge_from_dict(dict(model=dict(backbone=tiny, neck=tiny)))
    cfg.model.bbox_head.head_module.num_classes = cfg.model.train_cfg.assigner.num_classes = 2
    init_default_scope('mmyolo')
    model = MODELS.build(cfg.model)
    converted = convert_state_dict(state)
    compare_state_dicts(converted, model.state_dict())
    model.load_state_dict(converted, strict=True)


def test_yolo26_file_written_by_ultralytics_converts_and_transfers(no_ultralytics):
    """The YOLO26 file: its family is read from it, it converts onto this project's YOLO26 of its scale
    key for key, and --weights' transfer takes every tensor of it."""
    from mmengine.config import Config

    from fasternet_yolo11.engine import weight_transfer
    from fasternet_yolo11.models.utils.ultralytics_converter import compare_state_dicts, family_of
    path = osp.join(GENUINE, 'yolo26_tiny_8.4.190.pt')
    state = load_ultralytics_checkpoint(path)['state_dict']
    assert family_of(state) == 'yolo26'
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'yolo26n_coco.py'))
    tiny = dict(deepen_factor=0.5, widen_factor=0.03125, max_channels=1024)  # yolo26_tiny.yaml's scale row
    cfg.merge_from_dict(dict(model=dict(backbone=tiny, neck=tiny)))
    cfg.model.bbox_head.head_module.num_classes = cfg.model.train_cfg.assigner.num_classes = 2
    target = weight_transfer.model_state_shapes(cfg)
    compare_state_dicts(convert_state_dict(state), target)
    result = weight_transfer.transfer(target, [weight_transfer.read_weights(path)])
    counts = result.counts()
    assert all(c['transferred'] == c['tensors'] for c in counts.values() if c['tensors']), counts
    assert 'head class branch' not in weight_transfer.format_table(result)
