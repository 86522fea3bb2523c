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
import os.path as osp

from fasternet_yolo11.analysis.train_speed import measure
from fasternet_yolo11.utils import cli


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


def main(argv=None):
    args = parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = cli.load_config(args.config, args.cfg_options)
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
    cli.main(main)
