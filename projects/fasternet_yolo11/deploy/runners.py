"""One detector, run six ways for speed measurements: PyTorch eager, PyTorch deploy form, ONNX
Runtime and OpenVINO in fp32, and ONNX Runtime and OpenVINO in INT8.

``eager`` is the model as trained; ``fused`` is its deploy form (Conv+BN folded, PConv in the
given forward, channels_last weights unless told otherwise); ``onnx`` is the same fused network
exported (TorchScript exporter, opset 17, dynamic batch) and run in an ONNX Runtime session;
``openvino`` is that same ONNX file compiled by OpenVINO for the CPU (:func:`openvino_compile`:
latency hint, fp32 inference precision, so that it computes what the others compute).
``onnx_int8`` and ``openvino_int8`` are that ONNX file statically quantized
(:func:`~fasternet_yolo11.deploy.quantization.quantize`: ONNX Runtime's QDQ quantizer, resp. NNCF
on the OpenVINO model, an IR) and run in ONNX Runtime, resp. OpenVINO; they calibrate on random
inputs, which sets the scales but not the speed (quantize a checkpoint for accuracy with
``tools/deployment/quantize.py``).
All six run the network alone (image tensor -> the six raw head outputs, see
:class:`~fasternet_yolo11.deploy.RawOutputs`), not decoding or NMS, so that they compare.
"""
import copy
import os
import os.path as osp

BACKENDS = ('eager', 'fused', 'onnx', 'openvino', 'onnx_int8', 'openvino_int8')
# INT8 backend -> the quantization engine of deploy/quantization.py that makes its model.
INT8_ENGINES = dict(onnx_int8='ort', openvino_int8='openvino')
CPU_ONLY = ('openvino', 'onnx_int8', 'openvino_int8')
# Random inputs that calibrate the INT8 speed models (speed does not depend on the scales).
SPEED_CALIB_IMAGES = 4
# ONNX Runtime graph optimisation levels by short name.
ORT_LEVELS = dict(disable='ORT_DISABLE_ALL', basic='ORT_ENABLE_BASIC',
                  extended='ORT_ENABLE_EXTENDED', all='ORT_ENABLE_ALL')


def ort_session(path, threads=0, ort_opt='all', device='cpu', spinning=True):
    """An ONNX Runtime session of ``path`` (CPU, or CUDA then CPU when ``device == 'cuda'``).

    ``spinning=False`` stops its worker threads from busy-waiting after each run. Spinning is
    ONNX Runtime's default and lowers the latency of a session that runs alone; sessions that
    take turns in one process (interleaved timing rounds) need it off, or on a 2-core machine the
    threads still spinning for one session slow the next one down."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ORT_LEVELS[ort_opt])
    if not spinning:
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if threads:
        opts.intra_op_num_threads = threads
    providers = (['CUDAExecutionProvider', 'CPUExecutionProvider'] if device == 'cuda'
                 else ['CPUExecutionProvider'])
    return ort.InferenceSession(path, opts, providers=providers)


def openvino_compile(path, threads=0, device='CPU', precision='f32'):
    """An OpenVINO compiled model of ``path``, an ONNX file (read directly, no conversion step)
    or an OpenVINO IR (``.xml``):
    ``PERFORMANCE_HINT=LATENCY`` as Ultralytics' runtime does, ``INFERENCE_PRECISION_HINT``
    ``precision`` (f32 by default: on CPUs with bf16 units OpenVINO would otherwise compute in
    bf16), ``INFERENCE_NUM_THREADS`` when ``threads``. Call it with ``{'images': x}``; it
    returns the outputs by port (``list(result.values())`` in the graph's order)."""
    import openvino as ov
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
    if threads:
        config['INFERENCE_NUM_THREADS'] = int(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(path), device, config)


def runners(model, backend, device, img_hw, pconv, threads, tmpdir, channels_last=None,
            compile=False, ort_opt='all', ort_spinning=True):
    """A callable(batch) -> callable() running one forward of ``backend`` on a fixed random
    batch and returning its raw outputs; None when the backend cannot run on ``device``
    (ONNX Runtime without its CUDA provider).

    ``model`` is copied, never changed. ``pconv``: the PConv forward of every backend but
    ``eager`` (OpenVINO and the INT8 backends run on CPU only: :data:`CPU_ONLY`). ``threads``: ONNX Runtime's and
    OpenVINO's intra-op threads (torch keeps its own
    setting). ``tmpdir``: where the ONNX file is written. ``channels_last`` None keeps each
    PyTorch backend's own layout (eager NCHW, fused NHWC). ``compile`` wraps the PyTorch
    backends in ``torch.compile``. ``ort_opt``: a key of :data:`ORT_LEVELS`. ``ort_spinning``:
    see :func:`ort_session` (ONNX Runtime backends only).
    """
    import torch

    from .deploy_form import fuse_conv_bn, set_pconv_mode
    from .export_graphs import RawOutputs
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
    if device == 'cuda' and (backend in CPU_ONLY
                             or 'CUDAExecutionProvider' not in ort.get_available_providers()):
        return None
    path = osp.join(tmpdir, f'model_{len(os.listdir(tmpdir))}.onnx')
    outputs = [f'out{i}' for i in range(6)]
    with torch.no_grad():
        torch.onnx.export(net, (torch.zeros(1, 3, *img_hw),), path, dynamo=False,
                          opset_version=17, input_names=['images'], output_names=outputs,
                          dynamic_axes={n: {0: 'batch'} for n in ['images'] + outputs})
    if backend in INT8_ENGINES:
        import numpy as np

        from .quantization import int8_suffix, quantize
        rng = np.random.default_rng(0)
        calib = [rng.random((1, 3, *img_hw), dtype=np.float32) for _ in range(SPEED_CALIB_IMAGES)]
        engine = INT8_ENGINES[backend]
        int8_path = path[:-len('.onnx')] + '_int8' + int8_suffix(engine)
        quantize(path, int8_path, calib, engine)
        path = int8_path
    if backend in ('openvino', 'openvino_int8'):
        compiled = openvino_compile(path, threads)

        def make(batch):
            x = torch.rand(batch, 3, *img_hw).numpy()
            return lambda: list(compiled({'images': x}).values())
        return make
    sess = ort_session(path, threads, ort_opt, device, ort_spinning)

    def make(batch):
        x = torch.rand(batch, 3, *img_hw).numpy()
        return lambda: sess.run(None, {'images': x})
    return make
