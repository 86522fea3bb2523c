"""Speed of one or more detectors on PyTorch eager, PyTorch deploy (Conv+BN fused, PConv
slicing) and ONNX Runtime, on CPU and on CUDA when present.

    python tools/analysis_tools/benchmark.py configs/yolo11n_coco.py \\
        configs/yolo11n_fasternet_coco.py [--checkpoint CKPT ...] [--img-size 640] \\
        [--batch 8] [--iters 50] [--warmup 10] [--backends eager fused onnx] \\
        [--devices cpu cuda] [--threads N] [--pconv slicing|split_cat]
        [--memory-format channels_last|contiguous] [--compile]
        [--ort-opt disable|basic|extended|all] [--out bench.md]

Measures the network (image tensor -> head outputs), not decoding/NMS, the same on all
backends: latency at batch 1 (median and min-max over ``--iters`` runs after ``--warmup``) and
throughput at batch ``--batch`` (images/s from the median). Random weights unless checkpoints
are given (speed does not depend on them). Prints the hardware and thread count, then a
markdown table (also written to ``--out``).

``eager`` is the model as trained; ``fused`` is its deploy form (``tools/test.py --deploy``:
Conv+BN fused, PConv slicing, channels_last weights). The inference options, each measured
before/after by the comparison report (the README's "Fast inference path"): ``--pconv`` picks
FasterNet's PConv forward in the fused/ONNX backends; ``--memory-format`` overrides the layout
of both PyTorch backends; ``--compile`` wraps them in ``torch.compile`` (inductor; the first
call compiles, the warm-up absorbs it); ``--ort-opt`` sets ONNX Runtime's graph optimisation
level (default ``all``, ORT's own default).
"""
import argparse
import copy
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tools import _bootstrap  # noqa: E402

BACKENDS = ('eager', 'fused', 'onnx')
ORT_LEVELS = dict(disable='ORT_DISABLE_ALL', basic='ORT_ENABLE_BASIC',
                  extended='ORT_ENABLE_EXTENDED', all='ORT_ENABLE_ALL')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--checkpoint', nargs='*', default=None,
                   help='one per config (in order); default: random weights')
    p.add_argument('--img-size', type=int, nargs='+', default=[640], help='H [W]')
    p.add_argument('--batch', type=int, default=8, help='batch size of the throughput run')
    p.add_argument('--iters', type=int, default=50)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--backends', nargs='+', choices=BACKENDS, default=list(BACKENDS))
    p.add_argument('--devices', nargs='+', choices=('cpu', 'cuda'), default=None,
                   help='default: cpu, and cuda when available')
    p.add_argument('--threads', type=int, default=None,
                   help='intra-op threads for torch and ONNX Runtime (default: torch default)')
    p.add_argument('--pconv', choices=('slicing', 'split_cat'), default='slicing',
                   help='PConv forward of the fused and ONNX backends')
    p.add_argument('--memory-format', choices=('channels_last', 'contiguous'), default=None,
                   help='layout of the PyTorch backends (default: eager contiguous, fused '
                   'channels_last, as deployed)')
    p.add_argument('--compile', action='store_true', help='torch.compile the PyTorch backends')
    p.add_argument('--ort-opt', choices=tuple(ORT_LEVELS), default='all',
                   help='ONNX Runtime graph optimisation level (default: all)')
    p.add_argument('--out', default=None, help='also write the markdown table here')
    return p.parse_args(argv)


def hardware(devices):
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
    except (OSError, StopIteration):
        pass
    lines = [f'CPU: {cpu}, {os.cpu_count()} logical cores; torch {torch.__version__}, '
             f'{torch.get_num_threads()} intra-op threads']
    if 'cuda' in devices:
        lines.append(f'GPU: {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})')
    try:
        import onnxruntime as ort
        lines.append(f'onnxruntime {ort.__version__} ({", ".join(ort.get_available_providers())})')
    except ImportError:
        pass
    return lines


