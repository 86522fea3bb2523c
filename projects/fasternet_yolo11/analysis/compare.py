"""The comparison report's measurements (``tools/analysis_tools/compare_report.py``): one model's size,
throughput, memory and training speed; batch-1 latency of several models in interleaved rounds;
training a network with a fixed recipe on a data set (through ``tools/train.py``, once per seed,
reused when its generated config is unchanged); the search's generated configs.

``args`` is the report's parsed command line (any object with its attributes).
"""
import copy
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

from ..config.loading import REPO_ROOT, load_config
from ..deploy.detector import init_model
from ..deploy.runtimes import SPEED_BACKENDS, runtime_of
from ..deploy.speed_runners import build_file_runner, build_runner
from ..errors import UserError
from .logs import find_scalars, read_scalars
from .spaces import LINES, PCONV, SEARCH_SPACE, placement_space
from .timing import available_devices, time_interleaved, time_it


# ---------------------------------------------------------------- one model (the report runs it in its own process)
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
    cfg = load_config(config)
    model = init_model(cfg)
    with tempfile.TemporaryDirectory() as tmpdir:
        for device in available_devices():
            sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
            for backend in backends if args.batch_iters else ():
                make = build_runner(model, cfg, backend, device, size, PCONV[backend], out['threads'], tmpdir)
                if make is None:
                    continue
                if device == 'cuda':
                    torch.cuda.reset_peak_memory_stats()
                bmed = time_it(make(args.batch), args.batch_iters, 1, sync)[0]
                out['speed'][f'{backend}/{device}'] = dict(throughput=args.batch * 1e3 / bmed)
                if device == 'cuda':
                    out['speed'][f'{backend}/{device}']['peak_mib'] = \
                        torch.cuda.max_memory_allocated() / 2**20
                if backend == 'pytorch' and device == 'cpu':
                    # Before ONNX Runtime and training, so it is PyTorch inference alone.
                    out['infer_peak_rss_mib'] = peak_rss_mb()[0]
    del model
    if args.train_iters:
        cfg = load_config(config)
        cfg.train_dataloader.batch_size = args.batch
        cfg.optim_wrapper.optimizer.batch_size_per_gpu = args.batch
        r = train_measure(cfg, args.train_iters, 1, synthetic=True, img_size=args.img_size)
        out.update(train_images_per_s=r['images_per_s'], train_peak_rss_mib=r['peak_rss_mb'])
    return out


def interleaved_latency(configs, variants, args, references=None):
    """Batch-1 latency (ms: median, min, max) of every config x variant: per variant, the configs
    timed in ``--iters`` interleaved rounds after ``--warmup`` runs (``time_interleaved``: a slow
    spell of the machine touches all of them alike). One variant at a time, so that no other
    runtime's thread pool (OpenVINO's, torch's) is still spinning while one is timed: the
    comparison that matters is between models in the same backend. ONNX Runtime's sessions run
    without spinning (``ort_session``): within a variant its sessions take turns too.

    ``variants``: {key: (backend, device, build_runner() keyword arguments)}. ``references``:
    {label: ONNX file} made elsewhere (e.g. Ultralytics' own export), timed in the same rounds in
    the variants of an exported runtime.
    Returns {config or label: {key: {median_ms, min_ms, max_ms}}}."""
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    size = (args.img_size, args.img_size)
    calls = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        for config in configs:
            cfg = load_config(config)
            model = init_model(cfg)
            for key, (backend, device, kwargs) in variants.items():
                kwargs = dict(kwargs, ort_spinning=False)
                pconv = kwargs.pop('pconv', PCONV[backend])
                make = build_runner(model, cfg, backend, device, size, pconv, torch.get_num_threads(), tmpdir,
                                    **kwargs)
                if make is not None:
                    calls[(config, key)] = make(1)
        for label, path in (references or {}).items():
            for key, (backend, device, kwargs) in variants.items():
                if runtime_of(backend) == 'pytorch' or set(kwargs) - {'ort_opt'}:
                    continue
                try:
                    make = build_file_runner(path, backend, device, size, torch.get_num_threads(), tmpdir,
                                             ort_spinning=False, **kwargs)
                except Exception as err:  # noqa: BLE001  (a graph made elsewhere that ORT's quantizer cannot read)
                    if not backend.endswith('_int8'):
                        raise
                    print(f'{label}: not timed in {backend} ({type(err).__name__}: {str(err).splitlines()[0]})',
                          flush=True)
                    continue
                if make is not None:
                    calls[(label, key)] = make(1)
        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
        times = {}
        for key in variants:
            times.update(time_interleaved({ck: fn for ck, fn in calls.items() if ck[1] == key},
                                          args.iters, args.warmup, sync))
    out = {name: {} for name in list(configs) + list(references or {})}
    for (config, key), (med, lo, hi) in times.items():
        out[config][key] = dict(median_ms=med, min_ms=lo, max_ms=hi)
    return out


