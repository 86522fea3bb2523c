"""YOLO11 against YOLO11-FasterNet in one command: a markdown table and a PNG in a work dir.

    python tools/analysis_tools/compare_report.py --scales n s --work-dir work_dirs/compare
    python tools/analysis_tools/compare_report.py --scales n --search \\
        --train-data data/fire_demo/fire_demo.yaml          # + design search, + mAP

For every requested scale and model line (``--lines``; default: ``yolo11``, ``fasternet`` = the
seed's T0 line, ``fasternet_lite`` = the FasterNet-lite backbone, ``fasternet_pconv`` = YOLO11 with
PConv in the neck and head, ``fasternet_merging`` = YOLO11 with FasterNet's patch merging, the
placement search's pick) the COCO config
``configs/yolo11{scale}{line}_coco.py`` is measured in its own process (so that peak memory is
that model's): parameters, MACs and Ultralytics-convention GFLOPs (2 x MACs) at ``--img-size``;
throughput at ``--batch`` for PyTorch eager, PyTorch deploy (Conv+BN fused, PConv slicing,
channels_last), ONNX Runtime and OpenVINO, fp32 and INT8 (see benchmark.py; the PyTorch and ONNX
Runtime ones on CUDA too when torch sees a GPU); peak RSS of inference
at ``--batch``; training images/s and peak RSS at ``--batch`` (synthetic batches, see
train_speed.py). Batch-1 latency is then timed for all models of a scale together, backend by
backend, in interleaved rounds (a busy spell of the machine slows every model alike, not just one).

``--train-data DATA_YAML`` also trains every model from scratch with one fixed recipe
(``--train-recipe``, default the demo's: 256 px, 15 epochs) once per ``--seeds`` on that
Ultralytics-layout dataset, through tools/train.py, and reports the best validation bbox mAP
and mAP50 (mean over seeds). A finished run whose generated config is unchanged is reused (its
``result.json`` in the work dir), so ``--train-only`` can do the long part first.

``--options`` times each inference option against its baseline for the n-scale models
(``INFERENCE_OPTIONS``: channels_last, PConv forward, ONNX Runtime optimisation level; with
``--compile`` also ``torch.compile``): what the deploy form keeps.

``--search`` measures FasterNet designs at the n scale (``SEARCH_SPACE``: width, depths, activation,
PConv ratio, MLP ratio; how the ``lite`` line was chosen) and where PConv goes (``PLACEMENT_SPACE``,
from ``configs/_base_/models/faster_blocks.py``: C3k2-Faster in the backbone, the neck or both, the
C3k variant, PConv in the head, lite + C3k2-Faster neck) against YOLO11 of ``--search-scale`` (n;
``s`` runs the placement set only, to confirm it), eager, fused and ONNX Runtime at batch 1 in the
same interleaved rounds, with params, GFLOPs and training images/s. ``--search-set`` picks the
sets and ``--search-names`` some placements of it (e.g. the best of n, confirmed at s);
``--train-search NAME ...`` (with ``--train-data``) also trains those search points, seeds as
the main models, and adds their mAP to the search table (with ``--train-only``: trains only,
``--lines`` with no names leaving the main lines out).

``--backends`` are the main table's columns: eager, fused, ONNX Runtime, OpenVINO and both in
INT8 (``deploy/runners.py``).

Writes ``report.md``, ``report.png`` and ``report.json`` into ``--work-dir``.
"""
import argparse
import copy
import datetime
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

from fasternet_yolo11.analysis.logs import find_scalars, read_scalars
from fasternet_yolo11.analysis.timing import available_devices, hardware, time_interleaved, time_it
from fasternet_yolo11.deploy.inference import init_model
from fasternet_yolo11.deploy.runners import BACKENDS, runners
from fasternet_yolo11.utils import cli

