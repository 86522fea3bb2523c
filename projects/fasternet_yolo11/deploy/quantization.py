"""INT8 post-training static quantization of an exported model (``tools/deployment/quantize.py``).

Two engines, named after the runtime that runs their output, both reading the fp32 ONNX file of
``deploy/onnx_export.py`` and writing an INT8 model that keeps the fp32 file's metadata, so
:class:`~fasternet_yolo11.deploy.exported.ExportedDetector`, the demos and ``test_exported.py``
run it like the fp32 one:

* ``onnxruntime``: ONNX Runtime's ``quantize_static`` after ``quant_pre_process`` (shape inference and
  graph clean-up) -> an ONNX file in QDQ form (QuantizeLinear/DequantizeLinear pairs around the
  int8 ops; runs in ONNX Runtime and in OpenVINO): per-channel int8 weights, uint8 activations
  (the x86 advice of its docstring), MinMax calibration by default;
* ``openvino``: NNCF's ``quantize`` on the OpenVINO model read from the ONNX file (target CPU,
  preset MIXED: asymmetric activations, as Ultralytics' OpenVINO INT8 export) -> an OpenVINO IR
  (``.xml`` + ``.bin``, the metadata in its ``rt_info``), which only OpenVINO runs. Not NNCF's
  ONNX backend: its QDQ file is right in ONNX Runtime but OpenVINO 2026.4 computes it wrongly
  (its class logits hardly correlate with the fp32 ones on the test checkpoint, where NNCF on
  the OpenVINO model keeps them).

Calibration images go through the exported model's own preprocessing (the config's test
pipeline stored in the metadata, then its normaliser): :class:`CalibrationImages`.

What stays fp32 (:func:`fp32_nodes`): always the nodes after the head's last convs (the DFL
integral of a ``raw`` export, the decoding and NMS of an ``end2end`` one: one int8 scale cannot
hold pixel boxes and 0..1 scores alike); on request the first conv (``first``: it sees the
image itself) and the head's last convs (``head``: the class logits and box distributions).
"""
import copy
import os
import os.path as osp
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

ENGINES = ('onnxruntime', 'openvino')
KEEP_FP32 = ('first', 'head')


class CalibrationImages:
    """The calibration set: up to ``num_images`` image files, each read (BGR), run through
    ``detector``'s preprocessing (its stored test pipeline, then :meth:`normalise`) to the
    (1, 3, H, W) float32 input. Iterable (a fresh pass each time) and sized."""

    def __init__(self, files: Sequence[str], detector, num_images: Optional[int] = None):
        from .preprocess import build_preprocess
        self.files = list(files)[:num_images] if num_images else list(files)
        if not self.files:
            raise ValueError('no calibration images')
        self.detector = detector
        self.preprocess = build_preprocess(detector.pipeline)

    def __len__(self):
        return len(self.files)

    def __iter__(self) -> Iterable[np.ndarray]:
        import cv2
        for f in self.files:
            img = cv2.imread(f)
            if img is None:
                raise ValueError(f'cannot read calibration image {f!r}')
            data = self.preprocess(img, osp.basename(f))
            yield self.detector.normalise(data['inputs'])


def calibration_files(data_yaml: str, split: str = 'train', num_images: int = 200,
                      seed: int = 0) -> List[str]:
    """``num_images`` image files of ``split`` of an Ultralytics data yaml, an even random
    sample (fixed ``seed``) when the split has more, in sorted order otherwise."""
    from ..datasets.yolo_dataset import list_images, load_data_config
    data = load_data_config(data_yaml)
    if split not in data:
        raise ValueError(f'{data_yaml} has no {split!r} split')
    files = sorted(list_images(data[split])[0])
    if len(files) > num_images:
        rng = np.random.default_rng(seed)
        files = sorted(np.asarray(files)[rng.choice(len(files), num_images, replace=False)].tolist())
    return files


def _ort_reader(images: CalibrationImages):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(images)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {'images': x}

        def rewind(self):
            self.it = iter(images)
    return Reader()


