"""Training speed of a config: time per iteration, time waiting for data, peak memory.

:func:`measure` runs real training iterations (``model.train_step``: data preprocessor,
forward, loss, backward, optimizer step) on the config's own train dataloader, or on
:func:`synthetic_batches` to measure the model alone. :func:`peak_rss_mb` reads the peak
resident memory of this process and of its dataloader workers.
"""
import glob
import os
import resource
import statistics
import tempfile
import time


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
    dataloader is used unless ``synthetic``, its batch size either way; random weights, a
    temporary work dir, nothing saved). ``channels_last``: the model in channels_last, as
    ``ChannelsLastHook`` puts it. Returns a dict of medians and memory: batch, iter_time,
    data_time (s), images_per_s, peak_rss_mb, worker_peak_rss_mb, threads, workers."""
    import torch
    from mmengine.runner import Runner
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        cfg.load_from, cfg.resume = None, False
        cfg.visualizer = dict(type='mmdet.DetLocalVisualizer', vis_backends=[])
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
