"""Code shared by the reference generators in this folder.

``make_yolo11_fixtures.py``, ``make_yolo26_fixtures.py`` and
``make_ultralytics_files.py`` import this module (they put this folder on
``sys.path`` first). Like them, it runs ONLY in a separate reference venv:
Ultralytics is imported inside the functions, never at module level, and so
are numpy and torch, so that :func:`check_sandbox` runs before any of them is
loaded.

What is here:

* the sandbox check and module loading by path;
* model building, synthetic-weight loading and its sha256;
* facts for the structure files (layers, Detect, C2PSA, BatchNorm, the
  scale and yaml summary, the state-dict listing);
* small eval / float64-rerun / loss helpers;
* the JSON writer, versions and the provenance (manifest) record;
* :func:`generate`, the command line and the write loop of the two fixture
  generators.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import importlib.util
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Names of the TaskAlignedAssigner outputs, in the order it returns them.
ASSIGNER_OUTPUTS = ('target_labels', 'target_bboxes', 'target_scores',
                    'fg_mask', 'target_gt_idx')


# --------------------------------------------------------------- sandbox


def check_sandbox() -> None:
    """Refuse to run unless offline and only loopback is visible."""
    if os.environ.get('YOLO_OFFLINE', '').lower() != 'true':
        sys.exit('set YOLO_OFFLINE=true and run under `unshare -n`')
    names = sorted(name for _, name in socket.if_nameindex())
    if names != ['lo']:
        sys.exit(f'network interfaces {names} are visible; '
                 'run under `unshare -n` (private network namespace)')


def load_module(name, path):
    """Import the Python file ``path`` as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------ models and weights


def fixed_image(shape, seed):
    """Uniform 8-bit noise / 255, like a normalized image (compresses well)."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, shape, generator=gen, dtype=torch.int64).float() / 255.0


def build_model(arch, scale, nc):
    """``DetectionModel('<arch><scale>.yaml')``, e.g. arch ``yolo11``."""
    from ultralytics.nn.tasks import DetectionModel
    return DetectionModel(f'{arch}{scale}.yaml', nc=nc, verbose=False)


def dtype_name(dtype) -> str:
    return str(dtype).removeprefix('torch.')


def state_dict_sha256(sd):
    """sha256 of key names and raw tensor bytes, in order.

    Lets a test check that its regenerated state dict is bit-exact.
    """
    h = hashlib.sha256()
    for key, tensor in sd.items():
        h.update(key.encode('utf-8'))
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


def synthetic_for(model, sw, seed):
    """The synthetic state dict of module ``sw`` for ``model``'s layout."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    dtypes = {k: dtype_name(v.dtype) for k, v in model.state_dict().items()}
    return sw.synthetic_state_dict(shapes, dtypes, seed=seed)


def load_synthetic(model, sw, seed):
    """Load the synthetic state dict (strict); return its sha256."""
    sd = synthetic_for(model, sw, seed)
    model.load_state_dict(sd, strict=True)
    return state_dict_sha256(sd)


def n_params(module):
    return int(sum(p.numel() for p in module.parameters()))


# ------------------------------------------------------- structure facts


def layer_out_channels(model):
    """Output channels of every layer (hooks, small dummy input)."""
    import torch
    out = {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, o, i=i: out.__setitem__(
            i, o.shape[1] if torch.is_tensor(o) else None))
        for i, m in enumerate(model.model)
    ]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    return out


def act_name(conv_module):
    return type(conv_module.act).__name__


def psa_block_info(blk, with_c=False):
    """PSABlock facts; ``with_c`` adds its width ``c`` first (YOLO26)."""
    a = blk.attn
    info = {'c': a.qkv.conv.in_channels} if with_c else {}
    info.update({
        'num_heads': a.num_heads,
        'head_dim': a.head_dim,
        'key_dim': a.key_dim,
        'scale': a.scale,
        'qkv_out_channels': a.qkv.conv.out_channels,
        'qkv_per_head_split_[q,k,v]': [a.key_dim, a.key_dim, a.head_dim],
        'pe_groups': a.pe.conv.groups,
        'ffn_channels': [f.conv.out_channels for f in blk.ffn],
        'shortcut': bool(blk.add),
    })
    return info


