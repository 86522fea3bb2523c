"""Speed of one or more detectors in every backend: PyTorch as trained, its deploy form, ONNX Runtime
and OpenVINO (fp32 and INT8), on CPU and on CUDA when present (OpenVINO and INT8: CPU only).

    python tools/analysis_tools/benchmark.py configs/yolo11n_coco.py \\
        configs/yolo11n_fasternet_coco.py [--checkpoint CKPT ...] [--img-size 640] \\
        [--batch 8] [--iters 50] [--warmup 10] \\
        [--backends pytorch pytorch_deploy onnxruntime openvino onnxruntime_int8 openvino_int8] \\
        [--devices cpu cuda] [--threads N] [--pconv slicing|split_cat]
        [--memory-format channels_last|contiguous] [--compile]
        [--ort-opt disable|basic|extended|all] [--out bench.md]

Measures the network (image tensor -> head outputs), not decoding/NMS, the same on all
backends: latency at batch 1 (median and min-max over ``--iters`` runs after ``--warmup``) and
throughput at batch ``--batch`` (images/s from the median). Random weights unless checkpoints
are given (speed does not depend on them). Prints the hardware and thread count, then a
markdown table (also written to ``--out``).

``pytorch`` is the model as trained; ``pytorch_deploy`` its deploy form (``tools/test.py
--deploy``: Conv+BN fused, PConv slicing, channels_last weights); ``onnxruntime`` and
``openvino`` run the graph ``export_onnx.py --mode raw`` writes (OpenVINO: CPU, latency hint,
fp32); the ``_int8`` backends run that file quantized (ONNX Runtime QDQ, resp. NNCF; calibrated
on random inputs: speed only; ``fasternet_yolo11/deploy/speed_runners.py``). The inference
options: ``--pconv`` picks FasterNet's PConv forward in the deploy-form and exported backends;
``--memory-format`` overrides the layout of both PyTorch backends; ``--compile`` wraps them in
``torch.compile`` (the warm-up absorbs the compilation); ``--ort-opt`` sets ONNX Runtime's graph
optimisation level (default ``all``, ORT's own default).
"""
import argparse
import os
import os.path as osp
import tempfile

from fasternet_yolo11.analysis.timing import available_devices, hardware, time_it
from fasternet_yolo11.deploy.detector import init_model
from fasternet_yolo11.deploy.runtimes import CPU_ONLY, ORT_LEVELS, SPEED_BACKENDS
from fasternet_yolo11.deploy.speed_runners import build_runner
from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--checkpoint', nargs='*', default=None,
                   help='one per config (in order); default: random weights')
    p.add_argument('--img-size', type=int, nargs='+', default=[640], help='H [W]')
    p.add_argument('--batch', type=int, default=8, help='batch size of the throughput run')
    p.add_argument('--iters', type=int, default=50)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--backends', nargs='+', choices=SPEED_BACKENDS, default=list(SPEED_BACKENDS))
    p.add_argument('--devices', nargs='+', choices=('cpu', 'cuda'), default=None,
                   help='default: cpu, and cuda when available')
    p.add_argument('--threads', type=int, default=None,
                   help='intra-op threads for torch, ONNX Runtime and OpenVINO (default: torch default)')
    p.add_argument('--pconv', choices=('slicing', 'split_cat'), default='slicing',
                   help='PConv forward of the deploy-form and exported backends')
    p.add_argument('--memory-format', choices=('channels_last', 'contiguous'), default=None,
                   help='layout of the PyTorch backends (default: as trained contiguous, deploy form '
                   'channels_last, as deployed)')
    p.add_argument('--compile', action='store_true', help='torch.compile the PyTorch backends')
    p.add_argument('--ort-opt', choices=tuple(ORT_LEVELS), default='all',
                   help='ONNX Runtime graph optimisation level (default: all)')
    p.add_argument('--out', default=None, help='also write the markdown table here')
    return p.parse_args(argv)


def memory_format(name):
    """--memory-format -> the ``channels_last`` argument of :func:`build_runner`."""
    return None if name is None else name == 'channels_last'


def benchmark(args):
    """Returns (hardware lines, rows); a row is a dict per (config, backend, device)."""
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or available_devices()
    if 'cuda' in devices and not torch.cuda.is_available():
        cli.die('--devices cuda given but torch sees no CUDA device')
    ckpts = args.checkpoint or [None] * len(args.configs)
    if len(ckpts) != len(args.configs):
        cli.die('give one --checkpoint per config')
    img_hw = (args.img_size * 2)[:2]
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for config, ckpt in zip(args.configs, ckpts):
            cfg = cli.load_config(config)
            cli.check_file(ckpt, 'checkpoint')
            model = init_model(cfg, ckpt)
            for device in devices:
                sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
                for backend in args.backends:
                    # ONNX Runtime gets torch's thread count, so that the rows compare.
                    make = build_runner(model, cfg, backend, device, img_hw, args.pconv,
                                        args.threads or torch.get_num_threads(), tmpdir,
                                        memory_format(args.memory_format), args.compile, args.ort_opt)
                    if make is None:
                        print(f'skipped: {backend} on {device} ('
                              + ('CPU only' if backend in CPU_ONLY else 'no CUDA provider') + ')')
                        continue
                    med, lo, hi = time_it(make(1), args.iters, args.warmup, sync)
                    bmed, _, _ = time_it(make(args.batch), args.iters, args.warmup, sync)
                    rows.append(dict(model=osp.splitext(osp.basename(config))[0],
                                     weights='checkpoint' if ckpt else 'random',
                                     backend=backend, device=device, median=med, min=lo, max=hi,
                                     batch=args.batch, throughput=args.batch * 1e3 / bmed))
                    print(f"{rows[-1]['model']} {backend}/{device}: {med:.2f} ms "
                          f"({lo:.2f}-{hi:.2f}), batch {args.batch}: "
                          f"{rows[-1]['throughput']:.1f} img/s", flush=True)
    return hardware(devices), rows


def markdown(hw, rows, args):
    import torch
    threads = args.threads or torch.get_num_threads()
    h, w = (args.img_size * 2)[:2]
    extras = [name for name, on in (('all ' + str(args.memory_format), args.memory_format),
                                    ('torch.compile', args.compile)) if on]
    out = [f'Input {h}x{w}, {args.warmup} warm-up + {args.iters} timed runs, '
           f'{threads} threads, PConv {args.pconv} in the deploy-form and exported backends, '
           f'ORT optimisation {args.ort_opt}'
           + (f", PyTorch with {' and '.join(extras)}" if extras else '') + '.', '']
    out += [f'- {line}' for line in hw] + ['']
    out.append(f'| model | weights | backend | device | batch 1 latency ms, median (min-max) '
               f'| batch {args.batch} throughput img/s |')
    out.append('|---|---|---|---|---|---|')
    names = dict(pytorch='PyTorch', pytorch_deploy='PyTorch deploy form', onnxruntime='ONNX Runtime',
                 openvino='OpenVINO', onnxruntime_int8='ONNX Runtime INT8', openvino_int8='OpenVINO INT8')
    for r in rows:
        out.append(f"| {r['model']} | {r['weights']} | {names[r['backend']]} | {r['device']} | "
                   f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f}) | {r['throughput']:.1f} |")
    return '\n'.join(out) + '\n'


def main(argv=None):
    args = parse_args(argv)
    hw, rows = benchmark(args)
    table = markdown(hw, rows, args)
    print()
    print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(table)
    return rows


if __name__ == '__main__':
    cli.main(main)
