"""The runtimes an exported model runs in, and the one vocabulary of backends.

A *runtime* runs a model: ``pytorch`` (a config and a checkpoint), ``onnxruntime`` or
``openvino`` (an exported file). The speed runners add the variants they time: the deploy form
in PyTorch (``pytorch_deploy``, what ``--deploy`` gives the demos) and the INT8 models of the two
exported runtimes (``onnxruntime_int8``, ``openvino_int8``: ``quantize.py --backend``). Every tool's
``--backend`` takes these names.

This module imports no project code: the sessions are opened on first use.
"""
RUNTIMES = ('pytorch', 'onnxruntime', 'openvino')
EXPORTED_RUNTIMES = ('onnxruntime', 'openvino')
INT8_SUFFIX = '_int8'
SPEED_BACKENDS = ('pytorch', 'pytorch_deploy', 'onnxruntime', 'openvino', 'onnxruntime_int8', 'openvino_int8')
# backends with no CUDA path here
CPU_ONLY = ('openvino', 'onnxruntime_int8', 'openvino_int8')
# ONNX Runtime graph optimisation levels by short name.
ORT_LEVELS = dict(disable='ORT_DISABLE_ALL', basic='ORT_ENABLE_BASIC',
                  extended='ORT_ENABLE_EXTENDED', all='ORT_ENABLE_ALL')


def runtime_of(backend: str) -> str:
    """The runtime a speed backend runs in: ``onnxruntime_int8`` -> ``onnxruntime``,
    ``pytorch_deploy`` -> ``pytorch``."""
    if backend not in SPEED_BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; one of {", ".join(SPEED_BACKENDS)}')
    return backend.replace(INT8_SUFFIX, '').replace('_deploy', '')


def is_openvino_ir(path: str) -> bool:
    """An OpenVINO IR (``model.xml`` beside its ``model.bin``) rather than an ONNX file."""
    return str(path).lower().endswith('.xml')


def ort_session(path, threads=0, ort_opt='all', device='cpu', spinning=True):
    """An ONNX Runtime session of ``path`` (CPU, or CUDA then CPU when ``device == 'cuda'``).

    ``spinning=False`` stops its worker threads from busy-waiting after each run. Spinning is
    ONNX Runtime's default and lowers the latency of a session that runs alone; sessions that
    take turns in one process (interleaved timing rounds) need it off, or on a 2-core machine the
    threads still spinning for one session slow the next one down."""
    import onnxruntime as ort
    if is_openvino_ir(path):
        raise ValueError(f'{path} is an OpenVINO IR: run it with the openvino backend')
    opts = ort.SessionOptions()
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ORT_LEVELS[ort_opt])
    if not spinning:
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if threads:
        opts.intra_op_num_threads = threads
    providers = (['CUDAExecutionProvider', 'CPUExecutionProvider'] if device == 'cuda'
                 else ['CPUExecutionProvider'])
    return ort.InferenceSession(path, opts, providers=providers)


def ort_has_cuda() -> bool:
    import onnxruntime as ort
    return 'CUDAExecutionProvider' in ort.get_available_providers()


def openvino_compile(path, threads=0, device='CPU', precision='f32'):
    """An OpenVINO compiled model of ``path``, an ONNX file (read directly, no conversion step)
    or an OpenVINO IR (``.xml``): ``PERFORMANCE_HINT=LATENCY`` as Ultralytics' runtime does,
    ``INFERENCE_PRECISION_HINT`` ``precision`` (f32 by default: on CPUs with bf16 units OpenVINO
    would otherwise compute in bf16), ``INFERENCE_NUM_THREADS`` when ``threads``. Call it with
    ``{'images': x}``; it returns the outputs by port (``list(result.values())`` in the graph's
    order)."""
    import openvino as ov
    if str(device).lower() != 'cpu':
        raise ValueError(f'the OpenVINO backend runs on the CPU, not {device!r}')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
    if threads:
        config['INFERENCE_NUM_THREADS'] = int(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(path), 'CPU', config)


class Session:
    """An exported file opened in ``runtime``: ``session(images)`` -> the graph's outputs (numpy,
    in the graph's order) for the (B, 3, H, W) float32 ``images``."""

    def __init__(self, path: str, runtime: str = 'onnxruntime', device: str = 'cpu', threads: int = 0,
                 ort_opt: str = 'all', spinning: bool = True):
        if runtime not in EXPORTED_RUNTIMES:
            raise ValueError(f'unknown runtime {runtime!r} for an exported model; one of '
                             f'{", ".join(EXPORTED_RUNTIMES)}')
        self.runtime = runtime
        if runtime == 'onnxruntime':
            self._ort = ort_session(path, threads, ort_opt, device, spinning)
        else:
            self._ov = openvino_compile(path, threads, device)

    def __call__(self, images):
        import numpy as np
        if self.runtime == 'onnxruntime':
            return self._ort.run(None, {'images': images})
        return list(self._ov({'images': np.ascontiguousarray(images)}).values())