def describe_layer(i, m, out_channels, yolo26=False):
    """Plain facts about layer ``model.model[i]`` for the converter author.

    ``yolo26`` adds the facts of Ultralytics 8.4 modules: the activation of a
    Conv, SPPF's ``n``/shortcut/activations, and C3k2's ``attn`` form
    (``Sequential(Bottleneck, PSABlock)``) with its PSABlock.
    """
    import torch
    from ultralytics.nn.modules.block import C2PSA, SPPF, Bottleneck, C3k, C3k2, PSABlock
    from ultralytics.nn.modules.conv import Concat, Conv
    from ultralytics.nn.modules.head import Detect
    info = {
        'i': i,
        'from': m.f,
        'type': m.type,
        'class': type(m).__name__,
        'params': n_params(m),
        'out_channels': out_channels.get(i),
    }
    if isinstance(m, Conv):
        c = m.conv
        info.update(
            in_channels=c.in_channels,
            kernel=c.kernel_size[0],
            stride=c.stride[0],
            groups=c.groups)
        if yolo26:
            info.update(act=act_name(m))
    elif isinstance(m, C3k2):
        inner = m.m[0]
        attn = yolo26 and isinstance(inner, torch.nn.Sequential)
        info.update(
            in_channels=m.cv1.conv.in_channels, hidden_c=m.c, n=len(m.m))
        if yolo26:
            info.update(attn=attn)
        info.update(
            c3k=isinstance(inner, C3k),
            inner_class=('Sequential(Bottleneck, PSABlock)'
                         if attn else type(inner).__name__))
        if attn:
            bott, psa = inner[0], inner[1]
            assert isinstance(bott, Bottleneck) and isinstance(psa, PSABlock)
            info.update(
                bottleneck_hidden=bott.cv1.conv.out_channels,
                bottleneck_kernels=[
                    bott.cv1.conv.kernel_size[0], bott.cv2.conv.kernel_size[0]
                ],
                bottleneck_add=bool(bott.add),
                psa=psa_block_info(psa, with_c=True))
        elif isinstance(inner, C3k):
            info.update(
                c3k_hidden=inner.cv1.conv.out_channels,
                c3k_n=len(inner.m),
                c3k_bottleneck_add=bool(inner.m[0].add))
        elif isinstance(inner, Bottleneck):
            info.update(
                bottleneck_hidden=inner.cv1.conv.out_channels,
                bottleneck_add=bool(inner.add))
    elif isinstance(m, SPPF):
        info.update(
            in_channels=m.cv1.conv.in_channels,
            hidden_c=m.cv1.conv.out_channels,
            pool_k=m.m.kernel_size)
        if yolo26:
            info.update(
                n=m.n,
                shortcut=bool(m.add),
                cv1_act=act_name(m.cv1),
                cv2_act=act_name(m.cv2),
                cv2_in_channels=m.cv2.conv.in_channels)
    elif isinstance(m, C2PSA):
        info.update(
            in_channels=m.cv1.conv.in_channels, hidden_c=m.c, n=len(m.m))
    elif isinstance(m, Concat):
        info.update(dim=m.d)
    elif isinstance(m, Detect):
        info.update(in_channels=[seq[0].conv.in_channels for seq in m.cv2])
    elif type(m).__name__ == 'Upsample':
        info.update(scale_factor=m.scale_factor, mode=m.mode)
    return info


def describe_layers(model, yolo26=False):
    """:func:`describe_layer` of every layer, and their parameter counts."""
    out_ch = layer_out_channels(model)
    layers = [
        describe_layer(i, m, out_ch, yolo26=yolo26)
        for i, m in enumerate(model.model)
    ]
    return layers, [layer['params'] for layer in layers]


def detect_basics(det):
    """Detect facts that YOLO11 and YOLO26 share (first in ``detect``)."""
    return dict(
        nc=det.nc,
        reg_max=det.reg_max,
        no=det.no,
        nl=det.nl,
        ch=[seq[0].conv.in_channels for seq in det.cv2],
        c2=det.cv2[0][0].conv.out_channels,
        c3=det.cv3[0][0][1].conv.out_channels)


