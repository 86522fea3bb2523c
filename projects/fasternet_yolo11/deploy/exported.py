"""An exported model (``deploy/onnx_export.py``) run in ONNX Runtime or OpenVINO.

The export's metadata holds what running it needs: the mode (``end2end``: post-processing in
the graph; ``raw``: the head outputs), the config's test pipeline and normaliser, the class
names, the strides and the best-F1 threshold. :class:`ExportedDetector` reads it and gives the
same boxes in either runtime from the same code; :func:`decode_raw` post-processes a ``raw``
export as the PyTorch head does (NMS, or the top-k of an end-to-end head).
"""
import json
from typing import Dict, List

import numpy as np

from .preprocess import normalise
from .runtimes import EXPORTED_RUNTIMES, Session, is_openvino_ir

# Where an OpenVINO IR (.xml, written by quantize.py's NNCF engine) keeps the export's metadata.
IR_METADATA_KEY = 'fasternet_yolo11'


def read_metadata(path: str) -> Dict[str, str]:
    """The export's metadata (``deploy/onnx_export.py``: mode, classes, pipeline, ...) as strings:
    an ONNX file's ``metadata_props``, or an OpenVINO IR's ``rt_info`` under
    :data:`IR_METADATA_KEY` (the same keys)."""
    if is_openvino_ir(path):
        import openvino as ov
        model = ov.Core().read_model(path)
        if not model.has_rt_info(IR_METADATA_KEY):
            raise ValueError(f'{path} has no {IR_METADATA_KEY} metadata: not written by this project\'s '
                             'quantize.py')
        return {k: v.astype(str) for k, v in model.get_rt_info()[IR_METADATA_KEY].items()}
    import onnx
    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


class ExportedDetector:
    """An exported model in ``runtime`` (``onnxruntime``: CPU, or CUDA with ``device='cuda'``;
    ``openvino``: CPU, fp32) with its stored preprocessing: ``pipeline`` (the config's test
    pipeline), :meth:`normalise`, ``classes``. Takes ``end2end`` models (post-processing in the
    graph) and ``raw`` ones (decoded and NMS-ed here, :func:`decode_raw`).

    Shapes: ``detector(images)`` with images (B, 3, H, W) float32 at the export's ``img_hw``
    gives per image (boxes (n, 4) xyxy input pixels, scores (n,), labels (n,)).
    """

    def __init__(self, path: str, runtime: str = 'onnxruntime', device: str = 'cpu', threads: int = 0):
        meta = read_metadata(path)
        self.path = path
        self.meta = meta
        self.backend = runtime
        self.mode = meta.get('mode', 'end2end')
        self.postprocess = meta.get('postprocess', 'nms')
        self.classes = json.loads(meta.get('classes', '[]'))
        self.strides = json.loads(meta.get('strides', '[8, 16, 32]'))
        self.img_hw = json.loads(meta['img_hw'])
        self.mean = json.loads(meta.get('mean', '[0, 0, 0]'))
        self.std = json.loads(meta.get('std', '[1, 1, 1]'))
        self.bgr_to_rgb = json.loads(meta.get('bgr_to_rgb', 'false'))
        self.pipeline = json.loads(meta['pipeline'])
        stored = meta.get('best_f1_threshold')
        self.best_f1_threshold = json.loads(stored) if stored else None
        self.session = Session(path, runtime, device, threads)

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """The graph's outputs, in order, for the (B, 3, H, W) float32 ``images``."""
        return self.session(images)

    def normalise(self, img_chw) -> np.ndarray:
        """(3, H, W) uint8 tensor in BGR (as the pipeline packs it) -> (1, 3, H, W) float32."""
        return normalise(img_chw, self.mean, self.std, self.bgr_to_rgb)

    def __call__(self, images, iou_thr: float = 0.7, score_thr: float = 0.001,
                 max_per_img: int = 300):
        """Per image (boxes, scores, labels); ``iou_thr``, ``score_thr`` and ``max_per_img``
        apply to ``raw`` models (an ``end2end`` graph has its own)."""
        outs = self.run(images)
        if self.mode == 'end2end':
            num, boxes, scores, labels = outs
            return [(boxes[i, :num[i, 0]], scores[i, :num[i, 0]], labels[i, :num[i, 0]])
                    for i in range(len(images))]
        return decode_raw(outs, self.img_hw, self.strides, iou_thr, score_thr, max_per_img, self.postprocess)


def decode_raw(outs, img_hw, strides, iou_thr: float = 0.7, score_thr: float = 0.001,
               max_per_img: int = 300, postprocess: str = 'nms'):
    """Raw head outputs (``cls_<s>`` then ``box_<s>`` per stride, numpy) -> per image (boxes
    (n, 4) input pixels, scores, labels), decoded as the PyTorch head: ``nms``, every (box,
    class) pair over ``score_thr`` (multi-label), mmcv's batched NMS at ``iou_thr``, at most
    ``max_per_img`` by score; ``topk`` (an end-to-end head), the head's top-k pairs over
    ``score_thr``."""
    import torch
    from mmcv.ops import batched_nms

    from ..models.dense_heads.yolo26_head import topk_detections
    from .export_graphs import decode, make_priors
    n = len(strides)
    boxes, scores = decode([torch.from_numpy(np.asarray(o)) for o in outs[:n]],
                           [torch.from_numpy(np.asarray(o)) for o in outs[n:]],
                           make_priors(img_hw, strides))
    if postprocess == 'topk':
        top_boxes, top_scores, labels = topk_detections(boxes, scores, min(max_per_img, boxes.shape[1]))
        keep = top_scores > score_thr
        return [(top_boxes[b][keep[b]].numpy(), top_scores[b][keep[b]].numpy(), labels[b][keep[b]].numpy())
                for b in range(len(boxes))]
    res = []
    for b in range(len(boxes)):
        keep_i, keep_c = torch.nonzero(scores[b] > score_thr, as_tuple=True)
        dets, keep = batched_nms(boxes[b][keep_i], scores[b][keep_i, keep_c], keep_c,
                                 dict(iou_threshold=iou_thr))
        dets, labels = dets[:max_per_img], keep_c[keep][:max_per_img]
        res.append((dets[:, :4].numpy(), dets[:, 4].numpy(), labels.numpy()))
    return res


def load_exported(path: str, runtime: str = 'onnxruntime', device: str = 'cpu',
                  threads: int = 0) -> ExportedDetector:
    """The exported model ``path`` (``.onnx``, or an OpenVINO IR ``.xml``) in ``runtime``."""
    if runtime not in EXPORTED_RUNTIMES:
        raise ValueError(f'unknown backend {runtime!r}; one of {", ".join(EXPORTED_RUNTIMES)}')
    return ExportedDetector(path, runtime, device, threads)