def main_variants(backends=SPEED_BACKENDS):
    """The backends of the main table, on every device: {'backend/device': ...}."""
    return {f'{b}/{d}': (b, d, {}) for d in available_devices() for b in backends}


# ---------------------------------------------------------------- training on a dataset
def training_config(config, recipe, data_yaml):
    """``recipe`` (data pipeline, schedule, seed) with ``config``'s network and ``data_yaml``'s
    data and classes."""
    from ..config.run_settings import apply_run_settings
    cfg = load_config(recipe)
    cfg.model = copy.deepcopy(load_config(config).model)
    apply_run_settings(cfg, data_yaml=osp.abspath(data_yaml))
    return cfg


def train_one(name, config, args, log, seed=0, train_args=(), threads=None):
    """Train ``config``'s network with the recipe on ``--train-data`` with ``seed`` (``train_args``:
    more ``tools/train.py`` flags, e.g. ``--weights``; ``threads``: its OMP_NUM_THREADS, e.g. 1 for
    two runs side by side on two cores); reuse a finished run of the same generated config and
    flags. Returns dict(mAP, mAP50, epoch, minutes, ...): the best validation, and for an
    end-to-end head (YOLO26) also the one-to-many branch with NMS on that checkpoint
    (``mAP_one2many``, ``mAP50_one2many``)."""
    work_dir = osp.join(args.work_dir, 'train', name, f'seed{seed}')
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, 'config.py')
    cfg = training_config(config, args.train_recipe, args.train_data)
    cfg.randomness = dict(seed=seed)
    cfg.dump(cfg_path)
    with open(cfg_path, 'rb') as f:
        digest = hashlib.sha256(f.read() + ' '.join(train_args).encode()).hexdigest()
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
        env = dict(os.environ, **({'OMP_NUM_THREADS': str(threads)} if threads else {}))
        proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), cfg_path,
                               '--work-dir', work_dir, *train_args], stdout=f, stderr=subprocess.STDOUT, env=env)
    if proc.returncode:
        raise UserError(f'training {name} failed (exit {proc.returncode}); see {log}')
    scalars = find_scalars(work_dir)
    _, val = read_scalars(scalars)  # the newest run's validation rows
    best = max(val, key=lambda row: row['coco/bbox_mAP'])
    result = dict(mAP=best['coco/bbox_mAP'], mAP50=best['coco/bbox_mAP_50'],
                  epoch=best.get('step'), minutes=(time.time() - t0) / 60,
                  epochs=cfg.train_cfg.max_epochs, seed=seed, config_sha256=digest,
                  train_args=list(train_args))
    if 'end2end' in cfg.model.get('test_cfg', {}):
        result.update(evaluate_one2many(cfg_path, work_dir, log, env))
    tmp = result_path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(result, f)
    os.replace(tmp, result_path)
    return result