def time_it(fn, iters, warmup, sync=lambda: None):
    """Milliseconds per call: (median, min, max) over ``iters`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), max(times)


def runners(model, backend, device, img_hw, pconv, threads, tmpdir, channels_last=None,
            compile=False, ort_opt='all'):
    """A callable(batch) -> callable() running one forward of ``backend`` on a fixed random
    batch and returning its raw outputs; None when the backend cannot run on ``device``
    (ONNX Runtime without its CUDA provider). ``channels_last`` None keeps each PyTorch
    backend's own layout (eager NCHW, fused NHWC)."""
    import torch

    from projects.fasternet_yolo11.deploy import RawOutputs, fuse_conv_bn, set_pconv_mode
    net = copy.deepcopy(model).eval()
    if backend != 'eager':
        fuse_conv_bn(net)
        set_pconv_mode(net, pconv)
    net = RawOutputs(net)
    if backend in ('eager', 'fused'):
        if channels_last is None:
            channels_last = backend == 'fused'
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        net = net.to(device, memory_format=fmt)
        if compile:
            net = torch.compile(net)

        def make(batch):
            x = torch.rand(batch, 3, *img_hw, device=device).contiguous(memory_format=fmt)

            def run():
                with torch.no_grad():
                    return net(x)
            return run
        return make
    import onnxruntime as ort
    if device == 'cuda' and 'CUDAExecutionProvider' not in ort.get_available_providers():
        return None
    path = osp.join(tmpdir, f'model_{len(os.listdir(tmpdir))}.onnx')
    outputs = [f'out{i}' for i in range(6)]
    with torch.no_grad():
        torch.onnx.export(net, (torch.zeros(1, 3, *img_hw),), path, dynamo=False,
                          opset_version=17, input_names=['images'], output_names=outputs,
                          dynamic_axes={n: {0: 'batch'} for n in ['images'] + outputs})
    opts = ort.SessionOptions()
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ORT_LEVELS[ort_opt])
    if threads:
        opts.intra_op_num_threads = threads
    providers = ['CUDAExecutionProvider'] if device == 'cuda' else ['CPUExecutionProvider']
    sess = ort.InferenceSession(path, opts, providers=providers)

    def make(batch):
        x = torch.rand(batch, 3, *img_hw).numpy()
        return lambda: sess.run(None, {'images': x})
    return make


def memory_format(name):
    """--memory-format -> the ``channels_last`` argument of :func:`runners`."""
    return None if name is None else name == 'channels_last'


def benchmark(args):
    """Returns (hardware lines, rows); a row is a dict per (config, backend, device)."""
    import torch
    from mmdet.apis import init_detector
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (['cpu', 'cuda'] if torch.cuda.is_available() else ['cpu'])
    if 'cuda' in devices and not torch.cuda.is_available():
        _bootstrap.die('--devices cuda given but torch sees no CUDA device')
    ckpts = args.checkpoint or [None] * len(args.configs)
    if len(ckpts) != len(args.configs):
        _bootstrap.die('give one --checkpoint per config')
    img_hw = (args.img_size * 2)[:2]
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for config, ckpt in zip(args.configs, ckpts):
            cfg = _bootstrap.load_config(config)
            _bootstrap.check_checkpoint(ckpt)
            with _bootstrap.one_line_errors():
                model = init_detector(cfg, ckpt, device='cpu')
            for device in devices:
                sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
                for backend in args.backends:
                    # ONNX Runtime gets torch's thread count, so that the rows compare.
                    make = runners(model, backend, device, img_hw, args.pconv,
                                   args.threads or torch.get_num_threads(), tmpdir,
                                   memory_format(args.memory_format), args.compile,
                                   args.ort_opt)
                    if make is None:
                        print(f'skipped: {backend} on {device} (no CUDA provider)')
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
           f'{threads} threads, PConv {args.pconv} in the fused/ONNX backends, '
           f'ORT optimisation {args.ort_opt}'
           + (f", PyTorch with {' and '.join(extras)}" if extras else '') + '.', '']
    out += [f'- {line}' for line in hw] + ['']
    out.append(f'| model | weights | backend | device | batch 1 latency ms, median (min-max) '
               f'| batch {args.batch} throughput img/s |')
    out.append('|---|---|---|---|---|---|')
    names = dict(eager='PyTorch eager', fused='PyTorch deploy (fused)', onnx='ONNX Runtime')
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
    main()
