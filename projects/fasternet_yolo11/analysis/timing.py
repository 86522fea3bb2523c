"""Timing calls and saying what they ran on.

:func:`time_it` times one callable; :func:`time_interleaved` times several in round-robin, so
that a slow spell of the machine touches all of them alike. :func:`hardware` describes the
CPU, GPU and runtimes, :func:`available_devices` the devices torch can run on.
"""
import os
import platform
import statistics
import time


def available_devices():
    """``['cpu', 'cuda']`` when torch sees a GPU, else ``['cpu']``."""
    import torch
    return ['cpu', 'cuda'] if torch.cuda.is_available() else ['cpu']


def hardware(devices):
    """Lines describing the CPU (model, logical cores), torch (version, intra-op threads), the
    GPU when ``devices`` has ``cuda``, and ONNX Runtime (version, providers) when installed."""
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
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
    """Milliseconds per call: (median, min, max) over ``iters`` after ``warmup`` calls.
    ``sync`` waits for queued work (``torch.cuda.synchronize`` on a GPU)."""
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


def time_interleaved(calls, iters, warmup, sync=lambda: None):
    """Milliseconds per call of every callable of ``calls`` ({key: fn}), timed in round-robin:
    ``warmup`` untimed calls of each first, then each of ``iters`` rounds visits every callable
    once. A visit calls it once untimed, then once timed: the untimed call lets the thread pools
    settle (ONNX Runtime's and torch's spinning threads would otherwise slow whatever runs next
    on a small machine). Returns {key: (median, min, max)}."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times = {key: [] for key in calls}
    for _ in range(iters):
        for key, fn in calls.items():
            fn()
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times[key].append((time.perf_counter() - t0) * 1e3)
    return {key: (statistics.median(ts), min(ts), max(ts)) for key, ts in times.items()}