def evaluate_one2many(cfg_path, work_dir, log, env=None):
    """``tools/test.py --one2many`` on the run's best checkpoint: the one-to-many branch with NMS."""
    import glob
    best = sorted(glob.glob(osp.join(work_dir, 'best_coco_bbox_mAP_epoch_*.pth')))[-1]
    with open(log, 'a') as f:
        proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'test.py'), cfg_path, best, '--one2many',
                               '--work-dir', osp.join(work_dir, 'one2many')], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
        f.write(proc.stdout)
    if proc.returncode:
        raise UserError(f'evaluating {best} with --one2many failed (exit {proc.returncode}); see {log}')
    line = [ln for ln in proc.stdout.splitlines() if 'bbox_mAP_copypaste' in ln][-1]
    mAP, mAP50 = (float(v) for v in line.split('copypaste:')[1].split()[:2])
    return dict(mAP_one2many=mAP, mAP50_one2many=mAP50)


def train_seeds(name, config, args, log, train_args=()):
    """``train_one`` for every ``--seeds``; mAP and mAP50 (and the one-to-many ones of an
    end-to-end head) are the means, ``runs`` each seed's."""
    runs = [train_one(name, config, args, log, seed, train_args) for seed in args.seeds]
    out = dict(minutes=sum(r['minutes'] for r in runs) / len(runs), epochs=runs[0]['epochs'], runs=runs)
    for key in ('mAP', 'mAP50', 'mAP_one2many', 'mAP50_one2many'):
        if all(key in r for r in runs):
            out[key] = sum(r[key] for r in runs) / len(runs)
    return out


# ---------------------------------------------------------------- the design search
def search_config(name, backbone_kwargs, work_dir, line='yolo11'):
    """A config file for one search point: YOLO11n-FasterNet (``line`` yolo26: YOLO26n-FasterNet)
    with another backbone."""
    cfg = load_config(osp.join(REPO_ROOT, 'configs', f'{line}n_fasternet_coco.py'))
    backbone = dict(cfg.model.backbone, widen_factor=None)
    backbone.update(backbone_kwargs)
    cfg.model.backbone = backbone  # the detector passes its widths to the neck
    path = osp.join(work_dir, 'search', line + '_' + ''.join(c if c.isalnum() else '_' for c in name) + '.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    dump_unformatted(cfg, path)
    return path


def placement_config(name, base, override, scale, work_dir):
    """A config file for one placement point: ``base`` at ``scale`` with the model override."""
    cfg = load_config(osp.join(REPO_ROOT, 'configs', base.format(scale)))
    cfg.merge_from_dict(dict(model=copy.deepcopy(override)))
    path = osp.join(work_dir, 'search', base.format(scale).split('_')[0] + f'_faster_{name}.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    dump_unformatted(cfg, path)
    return path


def dump_unformatted(cfg, path):
    """``cfg.dump(path)`` without yapf, which takes ~1.5 s per config (the search writes dozens)."""
    from mmengine.config import Config
    Config(cfg.to_dict(), format_python_code=False).dump(path)


def search_entries(args):
    """[(label, config, placement name or None)] of the search on ``args.search_line``, that line's
    own model (the reference) first."""
    scale, line = args.search_scale, args.search_line
    pattern, label = LINES[line]
    entries = [(label.format(scale), osp.join(REPO_ROOT, 'configs', pattern.format(scale)), None)]
    if 'fasternet' in args.search_set and scale == 'n':
        entries += [(name, search_config(name, kwargs, args.work_dir, line), None)
                    for name, kwargs in SEARCH_SPACE.items()]
    if 'placement' in args.search_set:
        for label, (name, base, override) in placement_space(line=line).items():
            if args.search_names is not None and name not in args.search_names:
                continue
            if not osp.isfile(osp.join(REPO_ROOT, 'configs', base.format(scale))):
                print(f'skipped: {label} (no {base.format(scale)})')
                continue
            entries.append((label, placement_config(name, base, override, scale, args.work_dir),
                            name))
    return entries