def fp32_nodes(model, keep: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Names of the nodes of ``model`` (an ``onnx.ModelProto``) to leave in fp32:
    ``tail`` (after the head's last convs: always), ``head`` (those convs), ``first`` (the first
    conv fed by the input). Returns {'tail', 'head', 'first', 'exclude'}, ``exclude`` being
    ``tail`` plus the groups named in ``keep``."""
    for k in keep:
        assert k in KEEP_FP32, k
    nodes = list(model.graph.node)
    producer = {out: n for n in nodes for out in n.output}
    tail, head, seen = [], [], set()
    stack = [o.name for o in model.graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == 'Conv':
            head.append(node.name)  # a last conv: stop here
            continue
        tail.append(node.name)
        stack.extend(node.input)
    first = [n.name for n in nodes if n.op_type == 'Conv'][:1]
    groups = dict(tail=tail, head=sorted(head), first=first)
    exclude = list(tail)
    for k in keep:
        exclude += [n for n in groups[k] if n not in exclude]
    groups['exclude'] = exclude
    return groups


def _name_nodes(model):
    """Give every unnamed node a unique name (the engines exclude nodes by name)."""
    names = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in names:
            node.name = f'{node.op_type}_{i}'
        names.add(node.name)
    return model


def quantize(fp32_path: str, out_path: str, images: CalibrationImages, engine: str = 'onnxruntime',
             keep_fp32: Sequence[str] = (), per_channel: bool = True,
             calibrate_method: str = 'MinMax') -> dict:
    """Quantize the fp32 export ``fp32_path`` with ``engine`` (``onnxruntime`` or ``openvino``),
    calibrated on ``images``, into ``out_path`` (an ``.onnx`` file for ``onnxruntime``, an
    OpenVINO IR ``.xml`` for ``openvino``: :func:`int8_suffix`; the fp32 file's metadata copied, plus
    ``quantization``). Returns dict(path, size_mb, fp32_size_mb, excluded, calib_images)."""
    import onnx
    if engine not in ENGINES:
        raise ValueError(f'unknown engine {engine!r}; one of {", ".join(ENGINES)}')
    if not out_path.lower().endswith(int8_suffix(engine)):
        raise ValueError(f'the {engine} engine writes {int8_suffix(engine)} files, not {out_path!r}')
    src = onnx.load(fp32_path)
    meta = {p.key: p.value for p in src.metadata_props}
    meta['quantization'] = f'int8 {engine} (fp32: {", ".join(keep_fp32) or "decode only"})'
    os.makedirs(osp.dirname(osp.abspath(out_path)) or '.', exist_ok=True)
    if engine == 'openvino':
        return _quantize_openvino(fp32_path, src, out_path, images, keep_fp32, meta)
    with tempfile.TemporaryDirectory() as tmp:
        if engine == 'onnxruntime':
            from onnxruntime.quantization import (
                CalibrationMethod,
                QuantFormat,
                QuantType,
                quantize_static,
            )
            from onnxruntime.quantization.shape_inference import quant_pre_process
            pre = osp.join(tmp, 'pre.onnx')
            # ORT's symbolic shape inference gives up on a symbolic batch dim through the
            # head's reshapes; ONNX's own shape inference (still run) is enough for a CNN.
            dynamic = any(d.dim_param for i in src.graph.input
                          for d in i.type.tensor_type.shape.dim)
            quant_pre_process(fp32_path, pre, skip_symbolic_shape=dynamic)
            pre_model = _name_nodes(onnx.load(pre))
            onnx.save(pre_model, pre)
            groups = fp32_nodes(pre_model, keep_fp32)
            quantize_static(
                pre, out_path, _ort_reader(images), quant_format=QuantFormat.QDQ,
                per_channel=per_channel, activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8, nodes_to_exclude=groups['exclude'],
                calibrate_method=getattr(CalibrationMethod, calibrate_method))
            out = onnx.load(out_path)
    del out.metadata_props[:]
    for k, v in meta.items():
        out.metadata_props.add(key=k, value=v)
    onnx.save(out, out_path)
    return dict(path=out_path, size_mb=osp.getsize(out_path) / 2**20,
                fp32_size_mb=osp.getsize(fp32_path) / 2**20, excluded=groups['exclude'],
                calib_images=len(images))


def int8_suffix(engine: str) -> str:
    """The file type an engine writes: ``.onnx`` (ONNX Runtime's QDQ model) or ``.xml`` (OpenVINO IR)."""
    return '.xml' if engine == 'openvino' else '.onnx'


def _quantize_openvino(fp32_path, src, out_path, images, keep_fp32, meta) -> dict:
    """NNCF on the OpenVINO model of ``fp32_path``; saved as an fp32-weight IR (no fp16
    compression) with ``meta`` in its rt_info. Node names of the ONNX file are the OpenVINO
    ops' friendly names, so :func:`fp32_nodes` names the ignored scope."""
    import nncf
    import onnx
    import openvino as ov

    from .exported import IR_METADATA_KEY
    named = _name_nodes(copy.deepcopy(src))
    groups = fp32_nodes(named, keep_fp32)
    with tempfile.TemporaryDirectory() as tmp:  # OpenVINO reads the nodes under those names
        onnx.save(named, osp.join(tmp, 'named.onnx'))
        model = ov.Core().read_model(osp.join(tmp, 'named.onnx'))
    out = nncf.quantize(
        model, nncf.Dataset(list(images), lambda x: {'images': x}),
        preset=nncf.QuantizationPreset.MIXED, target_device=nncf.TargetDevice.CPU,
        subset_size=len(images), ignored_scope=nncf.IgnoredScope(names=groups['exclude'], validate=False))
    for k, v in meta.items():
        out.set_rt_info(v, [IR_METADATA_KEY, k])
    ov.save_model(out, out_path, compress_to_fp16=False)
    size = osp.getsize(out_path) + osp.getsize(out_path[:-len('.xml')] + '.bin')
    return dict(path=out_path, size_mb=size / 2**20, fp32_size_mb=osp.getsize(fp32_path) / 2**20,
                excluded=groups['exclude'], calib_images=len(images))


def match_rate(ref, test, iou_thr: float = 0.5, score_thr: float = 0.25) -> float:
    """Share of ``ref``'s detections (per image: boxes, scores, labels) scoring at least
    ``score_thr`` that ``test`` also finds: a detection of the same class with IoU >=
    ``iou_thr`` and any score over ``score_thr / 2``, matched one to one by the evaluation's
    rule (:func:`~fasternet_yolo11.evaluation.matching.match_greedy`, ``ref`` by score).
    1.0 when ``ref`` has none."""
    from ..evaluation.matching import box_iou, match_greedy
    found = total = 0
    for (rb, rs, rl), (tb, ts, tl) in zip(ref, test):
        rk, tk = np.asarray(rs) >= score_thr, np.asarray(ts) >= score_thr / 2
        order = np.argsort(-np.asarray(rs)[rk], kind='stable')
        rb, rl = np.asarray(rb)[rk], np.asarray(rl)[rk]
        tb, tl = np.asarray(tb)[tk], np.asarray(tl)[tk]
        total += len(rb)
        if not len(rb) or not len(tb):
            continue
        iou = box_iou(rb, tb)
        iou[rl[:, None] != tl[None, :]] = 0
        found += int((match_greedy(iou, iou_thr, order) >= 0).sum())
    return found / total if total else 1.0
