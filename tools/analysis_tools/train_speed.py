"""Training speed of a config: images/s, data time against iteration time, peak memory.

    python tools/analysis_tools/train_speed.py configs/yolo11n_fasternet_fire.py \\
        [--iters 10] [--warmup 2] [--batch 8] [--workers N] [--threads N] [--cfg-options ...]
    python tools/analysis_tools/train_speed.py CONFIG --synthetic   # the model alone, no data
    python tools/analysis_tools/train_speed.py CONFIG --channels-last   # the NHWC training path

Runs real training iterations (``model.train_step``: data preprocessor, forward, loss, backward,
optimizer step) on the config's own train dataloader (dataset, pipeline, batch size and
``num_workers`` as configured, or ``--batch``/``--workers``), and reports per iteration the
median time spent waiting for data (``data_time``, as mmengine logs it) and the median iteration
time, the training throughput in images/s and the peak resident memory of the main process and
of the largest dataloader worker. ``--synthetic`` feeds random batches instead (uint8 images,
three boxes per image) to measure the model alone. Weights are random and are not saved.
"""
import argparse
import glob
import os
import os.path as osp
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tools import _bootstrap  # noqa: E402


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--iters', type=int, default=10, help='timed iterations')
    p.add_argument('--warmup', type=int, default=2, help='untimed iterations first')
    p.add_argument('--batch', type=int, default=None, help='default: the config batch size')
    p.add_argument('--workers', type=int, default=None, help='default: the config num_workers')
    p.add_argument('--img-size', type=int, default=640, help='--synthetic only: square input')
    p.add_argument('--synthetic', action='store_true', help='random batches, no dataloader')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads')
    p.add_argument('--channels-last', action='store_true',
                   help='train in channels_last, as tools/train.py --channels-last')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def peak_rss_mb():
    """(this process, its largest child) peak resident set size in MiB: the children (the
    dataloader workers) are read while alive from /proc (VmHWM), finished ones from rusage."""
    children = [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]  # KiB on Linux
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != os.getpid():
                continue
            with open(stat[:-4] + 'status') as f:
                children += [int(line.split()[1]) for line in f if line.startswith('VmHWM:')]
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, max(children) / 1024


def synthetic_batches(batch, img_size, num_classes, seed=0):
    """Endless training batches shaped as ``yolov5_collate`` makes them: uint8 images
    (B, 3, S, S) and ``bboxes_labels`` (B*3, 6) = (image index, class, x1, y1, x2, y2)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    while True:
        xy = torch.rand(batch * 3, 2, generator=g) * img_size * 0.7
        wh = torch.rand(batch * 3, 2, generator=g) * img_size * 0.25 + 8
        labels = torch.randint(0, num_classes, (batch * 3, 1), generator=g).float()
        index = torch.arange(batch).repeat_interleave(3)[:, None].float()
        yield dict(inputs=torch.randint(0, 256, (batch, 3, img_size, img_size), dtype=torch.uint8,
                                        generator=g),
                   data_samples=dict(bboxes_labels=torch.cat([index, labels, xy, xy + wh], 1)))


def measure(cfg, iters=10, warmup=2, synthetic=False, img_size=640, channels_last=False):
    """Time ``warmup + iters`` training steps of ``cfg`` (a loaded Config; its train
    dataloader is used unless ``synthetic``). Returns a dict of medians and memory."""
    import torch
    from mmengine.runner import Runner
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        cfg.load_from, cfg.resume = None, False
        cfg.visualizer = dict(type='mmdet.DetLocalVisualizer', vis_backends=[])
        with _bootstrap.one_line_errors():
            runner = Runner.from_cfg(cfg)
            optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
            batch = cfg.train_dataloader.batch_size
            if synthetic:
                num_classes = cfg.model.bbox_head.head_module.num_classes
                batches = synthetic_batches(batch, img_size, num_classes)
            else:
                loader = runner.build_dataloader(cfg.train_dataloader)

                def endless():
                    while True:
                        yield from loader
                batches = endless()
        model = runner.model
        if channels_last:
            model.to(memory_format=torch.channels_last)  # what ChannelsLastHook does
        model.train()
        data_times, iter_times = [], []
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            data = next(batches)
            t1 = time.perf_counter()
            model.train_step(data, optim_wrapper)
            t2 = time.perf_counter()
            if i >= warmup:
                data_times.append(t1 - t0)
                iter_times.append(t2 - t0)
        main_mb, worker_mb = peak_rss_mb()  # the workers are still alive here
    it = statistics.median(iter_times)
    return dict(batch=batch, iter_time=it, data_time=statistics.median(data_times),
                images_per_s=batch / it, peak_rss_mb=main_mb, worker_peak_rss_mb=worker_mb,
                threads=torch.get_num_threads(),
                workers=0 if synthetic else cfg.train_dataloader.num_workers)


def main(argv=None):
    args = parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = _bootstrap.load_config(args.config, args.cfg_options)
    if args.batch:
        cfg.train_dataloader.batch_size = args.batch
        cfg.optim_wrapper.optimizer.batch_size_per_gpu = args.batch
    if args.workers is not None:
        cfg.train_dataloader.num_workers = args.workers
        cfg.train_dataloader.persistent_workers = args.workers > 0
    r = measure(cfg, args.iters, args.warmup, args.synthetic, args.img_size, args.channels_last)
    source = 'synthetic batches' if args.synthetic else f"{r['workers']} dataloader workers"
    source += ', channels_last' if args.channels_last else ''
    print(f"{osp.basename(args.config)}: batch {r['batch']}, {source}, {r['threads']} threads: "
          f"iteration {r['iter_time']:.3f} s (median of {args.iters}), data_time "
          f"{r['data_time']:.3f} s ({100 * r['data_time'] / r['iter_time']:.1f}% of it), "
          f"{r['images_per_s']:.2f} images/s; peak RSS {r['peak_rss_mb']:.0f} MiB "
          f"(largest worker {r['worker_peak_rss_mb']:.0f} MiB)")
    return r


if __name__ == '__main__':
    main()