def c2psa_info(model, yolo26=False):
    from ultralytics.nn.modules.block import C2PSA
    return [
        dict(
            layer=i,
            c1=m.cv1.conv.in_channels,
            c=m.c,
            n=len(m.m),
            blocks=[psa_block_info(blk, with_c=yolo26) for blk in m.m])
        for i, m in enumerate(model.model) if isinstance(m, C2PSA)
    ]


def bn_settings(model):
    import torch
    return sorted({(m.eps, m.momentum)
                   for m in model.modules()
                   if isinstance(m, torch.nn.BatchNorm2d)})


def param_counts(model):
    """``(parameters, trainable parameters, len(list(model.modules())))``."""
    params = list(model.parameters())
    return (int(sum(p.numel() for p in params)),
            int(sum(p.numel() for p in params if p.requires_grad)),
            len(list(model.modules())))


def scale_facts(model, arch, scale):
    """First fields of a structure file: the scale and its yaml multiples."""
    depth, width, max_ch = model.yaml['scales'][scale]
    return dict(
        scale=scale,
        yaml_file=f'{arch}{scale}.yaml',
        depth_multiple=depth,
        width_multiple=width,
        max_channels=max_ch)


def yaml_summary_facts(summary):
    """``(params, gradients, layers, gflops)`` of a yaml comment, as a dict."""
    params, gradients, layers, gflops = summary
    return dict(
        params=params, gradients=gradients, layers=layers, gflops=gflops)


def weights_facts(model, det, layers, sd, seed, sd_sha256, yolo26=False):
    """Last fields of a structure file: modules and the state-dict listing."""
    return dict(
        bn_eps_momentum=bn_settings(model),
        detect=det,
        c2psa=c2psa_info(model, yolo26=yolo26),
        layers=layers,
        num_state_dict_entries=len(sd),
        synthetic_seed=seed,
        synthetic_state_dict_sha256=sd_sha256,
        state_dict=[[k, list(v.shape), dtype_name(v.dtype)]
                    for k, v in sd.items()])


def failed_checks(structures):
    """``{scale: [names of failed checks]}``, only scales with a failure."""
    failed = {
        scale: [k for k, ok in rec['checks'].items() if not ok]
        for scale, rec in structures.items()
    }
    return {scale: f for scale, f in failed.items() if f}


# ----------------------------------------------------- eval and float64


@contextlib.contextmanager
def recorded_outputs(model, layer_indices):
    """Within the block, copies of the outputs of ``model.model[i]``."""
    out = {}
    hooks = [
        model.model[i].register_forward_hook(
            lambda mod, inp, o, i=i: out.__setitem__(i, o.clone()))
        for i in layer_indices
    ]
    try:
        yield out
    finally:
        for h in hooks:
            h.remove()


def anchor_arrays(det):
    """Anchors in grid units, cell centres (x + 0.5, y + 0.5), (A, 2), and
    strides, (A,)."""
    return {
        'anchor_points': det.anchors.T.contiguous().numpy(),
        'stride_tensor': det.strides.reshape(-1).numpy(),
    }


def nms(non_max_suppression, y, conf, iou, multi_label, max_det):
    """The first image's result of Ultralytics' ``non_max_suppression``.

    It converts boxes in place (in_place=True), so it gets a copy; a
    generous max_time_img, so that its time-limit early exit cannot truncate
    the results on a slow CPU.
    """
    return non_max_suppression(
        y.clone(),
        conf_thres=conf,
        iou_thres=iou,
        multi_label=multi_label,
        max_det=max_det,
        max_time_img=60.0)[0]


def float64_rerun(model, image):
    """A float64 copy of ``model`` and its output on ``image`` (no grad)."""
    import torch
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        out64 = model64(image.clone().double())
    return model64, out64


def max_abs_diff(a, b64):
    """``max |a - b64|`` in float64, as a float."""
    return float((a.double() - b64).abs().max())