REPO = cli.REPO_ROOT
# line -> (config name pattern, label pattern); {} is the scale letter.
LINES = {
    'yolo11': ('yolo11{}_coco.py', 'YOLO11{}'),
    'fasternet': ('yolo11{}_fasternet_coco.py', 'YOLO11{}-FasterNet'),
    'fasternet_lite': ('yolo11{}_fasternet_lite_coco.py', 'YOLO11{}-FasterNet-lite'),
    'fasternet_pconv': ('yolo11{}_fasternet_pconv_coco.py', 'YOLO11{}-FasterNet-PConv'),
    'fasternet_merging': ('yolo11{}_fasternet_merging_coco.py', 'YOLO11{}-FasterNet-Merging'),
}
_RELU, _GELU = dict(type='ReLU', inplace=True), dict(type='GELU')
# FasterNet designs for the n scale, each on the YOLO11n neck and head (SPPF + C2PSA on P5):
# name -> backbone keyword arguments. 'seed' is the YAML's T0; 'lite' is the shipped CPU line.
SEARCH_SPACE = {
    'seed (T0: 40, 1-2-8-2, GELU)': dict(arch='t0', widen_factor=0.25),
    '40, 1-2-8-2, ReLU': dict(arch=dict(embed_dim=40, depths=(1, 2, 8, 2), act_cfg=_RELU)),
    '32, 1-2-8-2, GELU': dict(arch=dict(embed_dim=32, depths=(1, 2, 8, 2), act_cfg=_GELU)),
    '32, 1-2-8-2, ReLU': dict(arch=dict(embed_dim=32, depths=(1, 2, 8, 2), act_cfg=_RELU)),
    '32, 1-2-6-2, ReLU': dict(arch=dict(embed_dim=32, depths=(1, 2, 6, 2), act_cfg=_RELU)),
    '32, 1-2-6-2, ReLU, n_div 2': dict(arch=dict(embed_dim=32, depths=(1, 2, 6, 2), act_cfg=_RELU),
                                       n_div=2),
    'lite (32, 1-2-4-2, ReLU)': dict(arch='lite', widen_factor=0.25),
    '32, 1-2-4-2, ReLU, mlp_ratio 1.5': dict(arch='lite', widen_factor=0.25, mlp_ratio=1.5),
    '32, 0-2-4-2, ReLU': dict(arch=dict(embed_dim=32, depths=(0, 2, 4, 2), act_cfg=_RELU)),
    '24, 1-2-6-2, ReLU': dict(arch=dict(embed_dim=24, depths=(1, 2, 6, 2), act_cfg=_RELU)),
}
# Where PConv goes (issue 12): name -> (base config pattern, model override), from the mixin
# configs/_base_/models/faster_blocks.py; every point keeps YOLO11's stem and stride-2 convs.
PLACEMENT_LABELS = {
    'backbone': 'C3k2-Faster in the backbone',
    'neck': 'C3k2-Faster in the neck',
    'both': 'C3k2-Faster in backbone + neck',
    'backbone_c3k': 'C3k2-Faster (C3k variant) in the backbone',
    'neck_c3k': 'C3k2-Faster (C3k variant) in the neck',
    'both_c3k': 'C3k2-Faster (C3k variant) in backbone + neck',
    'head_pconv': 'PConv in the head box convs',
    'lite_neck': 'lite + C3k2-Faster neck',
    'both_mlp1': 'C3k2-Faster, mlp_ratio 1, backbone + neck',
    'neck_head_pconv': 'C3k2-Faster neck + PConv head',
    'lite_neck_head': 'lite + C3k2-Faster neck + PConv head',
    'both_head': 'C3k2-Faster backbone + neck + PConv head',
    'lite_neck_mlp1_head': 'lite + C3k2-Faster neck (mlp_ratio 1) + PConv head',
    'relu': 'ReLU (no PConv)',
    'merging': 'patch merging (no PConv)',
    'relu_merging': 'ReLU + patch merging (no PConv)',
    'merging_head': 'patch merging + PConv head',
    'merging_neck_head': 'patch merging + C3k2-Faster neck + PConv head',
    'merging_both_head': 'patch merging + C3k2-Faster backbone + neck + PConv head',
    'merging_relu_backbone': 'patch merging + ReLU in the backbone',
    'head_dw': 'depthwise head box convs',
    'merging_head_dw': 'patch merging + depthwise head box convs',
    'relu_head': 'ReLU + PConv head',
    'relu_merging_head': 'ReLU + patch merging + PConv head',
    'relu_merging_neck_head': 'ReLU + patch merging + C3k2-Faster neck + PConv head',
    'relu_merging_both_head': 'ReLU + patch merging + C3k2-Faster backbone + neck + PConv head',
}


def placement_space():
    """{label: (name, base config pattern, model override)} of the mixin's candidates."""
    from mmengine.config import Config
    mixin = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models', 'faster_blocks.py'))
    bases = mixin.get('faster_candidate_bases', {})
    return {PLACEMENT_LABELS.get(name, name): (name, bases.get(name, 'yolo11{}_coco.py'),
                                               override.to_dict())
            for name, override in mixin.faster_candidates.items()}


PLACEMENT_SPACE = placement_space()
# PConv forward per backend (eager: as trained). slicing and split_cat measured the same in the
# fused and ONNX Runtime backends (see INFERENCE_OPTIONS); slicing is the deploy/export default.
PCONV = dict(eager='split_cat', fused='slicing', onnx='slicing', openvino='slicing',
             onnx_int8='slicing', openvino_int8='slicing')
# Column names of the backends in the main table.
BACKEND_LABELS = dict(eager='eager', fused='fused', onnx='ORT', openvino='OpenVINO',
                      onnx_int8='ORT INT8', openvino_int8='OpenVINO INT8')
