"""YOLO11 against YOLO11-FasterNet in one command: a markdown table and a PNG in a work dir.

    python tools/analysis_tools/compare_report.py --scales n s --work-dir work_dirs/compare
    python tools/analysis_tools/compare_report.py --scales n --search \\
        --train-data data/fire_demo/fire_demo.yaml          # + design search, + mAP

For every requested scale and model line (``--lines``; default: ``yolo11``, ``fasternet`` = the
reference YAML's T0 line, ``fasternet_lite`` = the FasterNet-lite backbone, ``fasternet_pconv`` = YOLO11
with FasterNet blocks in the neck and PConv in the head, ``down2x2`` = YOLO11 with 2x2 stride-2
downsampling convs; ``fasternet_yolo11/analysis/spaces.py``) the COCO config
``configs/yolo11{scale}{line}_coco.py`` is measured in its own process (so that peak memory is
that model's): parameters, MACs and Ultralytics-convention GFLOPs (2 x MACs) at ``--img-size``;
throughput at ``--batch`` for PyTorch as trained, its deploy form (Conv+BN fused, PConv slicing,
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
PConv ratio, MLP ratio; how the ``lite`` line was chosen) and where FasterNet's ideas go in YOLO11
(``configs/_search_/placements.py``: C3k2-Faster in the backbone, the neck or both, the C3k variant,
PConv or depthwise convs in the head, 2x2 downsampling, ReLU, combinations) against YOLO11 of
``--search-scale`` (n; ``s`` runs the placement set only, to confirm it), PyTorch as trained, its
deploy form and ONNX Runtime at batch 1 in the same interleaved rounds, with params, GFLOPs and
training images/s. ``--search-set`` picks the
sets and ``--search-names`` some placements of it (e.g. the best of n, confirmed at s);
``--train-search NAME ...`` (with ``--train-data``) also trains those search points, seeds as
the main models, and adds their mAP to the search table (with ``--train-only``: trains only,
``--lines`` with no names leaving the main lines out).

``--backends`` are the main table's columns: ``pytorch``, ``pytorch_deploy``, ``onnxruntime``,
``openvino`` and both exported runtimes in INT8 (``deploy/speed_runners.py``).

Writes ``report.md``, ``report.png`` and ``report.json`` into ``--work-dir``. The measurements are
``fasternet_yolo11/analysis/compare.py``, the rendering and verdict ``analysis/report.py``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile

from fasternet_yolo11.analysis.compare import (
    interleaved_latency,
    main_variants,
    measure_one,
    search_entries,
    train_seeds,
)
from fasternet_yolo11.analysis.report import markdown, plot
from fasternet_yolo11.analysis.spaces import INFERENCE_OPTIONS, LINES, SEARCH_LINES, placement_space
from fasternet_yolo11.analysis.timing import available_devices, hardware
from fasternet_yolo11.datasets.yolo_dataset import load_data_config
from fasternet_yolo11.deploy.runtimes import SPEED_BACKENDS
from fasternet_yolo11.errors import UserError
from fasternet_yolo11.utils import cli
from fasternet_yolo11.utils.cli import REPO_ROOT


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--scales', nargs='+', default=['n', 's'], choices=list('nsmlx'))
    p.add_argument('--lines', nargs='*', default=list(LINES), choices=list(LINES),
                   help='model lines of the main table (none: only the search)')
    p.add_argument('--backends', nargs='+', default=list(SPEED_BACKENDS), choices=list(SPEED_BACKENDS),
                   help='backends of the main table (the search always times pytorch, pytorch_deploy, onnxruntime)')
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
    p.add_argument('--search-line', default='yolo11', choices=list(SEARCH_LINES),
                   help='the line the search changes: YOLO11, or YOLO26 (its head and neck)')
    p.add_argument('--search-scale', default='n', choices=list('nsmlx'),
                   help='scale of the placement search (the FasterNet designs are n only)')
    p.add_argument('--search-names', nargs='+', default=None, metavar='NAME',
                   choices=sorted(name for name, _, _ in placement_space().values()),
                   help='with --search: only these placement candidates (names in '
                   'configs/_search_/placements.py), e.g. to confirm the best at s')
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
    p.add_argument('--train-recipe', default=osp.join(REPO_ROOT, 'configs/_base_/fire_demo.py'),
                   help='config whose data pipeline and schedule every model is trained with')
    p.add_argument('--train-only', action='store_true',
                   help='with --train-data: only train (cached in the work dir) and print the '
                   'mAP; a later run without it measures speed and reuses those runs')
    p.add_argument('--reference-onnx', nargs='+', default=[], metavar='LABEL=PATH',
                   help='ONNX files made elsewhere (e.g. Ultralytics\' own export, input `images` at --img-size) '
                   'timed in the same rounds as the --reference-scale models, in the exported backends')
    p.add_argument('--reference-scale', default='n', choices=list('nsmlx'))
    p.add_argument('--baseline', default='yolo11', choices=list(LINES),
                   help='the line each verdict sentence compares with (of the same scale)')
    p.add_argument('--worker', default=None, help=argparse.SUPPRESS)  # internal: one config
    p.add_argument('--worker-out', default=None, help=argparse.SUPPRESS)
    p.add_argument('--worker-backends', nargs='*', default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


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
        raise UserError(f'measuring {config} failed (exit {proc.returncode}); see {log}')
    with open(out_json) as f:
        result = json.load(f)
    os.unlink(out_json)
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        backends = list(SPEED_BACKENDS) if args.worker_backends is None else args.worker_backends
        result = measure_one(args.worker, args, backends)
        with open(args.worker_out, 'w') as f:
            json.dump(result, f)
        return result
    if args.train_only and not args.train_data:
        cli.die('--train-only needs --train-data DATA_YAML')
    for ref in args.reference_onnx:
        if '=' not in ref or not osp.isfile(ref.split('=', 1)[1]):
            cli.die(f'--reference-onnx {ref!r}: give LABEL=PATH of an existing ONNX file')
    if args.train_data:
        load_data_config(args.train_data)  # a bad yaml fails now, not after the speed part
    os.makedirs(args.work_dir, exist_ok=True)
    log = osp.join(args.work_dir, 'report.log')
    models = []
    for scale in args.scales:
        for line in args.lines:
            pattern, label = LINES[line]
            config = osp.join(REPO_ROOT, 'configs', pattern.format(scale))
            if not osp.isfile(config):
                print(f'skipped: {label.format(scale)} (no {osp.relpath(config, REPO_ROOT)})')
                continue
            m = dict(config=config, label=label.format(scale), line=line, scale=scale)
            if not args.train_only:
                print(f'measuring {m["label"]} ...', flush=True)
                m.update(run_worker(config, args, args.backends, log))
            models.append(m)
        if not args.train_only:
            print(f'batch-1 latency, {args.iters} interleaved rounds ...', flush=True)
            same_scale = [m for m in models if m['scale'] == scale]
            references = dict(r.split('=', 1) for r in args.reference_onnx) if scale == args.reference_scale else {}
            latency = interleaved_latency([m['config'] for m in same_scale],
                                          main_variants(args.backends), args, references)
            for m in same_scale:
                for key, value in latency[m['config']].items():
                    m['speed'].setdefault(key, {}).update(value)
            models += [dict(config=path, label=label, line='reference', scale=scale, speed=latency[label])
                       for label, path in references.items()]
    search_rows = []
    if args.search and not args.train_only:
        quick = copy.copy(args)
        quick.batch_iters = 0  # size and training speed; latency is timed interleaved below
        entries = search_entries(args)
        print(f'design search: {len(entries)} networks, {args.iters} interleaved rounds ...',
              flush=True)
        latency = interleaved_latency(
            [c for _, c, _ in entries],
            {k: main_variants()[k] for k in ('pytorch/cpu', 'pytorch_deploy/cpu', 'onnxruntime/cpu')}, args)
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
            variants['deploy form, channels_last, torch.compile'] = ('pytorch_deploy', 'cpu', dict(compile=True))
        configs = [m['config'] for m in models if m['scale'] == 'n'] or \
            [osp.join(REPO_ROOT, 'configs', LINES[line][0].format('n')) for line in args.lines]
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
    drawn = plot(models, search_rows, osp.join(args.work_dir, 'report.png'))
    report = markdown(models, search_rows, options, args, hw, figure=drawn)
    with open(osp.join(args.work_dir, 'report.md'), 'w') as f:
        f.write(report)
    with open(osp.join(args.work_dir, 'report.json'), 'w') as f:
        json.dump(dict(hardware=hw, models=models, search=search_rows, options=options,
                       args=vars(args)), f,
                  indent=1)
    print(report)
    print(f'written: {osp.join(args.work_dir, "report.md")}' + (', report.png' if drawn else '') + ', report.json')
    return models, search_rows


if __name__ == '__main__':
    cli.main(main)