def assert_float32(arrays):
    import numpy as np
    for k, v in arrays.items():
        assert v.dtype == np.float32, (k, v.dtype)


# ----------------------------------------------------------------- loss


def loss_targets(rows):
    """The Ultralytics batch dict of GT rows (img, cls, cx, cy, w, h)."""
    import torch
    gt = torch.tensor(rows, dtype=torch.float32)
    return {'batch_idx': gt[:, 0], 'cls': gt[:, 1:2], 'bboxes': gt[:, 2:6]}


def gt_arrays(batch):
    return {
        'gt_batch_idx': batch['batch_idx'].numpy(),
        'gt_cls': batch['cls'].numpy(),
        'gt_bboxes_xywhn': batch['bboxes'].numpy(),
    }


def only_image0(batch):
    """The batch without the GT of image 1 (the empty-image case)."""
    keep_img0 = batch['batch_idx'] == 0
    return {k: v[keep_img0] for k, v in batch.items()}


def assigner_dtypes(**extra):
    """numpy dtype of each recorded assigner output."""
    import numpy as np
    return dict(
        fg_mask=bool,
        target_gt_idx=np.int64,
        target_labels=np.int64,
        target_bboxes=np.float32,
        target_scores=np.float32,
        **extra)


def train_forward(model, sw, seed, shape, input_seed, cfg_overrides=None):
    """Synthetic weights, ``model.args`` from default.yaml (box=7.5,
    cls=0.5, dfl=1.5, plus ``cfg_overrides``), then a train-mode forward
    (BN uses batch statistics) of the fixed image batch. Returns
    ``(images, preds)``."""
    import torch
    from ultralytics.cfg import get_cfg
    load_synthetic(model, sw, seed)
    model.args = get_cfg(overrides=cfg_overrides)
    images = fixed_image(shape, input_seed)
    model.train()
    with torch.no_grad():
        preds = model(images.clone())
    return images, preds


def loss_summary_head(scale, shape, input_seed, gt_rows):
    """First fields of the loss summary in the manifest."""
    return {
        'scale': scale,
        'images_shape': list(shape),
        'images_seed': input_seed,
        'gt_rows_[img,cls,cx,cy,w,h]_normalized': [list(r) for r in gt_rows],
    }


# ------------------------------------------------ JSON and provenance


def thop_version():
    try:
        from importlib.metadata import version
        return version('ultralytics-thop')
    except Exception:  # noqa: BLE001
        return None


def versions():
    import numpy
    import torch
    import torchvision
    import ultralytics
    return {
        'ultralytics': ultralytics.__version__,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'numpy': numpy.__version__,
        'ultralytics-thop': thop_version(),
        'python': platform.python_version(),
    }


def _format_json(obj, indent=0):
    """Indented JSON; a value whose one-line form is short stays inline."""
    flat = json.dumps(obj)
    if indent > 0 and len(flat) <= 250:
        return flat
    pad = ' ' * (indent + 1)
    if isinstance(obj, dict):
        items = [
            f'{pad}{json.dumps(k)}: {_format_json(v, indent + 1)}'
            for k, v in obj.items()
        ]
        return '{\n' + ',\n'.join(items) + '\n' + ' ' * indent + '}'
    if isinstance(obj, list):
        items = [pad + _format_json(v, indent + 1) for v in obj]
        return '[\n' + ',\n'.join(items) + '\n' + ' ' * indent + ']'
    return flat


def write_json(path, obj):
    text = _format_json(obj) + '\n'
    assert json.loads(text) == json.loads(json.dumps(obj))
    path.write_text(text)


def synthetic_weights_record(module_rel, sw, seed, slope_name):
    """The ``synthetic_weights`` entry of a manifest."""
    synthetic = dict(
        module=module_rel,
        seed=seed,
        weight_gains=[list(r) for r in sw.WEIGHT_GAINS])
    synthetic[f'bias_shifts_[regex,constant,{slope_name}]'] = [
        list(r) for r in sw.BIAS_SHIFTS
    ]
    return synthetic