# The "fast inference path" study: each option against its baseline, n scale, CPU.
# name -> (backend, device, runners() keyword arguments); the first three are the main table's.
INFERENCE_OPTIONS = {
    'eager (NCHW)': ('eager', 'cpu', {}),
    'eager, channels_last': ('eager', 'cpu', dict(channels_last=True)),
    'fused, NCHW': ('fused', 'cpu', dict(channels_last=False)),
    'fused, channels_last (deploy form)': ('fused', 'cpu', {}),
    'fused, channels_last, PConv split_cat': ('fused', 'cpu', dict(pconv='split_cat')),
    'ONNX Runtime, optimisation all (default)': ('onnx', 'cpu', {}),
    'ONNX Runtime, all, PConv split_cat': ('onnx', 'cpu', dict(pconv='split_cat')),
    'ONNX Runtime, optimisation extended': ('onnx', 'cpu', dict(ort_opt='extended')),
    'ONNX Runtime, optimisation basic': ('onnx', 'cpu', dict(ort_opt='basic')),
    'ONNX Runtime, optimisation disabled': ('onnx', 'cpu', dict(ort_opt='disable')),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--scales', nargs='+', default=['n', 's'], choices=list('nsmlx'))
    p.add_argument('--lines', nargs='*', default=list(LINES), choices=list(LINES),
                   help='model lines of the main table (none: only the search)')
    p.add_argument('--backends', nargs='+', default=list(BACKENDS), choices=list(BACKENDS),
                   help='backends of the main table (the search always times eager, fused, onnx)')
    p.add_argument('--work-dir', default='work_dirs/compare_report')
    p.add_argument('--img-size', type=int, default=640)
    p.add_argument('--batch', type=int, default=8, help='batch of the throughput/training runs')
    p.add_argument('--iters', type=int, default=20, help='timed batch-1 runs per backend')
    p.add_argument('--batch-iters', type=int, default=5, help='timed batch runs per backend')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--train-iters', type=int, default=3,
                   help='timed synthetic training steps (0 skips training speed)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch and ONNX Runtime intra-op threads (default: torch default)')
    p.add_argument('--search', action='store_true', help='also run the n-scale design search')
    p.add_argument('--search-set', nargs='+', default=['fasternet', 'placement'],
                   choices=['fasternet', 'placement'],
                   help='with --search: FasterNet backbone designs and/or PConv placements')
    p.add_argument('--search-scale', default='n', choices=list('nsmlx'),
                   help='scale of the placement search (the FasterNet designs are n only)')
    p.add_argument('--search-names', nargs='+', default=None, metavar='NAME',
                   choices=sorted(name for name, _, _ in PLACEMENT_SPACE.values()),
                   help='with --search: only these placement candidates (names in '
                   'configs/_base_/models/faster_blocks.py), e.g. to confirm the best at s')
    p.add_argument('--train-search', nargs='+', default=[], metavar='NAME',
                   help='with --search and --train-data: also train these search points '
                   '(labels or placement names, e.g. neck both lite_neck); with --train-only '
                   'they are trained without measuring speed')
    p.add_argument('--options', action='store_true',
                   help='also time each inference option at the n scale')
    p.add_argument('--compile', action='store_true',
                   help='with --options: also torch.compile (slow to compile)')
    p.add_argument('--train-data', default=None, help='data yaml: also train and report mAP')
    p.add_argument('--seeds', type=int, nargs='+', default=[0],
                   help='train once per seed; the report gives the mean and each run')
    p.add_argument('--train-scales', nargs='+', default=None, choices=list('nsmlx'),
                   help='scales to train with --train-data (default: all of --scales)')
    p.add_argument('--train-recipe', default=osp.join(REPO, 'configs/_base_/fire_demo.py'),
                   help='config whose data pipeline and schedule every model is trained with')
    p.add_argument('--train-only', action='store_true',
                   help='with --train-data: only train (cached in the work dir) and print the '
                   'mAP; a later run without it measures speed and reuses those runs')
    p.add_argument('--worker', default=None, help=argparse.SUPPRESS)  # internal: one config
    p.add_argument('--worker-out', default=None, help=argparse.SUPPRESS)
    p.add_argument('--worker-backends', nargs='*', default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- one model, in its own process
def measure_one(config, args, backends):
    """Size, throughput at ``--batch`` per backend and device, peak memory and training speed of
    one config (batch-1 latency is measured apart, interleaved: see ``interleaved_latency``)."""
    import torch

    from fasternet_yolo11.analysis.complexity import measure as count_flops
    from fasternet_yolo11.analysis.train_speed import measure as train_measure
    from fasternet_yolo11.analysis.train_speed import peak_rss_mb
    if args.threads:
        torch.set_num_threads(args.threads)
    size = (args.img_size, args.img_size)
    flops = count_flops(config, size, show_table=False)
    out = dict(config=config, params=flops['params'], macs=flops['macs'],
               gflops=flops['gflops_ultralytics'], threads=torch.get_num_threads(), speed={})
    model = init_model(cli.load_config(config))
    with tempfile.TemporaryDirectory() as tmpdir:
        for device in available_devices():
            sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
            for backend in backends if args.batch_iters else ():
                make = runners(model, backend, device, size, PCONV[backend], out['threads'],
                               tmpdir)
                if make is None:
                    continue
                if device == 'cuda':
                    torch.cuda.reset_peak_memory_stats()
                bmed = time_it(make(args.batch), args.batch_iters, 1, sync)[0]
                out['speed'][f'{backend}/{device}'] = dict(throughput=args.batch * 1e3 / bmed)
                if device == 'cuda':
                    out['speed'][f'{backend}/{device}']['peak_mib'] = \
                        torch.cuda.max_memory_allocated() / 2**20
                if backend == 'eager' and device == 'cpu':
                    # Before ONNX Runtime and training, so it is PyTorch inference alone.
                    out['infer_peak_rss_mib'] = peak_rss_mb()[0]
    del model
    if args.train_iters:
        cfg = cli.load_config(config)
        cfg.train_dataloader.batch_size = args.batch
        cfg.optim_wrapper.optimizer.batch_size_per_gpu = args.batch
        with cli.one_line_errors():
            r = train_measure(cfg, args.train_iters, 1, synthetic=True, img_size=args.img_size)
        out.update(train_images_per_s=r['images_per_s'], train_peak_rss_mib=r['peak_rss_mb'])
    return out


def interleaved_latency(configs, variants, args):
    """Batch-1 latency (ms: median, min, max) of every config x variant: per variant, the configs
    timed in ``--iters`` interleaved rounds after ``--warmup`` runs (``time_interleaved``: a slow
    spell of the machine touches all of them alike). One variant at a time, so that no other
    runtime's thread pool (OpenVINO's, torch's) is still spinning while one is timed: the
    comparison that matters is between models in the same backend. ONNX Runtime's sessions run
    without spinning (``ort_session``): within a variant its sessions take turns too.

    ``variants``: {key: (backend, device, runners() keyword arguments)}.
    Returns {config: {key: {median_ms, min_ms, max_ms}}}."""
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    size = (args.img_size, args.img_size)
    calls = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        for config in configs:
            model = init_model(cli.load_config(config))
            for key, (backend, device, kwargs) in variants.items():
                kwargs = dict(kwargs, ort_spinning=False)
                pconv = kwargs.pop('pconv', PCONV[backend])
                make = runners(model, backend, device, size, pconv, torch.get_num_threads(),
                               tmpdir, **kwargs)
                if make is not None:
                    calls[(config, key)] = make(1)
        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
        times = {}
        for key in variants:
            times.update(time_interleaved({ck: fn for ck, fn in calls.items() if ck[1] == key},
                                          args.iters, args.warmup, sync))
    out = {config: {} for config in configs}
    for (config, key), (med, lo, hi) in times.items():
        out[config][key] = dict(median_ms=med, min_ms=lo, max_ms=hi)
    return out


def main_variants(backends=BACKENDS):
    """The backends of the main table, on every device: {'backend/device': ...}."""
    return {f'{b}/{d}': (b, d, {}) for d in available_devices() for b in backends}


def run_worker(config, args, backends, log):
    """``measure_one`` in a fresh interpreter (clean peak RSS); returns its dict."""
    fd, out_json = tempfile.mkstemp(suffix='.json')
    os.close(fd)
    cmd = [sys.executable, osp.abspath(__file__), '--worker', config, '--worker-out', out_json,
           '--img-size', str(args.img_size), '--batch', str(args.batch), '--iters',
           str(args.iters), '--batch-iters', str(args.batch_iters), '--warmup', str(args.warmup),
           '--train-iters', str(args.train_iters), '--worker-backends', *backends]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    with open(log, 'a') as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        os.unlink(out_json)
        cli.die(f'measuring {config} failed (exit {proc.returncode}); see {log}')
    with open(out_json) as f:
        result = json.load(f)
    os.unlink(out_json)
    return result


# ---------------------------------------------------------------- training on a dataset
def training_config(config, recipe, data_yaml):
    """``recipe`` (data pipeline, schedule, seed) with ``config``'s network and ``data_yaml``'s
    data and classes."""
    from fasternet_yolo11.datasets.yolo_dataset import load_data_config
    net = cli.load_config(config).model
    cfg = cli.load_config(recipe)
    with cli.one_line_errors():
        names = tuple(load_data_config(data_yaml)['names'])
    cfg.model.backbone = copy.deepcopy(net.backbone)
    cfg.model.neck = copy.deepcopy(net.neck)
    # the whole head module (a placement may change its convs), with the data's classes
    cfg.model.bbox_head.head_module = copy.deepcopy(net.bbox_head.head_module)
    cfg.model.bbox_head.head_module.num_classes = len(names)
    cfg.model.train_cfg.assigner.num_classes = len(names)
    metainfo = dict(classes=names)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_yaml = osp.abspath(data_yaml)
        loader.dataset.metainfo = metainfo
    return cfg


def train_one(name, config, args, log, seed=0):
    """Train ``config``'s network with the recipe on ``--train-data`` with ``seed``; reuse a
    finished run of the same generated config. Returns dict(mAP, mAP50, epoch, minutes, ...)."""
    work_dir = osp.join(args.work_dir, 'train', name, f'seed{seed}')
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, 'config.py')
    cfg = training_config(config, args.train_recipe, args.train_data)
    cfg.randomness = dict(seed=seed)
    cfg.dump(cfg_path)
    with open(cfg_path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    result_path = osp.join(work_dir, 'result.json')
    if osp.isfile(result_path):
        with open(result_path) as f:
            old = json.load(f)
        if old.get('config_sha256') == digest:
            print(f'{name} seed {seed}: reusing the finished training run in {work_dir}',
                  flush=True)
            return old
    print(f'{name} seed {seed}: training with {osp.basename(args.train_recipe)} on '
          f'{args.train_data} (log: {log})', flush=True)
    t0 = time.time()
    with open(log, 'a') as f:
        proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), cfg_path,
                               '--work-dir', work_dir], stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        cli.die(f'training {name} failed (exit {proc.returncode}); see {log}')
    try:
        scalars = find_scalars(work_dir)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    _, val = read_scalars(scalars)  # the newest run's validation rows
    best = max(val, key=lambda row: row['coco/bbox_mAP'])
    result = dict(mAP=best['coco/bbox_mAP'], mAP50=best['coco/bbox_mAP_50'],
                  epoch=best.get('step'), minutes=(time.time() - t0) / 60,
                  epochs=cfg.train_cfg.max_epochs, seed=seed, config_sha256=digest)
    tmp = result_path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f)
    os.replace(tmp, result_path)
    return result


