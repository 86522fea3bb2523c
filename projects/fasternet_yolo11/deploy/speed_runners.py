"""One detector, run in each backend for speed measurements (``benchmark.py``, the comparison
report).

The backends are :data:`~fasternet_yolo11.deploy.runtimes.SPEED_BACKENDS`: ``pytorch`` is the
model as trained; ``pytorch_deploy`` its deploy form
(:func:`~fasternet_yolo11.models.deploy_form.switch_to_deploy`); ``onnxruntime`` and
``openvino`` run the graph the exporter ships (:func:`~fasternet_yolo11.deploy.onnx_export.export`,
mode ``raw``, dynamic batch), in an ONNX Runtime session and compiled by OpenVINO for the CPU
(latency hint, fp32); ``onnxruntime_int8`` and ``openvino_int8`` run that file statically
quantized (:func:`~fasternet_yolo11.deploy.quantization.quantize`), calibrated on random inputs,
which sets the scales but not the speed (quantize a checkpoint for accuracy with
``tools/deployment/quantize.py``). All run the network alone (image tensor -> the raw head
outputs), not decoding or NMS, so that they compare.
"""
import copy
import os
import os.path as osp

from .runtimes import CPU_ONLY, INT8_SUFFIX, SPEED_BACKENDS, Session, ort_has_cuda, runtime_of

# Random inputs that calibrate the INT8 speed models (speed does not depend on the scales).
SPEED_CALIB_IMAGES = 4


def build_runner(model, cfg, backend, device, img_hw, pconv, threads, tmpdir, channels_last=None,
                 compile=False, ort_opt='all', ort_spinning=True):
    """A callable(batch) -> callable() running one forward of ``backend`` on a fixed random
    batch and returning its raw outputs; None when the backend cannot run on ``device``
    (ONNX Runtime without its CUDA provider, or a CPU-only backend).

    ``model`` (built from ``cfg``) is copied, never changed. ``pconv``: the PConv forward of
    every backend but ``pytorch``. ``threads``: ONNX Runtime's and OpenVINO's intra-op threads
    (torch keeps its own setting). ``tmpdir``: where the exported files are written.
    ``channels_last`` None keeps each PyTorch backend's own layout (as trained NCHW, deploy form
    NHWC). ``compile`` wraps the PyTorch backends in ``torch.compile``. ``ort_opt``: ONNX
    Runtime's graph optimisation level; ``ort_spinning``: see
    :func:`~fasternet_yolo11.deploy.runtimes.ort_session`.
    """
    import torch

    from ..models.deploy_form import switch_to_deploy
    from .export_graphs import RawOutputs
    if backend not in SPEED_BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; one of {", ".join(SPEED_BACKENDS)}')
    if runtime_of(backend) == 'pytorch':
        net = copy.deepcopy(model).eval()
        deploy = backend == 'pytorch_deploy'
        if channels_last is None:
            channels_last = deploy
        if deploy:
            switch_to_deploy(net, pconv=pconv, channels_last=False)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        net = RawOutputs(net).to(device, memory_format=fmt)
        if compile:
            net = torch.compile(net)

        def make(batch):
            x = torch.rand(batch, 3, *img_hw, device=device).contiguous(memory_format=fmt)

            def run():
                with torch.no_grad():
                    return net(x)
            return run
        return make
    if device == 'cuda' and (backend in CPU_ONLY or not ort_has_cuda()):
        return None
    from .onnx_export import export
    path = osp.join(tmpdir, f'model_{len(os.listdir(tmpdir))}.onnx')
    export(model, cfg, path, img_hw=img_hw, mode='raw', dynamic_batch=True, pconv=pconv)
    return build_file_runner(path, backend, device, img_hw, threads, tmpdir, ort_opt, ort_spinning)


def build_file_runner(path, backend, device, img_hw, threads, tmpdir, ort_opt='all', ort_spinning=True):
    """:func:`build_runner` for an ONNX file made elsewhere (e.g. Ultralytics' own export, timed as a
    reference): ``backend`` one of the exported runtimes or their ``_int8`` variants (quantized here
    with random calibration: speed only). The file's input is ``images`` (B, 3, *img_hw)."""
    import torch
    if backend not in SPEED_BACKENDS or runtime_of(backend) == 'pytorch':
        raise ValueError(f'an ONNX file runs in onnxruntime or openvino (or their _int8), not {backend!r}')
    if device == 'cuda' and (backend in CPU_ONLY or not ort_has_cuda()):
        return None
    if backend.endswith(INT8_SUFFIX):
        import numpy as np

        from .quantization import int8_suffix, quantize
        rng = np.random.default_rng(0)
        calib = [rng.random((1, 3, *img_hw), dtype=np.float32) for _ in range(SPEED_CALIB_IMAGES)]
        engine = runtime_of(backend)
        int8_path = osp.join(tmpdir, f'model_{len(os.listdir(tmpdir))}{INT8_SUFFIX}{int8_suffix(engine)}')
        quantize(path, int8_path, calib, engine)
        path = int8_path
    session = Session(path, runtime_of(backend), device, threads, ort_opt, ort_spinning)

    def make(batch):
        x = torch.rand(batch, 3, *img_hw).numpy()
        return lambda: session(x)
    return make