def nms_settings_record(settings, iou, max_det):
    """``{tag: all NMS settings}`` of ``(tag, conf, multi_label)`` rows."""
    return {
        tag: dict(
            conf_thres=conf,
            iou_thres=iou,
            multi_label=multi_label,
            max_det=max_det,
            agnostic=False,
            max_nms=30000,
            max_wh=7680)
        for tag, conf, multi_label in settings
    }


def eval_input_record(shape, seed):
    """How the eval input was made: ``input_shape`` and ``input``."""
    return dict(
        input_shape=list(shape),
        input=(f'torch.randint(0, 256, {list(shape)}, '
               f'generator=manual_seed({seed})) / 255'))


def manifest_record(generator, command, synthetic, evaluation, loss,
                    structures, structure_keys):
    """``manifest.json``: provenance and every recorded scalar."""
    structure = {
        scale: {k: rec[k]
                for k in structure_keys}
        for scale, rec in structures.items()
    }
    return dict(
        generator=generator,
        command=command,
        versions=versions(),
        synthetic_weights=synthetic,
        eval=evaluation,
        loss=loss,
        structure=structure)


# ------------------------------------------------- fixture generators


def parse_args(doc, fixture_rel, scales, argv=None):
    """The command line of ``make_yolo{11,26}_fixtures.py``."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    parser.add_argument(
        '--out',
        type=Path,
        required=True,
        help=f'output folder ({fixture_rel})')
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='synthetic-weight seed (default: synthetic_weights.DEFAULT_SEED)')
    parser.add_argument(
        '--scales',
        default=scales,
        help=f'scales for the structure files (default: {scales})')
    return parser.parse_args(argv)


def generate(gen, argv=None):
    """Everything a ``make_yolo{11,26}_fixtures.py`` run writes.

    ``gen`` is the generator module. It defines ``ARCH`` (``'yolo11'``),
    ``FIXTURE_DIR``, ``SYNTHETIC_WEIGHTS_PY``, ``SCALES``, ``EVAL_SCALES``,
    ``EVAL_SHAPE``, ``EVAL_INPUT_SEED``, ``LOSS_SCALE`` and the functions
    ``structure_record(scale, sw, seed)``, ``eval_record(scale, sw, seed,
    image)`` and ``loss_record(sw, seed)``, which return what is written,
    and ``build_manifest(sw, seed, structures, eval_summaries,
    loss_summary)``.

    Parses the command line, checks the sandbox, then writes
    ``<arch><scale>_structure.json`` for every scale, the eval and loss
    ``.npz`` files and ``manifest.json``. Returns ``(out folder, structures,
    eval_summaries, loss_summary, seconds)``.
    """
    import numpy as np
    fixture_rel = gen.FIXTURE_DIR.relative_to(REPO_ROOT).as_posix()
    args = parse_args(gen.__doc__, fixture_rel, gen.SCALES, argv)
    check_sandbox()
    import torch
    torch.use_deterministic_algorithms(True)
    sw = load_module(f'{gen.ARCH}_synthetic_weights', gen.SYNTHETIC_WEIGHTS_PY)
    seed = sw.DEFAULT_SEED if args.seed is None else args.seed
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    structures = {}
    for scale in args.scales:
        structures[scale] = gen.structure_record(scale, sw, seed)
        write_json(out / f'{gen.ARCH}{scale}_structure.json',
                   structures[scale])

    eval_summaries = {}
    image = fixed_image(gen.EVAL_SHAPE, gen.EVAL_INPUT_SEED)
    for scale in gen.EVAL_SCALES:
        arrays, eval_summaries[scale] = gen.eval_record(scale, sw, seed, image)
        np.savez_compressed(out / f'{gen.ARCH}{scale}_eval.npz', **arrays)

    arrays, loss_summary = gen.loss_record(sw, seed)
    np.savez_compressed(out / f'{gen.ARCH}{gen.LOSS_SCALE}_loss.npz', **arrays)

    manifest = gen.build_manifest(sw, seed, structures, eval_summaries,
                                  loss_summary)
    write_json(out / 'manifest.json', manifest)
    return (out, structures, eval_summaries, loss_summary,
            time.time() - t_start)