def train_seeds(name, config, args, log):
    """``train_one`` for every ``--seeds``; mAP and mAP50 are the means, ``runs`` each seed's."""
    runs = [train_one(name, config, args, log, seed) for seed in args.seeds]
    return dict(mAP=sum(r['mAP'] for r in runs) / len(runs),
                mAP50=sum(r['mAP50'] for r in runs) / len(runs),
                minutes=sum(r['minutes'] for r in runs) / len(runs),
                epochs=runs[0]['epochs'], runs=runs)


# ---------------------------------------------------------------- the design search
def search_config(name, backbone_kwargs, work_dir):
    """A config file for one search point: YOLO11n-FasterNet with another backbone."""
    from mmengine.registry import init_default_scope
    from mmyolo.registry import MODELS
    cfg = cli.load_config(osp.join(REPO, 'configs', 'yolo11n_fasternet_coco.py'))
    backbone = dict(cfg.model.backbone, widen_factor=None)
    backbone.update(backbone_kwargs)
    init_default_scope('mmyolo')
    channels = MODELS.build(copy.deepcopy(backbone)).out_channels
    cfg.model.backbone = backbone
    cfg.model.neck.in_channels = channels
    path = osp.join(work_dir, 'search', ''.join(c if c.isalnum() else '_' for c in name) + '.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    dump_unformatted(cfg, path)
    return path


def placement_config(name, base, override, scale, work_dir):
    """A config file for one placement point: ``base`` at ``scale`` with the model override."""
    cfg = cli.load_config(osp.join(REPO, 'configs', base.format(scale)))
    cfg.merge_from_dict(dict(model=copy.deepcopy(override)))
    path = osp.join(work_dir, 'search', f'yolo11{scale}_faster_{name}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    dump_unformatted(cfg, path)
    return path


def dump_unformatted(cfg, path):
    """``cfg.dump(path)`` without yapf, which takes ~1.5 s per config (the search writes dozens)."""
    from mmengine.config import Config
    Config(cfg.to_dict(), format_python_code=False).dump(path)


def search_entries(args):
    """[(label, config, placement name or None)] of the search, the YOLO11 reference first."""
    scale = args.search_scale
    entries = [(f'YOLO11{scale}', osp.join(REPO, 'configs', f'yolo11{scale}_coco.py'), None)]
    if 'fasternet' in args.search_set and scale == 'n':
        entries += [(name, search_config(name, kwargs, args.work_dir), None)
                    for name, kwargs in SEARCH_SPACE.items()]
    if 'placement' in args.search_set:
        for label, (name, base, override) in PLACEMENT_SPACE.items():
            if args.search_names is not None and name not in args.search_names:
                continue
            if not osp.isfile(osp.join(REPO, 'configs', base.format(scale))):
                print(f'skipped: {label} (no {base.format(scale)})')
                continue
            entries.append((label, placement_config(name, base, override, scale, args.work_dir),
                            name))
    return entries


# ---------------------------------------------------------------- the report
def fmt(value, spec='.1f'):
    return '-' if value is None or value != value else format(value, spec)


def markdown(models, search_rows, options, args, hw):
    b = args.batch
    out = ['# YOLO11 vs YOLO11-FasterNet', '',
           f'Measured {datetime.date.today().isoformat()} with '
           f'`tools/analysis_tools/compare_report.py`; input {args.img_size}x{args.img_size}, '
           f'random weights (speed does not depend on them).', '']
    out += [f'- {line}' for line in hw] + ['']
    devices = sorted({k.split('/')[1] for m in models for k in m['speed']})
    out += ['## Size and speed', '',
            f'Latency: batch 1, median of {args.iters} rounds that run every model of the scale '
            f'once each, each backend in its own rounds (ms; ONNX Runtime without thread '
            f'spinning, as its sessions take turns). Throughput: batch {b} (img/s). Fused = Conv+BN folded, PConv '
            f'slicing, channels_last: `tools/test.py --deploy`); ONNX Runtime: PConv '
            f'{PCONV["onnx"]}, graph '
            'optimisation all; OpenVINO: the same ONNX file, CPU, fp32, latency hint; INT8: '
            'that file statically quantized (ORT: QDQ, per-channel weights; OpenVINO: NNCF, an IR), '
            'calibrated on random inputs (speed only; accuracy: quantize.py). Training: '
            f'forward+backward+step at batch {b}, synthetic batches (img/s). Peak RSS of the '
            'measuring process (MiB; it includes the ~0.4 GiB of the torch runtime).', '']
    cols = args.backends
    head = ['model', 'params (M)', 'GFLOPs', *[f'{BACKEND_LABELS[k]} ms' for k in cols],
            *[f'{BACKEND_LABELS[k]} bs{b} img/s' for k in cols],
            f'inference peak RSS bs{b}', f'train img/s bs{b}', f'train peak RSS bs{b}']
    if 'cuda' in devices:
        head += ['CUDA eager ms', 'CUDA fused ms', f'CUDA peak MiB bs{b}']
    if any('train' in m for m in models):
        head += ['mAP50-95', 'mAP50']
    out += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for m in models:
        s = m['speed']

        def get(key, field):
            return s.get(key, {}).get(field)
        row = [m['label'], fmt(m['params'] / 1e6, '.2f'), fmt(m['gflops'], '.2f')]
        row += [fmt(get(f'{k}/cpu', 'median_ms')) for k in cols]
        row += [fmt(get(f'{k}/cpu', 'throughput')) for k in cols]
        row += [fmt(m.get('infer_peak_rss_mib'), '.0f'), fmt(m.get('train_images_per_s'), '.2f'),
                fmt(m.get('train_peak_rss_mib'), '.0f')]
        if 'cuda' in devices:
            row += [fmt(get('eager/cuda', 'median_ms'), '.2f'),
                    fmt(get('fused/cuda', 'median_ms'), '.2f'),
                    fmt(get('eager/cuda', 'peak_mib'), '.0f')]
        if any('train' in x for x in models):
            t = m.get('train') or {}
            row += [fmt(t.get('mAP'), '.3f'), fmt(t.get('mAP50'), '.3f')]
        out.append('| ' + ' | '.join(row) + ' |')
    trained = [m for m in models if m.get('train')]
    if trained:
        t = trained[0]['train']
        seeds = ', '.join(str(r['seed']) for r in t['runs'])
        out += ['', f'mAP: best validation bbox mAP (and its mAP50) of from-scratch runs of the '
                f'recipe `{osp.relpath(args.train_recipe, REPO)}` ({t["epochs"]} epochs) on '
                f'`{args.train_data}`, mean over seeds {seeds}. Per seed, and training wall '
                'time per run:', '']
        out += [f"- {m['label']}: " + ', '.join(
            f"{r['mAP']:.3f} / {r['mAP50']:.3f}" for r in m['train']['runs'])
            + f"; {m['train']['minutes']:.1f} min" for m in trained]
    out += ['', '## Verdict', ''] + verdict(models)
    if search_rows:
        ref = search_rows[0]
        trained = any(r.get('train') for r in search_rows)

        def ms(r, key):
            return r['speed'].get(key, {}).get('median_ms')

        def rel(r, key):
            a, b = ms(r, key), ms(ref, key)
            return '-' if a is None or not b else f'{100 * (a / b - 1):+.0f}%'
        out += ['', f'## Design search ({args.search_scale} scale)', '',
                'FasterNet designs on the YOLO11n neck and head (SPPF + C2PSA on P5; '
                'width = embed_dim, stage widths x1/x2/x4/x8, then depths and activation) and '
                'PConv placements in YOLO11 (configs/_base_/models/faster_blocks.py), '
                f'batch 1, CPU, median of {args.iters} interleaved rounds; the last row is '
                f"{ref['label']} itself. Training img/s: synthetic batches of {args.batch}.", '',
                '| design | params (M) | GFLOPs | eager ms | fused ms | ORT ms | train img/s | '
                + ('mAP50-95 | ' if trained else '') + f"ORT vs {ref['label']} | fused vs "
                f"{ref['label']} |",
                '|---|---|---|---|---|---|---|' + ('---|' if trained else '') + '---|---|']
        for r in search_rows[1:] + [ref]:
            m = [fmt(r['train']['mAP'], '.3f') if r.get('train') else '-'] if trained else []
            out.append(' | '.join(
                [f"| {r['label']}", f"{r['params'] / 1e6:.2f}", f"{r['gflops']:.2f}",
                 fmt(ms(r, 'eager/cpu')), fmt(ms(r, 'fused/cpu')), fmt(ms(r, 'onnx/cpu')),
                 fmt(r.get('train_images_per_s')), *m, rel(r, 'onnx/cpu'),
                 rel(r, 'fused/cpu')]) + ' |')
    if options:
        names = [osp.basename(c)[:-3] for c in options['configs']]
        out += ['', '## Fast inference path (n scale)', '',
                f'Batch 1, CPU, median of {args.iters} interleaved rounds (ms); each option '
                'against the row above it or the first row of its backend.', '',
                '| option | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(names)]
        for v in options['variants']:
            cells = [options['latency'][c].get(v, {}).get('median_ms') for c in options['configs']]
            out.append(f'| {v} | ' + ' | '.join(fmt(x) for x in cells) + ' |')
    out += ['', '![latency vs GFLOPs and mAP](report.png)', '']
    return '\n'.join(out)


def seed_noise(a, b):
    """Standard error of the difference of two mean mAPs, from each model's seed-to-seed
    spread (sample standard deviation); 0 with fewer than two seeds each."""
    import statistics
    runs = [[r['mAP'] for r in t.get('runs', [])] for t in (a, b)]
    if min(len(r) for r in runs) < 2:
        return 0.0
    return sum(statistics.variance(r) / len(r) for r in runs) ** 0.5


def verdict(models):
    """One plain sentence per FasterNet model against the YOLO11 of its scale."""
    lines = []
    ref = {m['scale']: m for m in models if m['line'] == 'yolo11'}
    for m in models:
        base = ref.get(m['scale'])
        if m['line'] == 'yolo11' or base is None:
            continue
        parts, accuracy, lower, higher = [], '', [], []
        for key, name in (('eager/cpu', 'eager CPU latency'), ('fused/cpu', 'fused CPU latency'),
                          ('onnx/cpu', 'ONNX Runtime latency'), ('openvino/cpu', 'OpenVINO latency'),
                          ('onnx_int8/cpu', 'ONNX Runtime INT8 latency'),
                          ('openvino_int8/cpu', 'OpenVINO INT8 latency'),
                          ('fused/cuda', 'CUDA latency')):
            if key in m['speed'] and key in base['speed']:
                r = m['speed'][key]['median_ms'] / base['speed'][key]['median_ms'] - 1
                parts.append(f"{name} {abs(100 * r):.0f}% {'higher' if r > 0 else 'lower'}")
                (higher if r > 0 else lower).append(name.replace(' latency', ''))
        parts.append(f"{m['gflops'] / base['gflops']:.2f}x the GFLOPs")
        if m.get('train') and base.get('train'):
            d = m['train']['mAP'] - base['train']['mAP']
            noise = seed_noise(m['train'], base['train'])
            parts.append(f"bbox mAP {d:+.3f} ({m['train']['mAP']:.3f} vs {base['train']['mAP']:.3f}"
                         + (f', seed noise of the difference +-{noise:.3f})' if noise else ')'))
            accuracy = ('as accurate or better' if d >= 0 else
                        'as accurate within seed noise' if -d <= noise else 'less accurate')
        # Faster means faster in every backend measured: a user deploys one of them.
        if not higher:
            claim = f"is faster than {base['label']} on this CPU"
        elif not lower:
            claim = f"is not faster than {base['label']} on this CPU"
        else:
            claim = (f"is faster than {base['label']} on this CPU in {', '.join(lower)}, "
                     f"not in {', '.join(higher)}")
        if accuracy:
            joint = ';' if lower and higher else ' but' if accuracy == 'less accurate' else ' and'
            accuracy = f'{joint} {accuracy}'
        lines.append(f"- {m['label']} {claim}{accuracy}: " + ', '.join(parts) + '.')
    return lines


def plot(models, search_rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    with_map = [m for m in models if m.get('train')]
    fig, axes = plt.subplots(1, 2 if with_map else 1, figsize=(12 if with_map else 6.5, 5),
                             squeeze=False)
    markers = dict(yolo11='o', fasternet='s', fasternet_lite='^', fasternet_pconv='D', fasternet_merging='v')
    ax = axes[0][0]
    for r in search_rows[1:]:
        ax.scatter(r['gflops'], r['speed']['fused/cpu']['median_ms'], c='lightgray', marker='x')
    for m in models:
        ax.scatter(m['gflops'], m['speed']['fused/cpu']['median_ms'], marker=markers[m['line']],
                   s=60, label=m['label'])
        ax.annotate(m['label'], (m['gflops'], m['speed']['fused/cpu']['median_ms']),
                    fontsize=8, xytext=(4, 4), textcoords='offset points')
    ax.set_xlabel('GFLOPs (640x640)')
    ax.set_ylabel('CPU latency, fused, batch 1 (ms)')
    ax.set_title('latency vs GFLOPs' + (' (x: design search)' if search_rows else ''))
    ax.grid(alpha=0.3)
    if with_map:
        ax = axes[0][1]
        for m in with_map:
            ax.scatter(m['speed']['fused/cpu']['median_ms'], m['train']['mAP'],
                       marker=markers[m['line']], s=60)
            ax.annotate(m['label'], (m['speed']['fused/cpu']['median_ms'], m['train']['mAP']),
                        fontsize=8, xytext=(4, 4), textcoords='offset points')
        ax.set_xlabel('CPU latency, fused, batch 1 (ms)')
        ax.set_ylabel('bbox mAP50-95 (fixed recipe)')
        ax.set_title('mAP vs latency')
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        backends = list(BACKENDS) if args.worker_backends is None else args.worker_backends
        result = measure_one(args.worker, args, backends)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return result
    if args.train_only and not args.train_data:
        cli.die('--train-only needs --train-data DATA_YAML')
    if args.train_data:
        from fasternet_yolo11.datasets.yolo_dataset import load_data_config
        with cli.one_line_errors():
            load_data_config(args.train_data)  # a bad yaml fails now, not after the speed part
    os.makedirs(args.work_dir, exist_ok=True)
    log = osp.join(args.work_dir, 'report.log')
    models = []
    for scale in args.scales:
        for line in args.lines:
            pattern, label = LINES[line]
            config = osp.join(REPO, 'configs', pattern.format(scale))
            if not osp.isfile(config):
                print(f'skipped: {label.format(scale)} (no {osp.relpath(config, REPO)})')
                continue
            m = dict(config=config, label=label.format(scale), line=line, scale=scale)
            if not args.train_only:
                print(f'measuring {m["label"]} ...', flush=True)
                m.update(run_worker(config, args, args.backends, log))
            models.append(m)
        if not args.train_only:
            print(f'batch-1 latency, {args.iters} interleaved rounds ...', flush=True)
            same_scale = [m for m in models if m['scale'] == scale]
            latency = interleaved_latency([m['config'] for m in same_scale],
                                          main_variants(args.backends), args)
            for m in same_scale:
                for key, value in latency[m['config']].items():
                    m['speed'].setdefault(key, {}).update(value)
    search_rows = []
    if args.search and not args.train_only:
        quick = copy.copy(args)
        quick.batch_iters = 0  # size and training speed; latency is timed interleaved below
        entries = search_entries(args)
        print(f'design search: {len(entries)} networks, {args.iters} interleaved rounds ...',
              flush=True)
        latency = interleaved_latency(
            [c for _, c, _ in entries],
            {k: main_variants()[k] for k in ('eager/cpu', 'fused/cpu', 'onnx/cpu')}, args)
        for label, config, name in entries:
            r = run_worker(config, quick, [], log)
            r.update(label=label, speed=latency[config], placement=name)
            if args.train_data and (label in args.train_search or name in args.train_search):
                r['train'] = train_seeds(osp.basename(config)[:-3], config, args, log)
            search_rows.append(r)
    if args.search and args.train_only and args.train_search:
        for label, config, name in search_entries(args):
            if label in args.train_search or name in args.train_search:
                search_rows.append(dict(label=label, config=config, placement=name,
                                        train=train_seeds(osp.basename(config)[:-3], config,
                                                          args, log)))
    options = {}
    if args.options and not args.train_only:
        variants = dict(INFERENCE_OPTIONS)
        if args.compile:
            variants['fused, channels_last, torch.compile'] = ('fused', 'cpu', dict(compile=True))
        configs = [m['config'] for m in models if m['scale'] == 'n'] or \
            [osp.join(REPO, 'configs', LINES[line][0].format('n')) for line in args.lines]
        print(f'inference options: {len(configs)} models x {len(variants)} options, '
              f'{args.iters} interleaved rounds ...', flush=True)
        options = dict(configs=configs, variants=list(variants),
                       latency=interleaved_latency(configs, variants, args))
    if args.train_data:
        for m in models:
            if args.train_scales and m['scale'] not in args.train_scales:
                continue
            m['train'] = train_seeds(osp.basename(m['config'])[:-3], m['config'], args, log)
    if args.train_only:
        for m in models + search_rows:
            if m.get('train'):
                print(f"{m['label']}: bbox mAP {m['train']['mAP']:.3f}, mAP50 "
                      f"{m['train']['mAP50']:.3f} (mean of seeds {args.seeds}: " + ', '.join(
                          f"{r['mAP']:.3f}" for r in m['train']['runs']) + ')')
        return models, search_rows
    hw = hardware(available_devices())
    report = markdown(models, search_rows, options, args, hw)
    with open(osp.join(args.work_dir, 'report.md'), 'w') as f:
        f.write(report)
    with open(osp.join(args.work_dir, 'report.json'), 'w') as f:
        json.dump(dict(hardware=hw, models=models, search=search_rows, options=options,
                       args=vars(args)), f,
                  indent=1)
    plot(models, search_rows, osp.join(args.work_dir, 'report.png'))
    print(report)
    print(f'written: {osp.join(args.work_dir, "report.md")}, report.png, report.json')
    return models, search_rows


if __name__ == '__main__':
    cli.start()
    main()
