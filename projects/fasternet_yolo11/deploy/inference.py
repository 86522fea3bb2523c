"""What the PyTorch demo (demo/image_demo.py) and the ONNX Runtime demo
(tools/deployment/onnx_demo.py) share, so that both read, preprocess, draw and save alike:
the config's test pipeline for preprocessing, the inputs (image, folder or video), the drawing
and the detection files (one JSON for all, one TXT per image in YOLO's ``class score x1 y1 x2
y2`` pixel form). Also the two ways to get a detector to run: :func:`init_model` (a config and
a checkpoint, in PyTorch, optionally in deploy form; what every tool that runs a model uses)
and :class:`OnnxDetector` / :class:`OpenVinoDetector` (an exported file in ONNX Runtime or
OpenVINO; :func:`load_exported` picks one by name).
"""
import json
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..datasets.yolo_dataset import IMG_EXTENSIONS

VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.m4v')


def init_model(config, checkpoint: Optional[str] = None, device: str = 'cpu', deploy: bool = False):
    """The detector of ``config`` (a loaded Config, or a config file read as the tools read
    it) in eval mode on ``device``, with the weights of ``checkpoint`` (None: random weights),
    through ``mmdet.apis.init_detector``. ``deploy``: in its deploy form
    (:func:`~fasternet_yolo11.deploy.switch_to_deploy`: Conv+BN fused, PConv slicing,
    channels_last; the same detections)."""
    from mmdet.apis import init_detector

    from .deploy_form import switch_to_deploy
    if isinstance(config, (str, os.PathLike)):
        from ..utils.cli import load_config
        config = load_config(os.fspath(config))
    model = init_detector(config, checkpoint, device=device).eval()
    if deploy:
        switch_to_deploy(model)
    return model


def inference_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """The test pipeline for in-memory BGR frames: load from ndarray, no annotations."""
    out = []
    for t in pipeline:
        # A pipeline read back from JSON (ONNX metadata) has lists where mmyolo wants tuples.
        t = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(t).items()}
        kind = t['type'].split('.')[-1]
        if kind == 'LoadAnnotations':
            continue  # there are none at inference
        if kind == 'LoadImageFromFile':
            t = dict(type='mmdet.LoadImageFromNDArray')
        if kind == 'PackDetInputs':
            t['meta_keys'] = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                              'pad_param')
        out.append(t)
    return out


def build_preprocess(pipeline: Sequence[dict]):
    """A callable frame (H, W, 3) uint8 BGR -> mmdet's packed ``dict(inputs, data_samples)``."""
    from mmengine.dataset import Compose
    from mmyolo.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    compose = Compose(inference_pipeline(pipeline))

    def preprocess(frame: np.ndarray, name: str = '') -> dict:
        return compose(dict(img=frame, img_id=0, img_path=name))
    return preprocess


def is_video(path: str) -> bool:
    return osp.isfile(path) and path.lower().endswith(VIDEO_EXTS)


def list_input_images(path: str) -> List[str]:
    """The images of a demo input: the file itself, or the images directly in a folder, sorted
    (not those in its subfolders: the outputs keep the file names). In a folder, an image is a
    name ending in one of the dataset's ``IMG_EXTENSIONS``, the rule the dataset lists by."""
    if osp.isdir(path):
        files = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTENSIONS))
        if not files:
            raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) in {path!r}')
        return files
    if not osp.isfile(path):
        raise FileNotFoundError(f'input not found: {path!r}')
    return [path]


def iter_frames(path: str) -> Tuple[int, Iterator[Tuple[str, np.ndarray]]]:
    """(count, iterator of (name, BGR frame)) over an image, a folder of images or a video."""
    if is_video(path):
        cap = cv2.VideoCapture(path)
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))

        def frames():
            i = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                yield f'frame_{i:06d}', frame
                i += 1
            cap.release()
        return total, frames()
    files = list_input_images(path)

    def images():
        for f in files:
            img = cv2.imread(f)
            if img is None:
                print(f'warning: cannot read {f}, skipped')
                continue
            yield osp.basename(f), img
    return len(files), images()


def unletterbox(boxes: np.ndarray, meta: dict) -> np.ndarray:
    """Boxes in network-input pixels -> original-image pixels (undo LetterResize's padding
    and the resize), clipped to the image, as ``YOLOv5Head.predict_by_feat`` does."""
    boxes = boxes.astype(np.float32).copy()
    if 'pad_param' in meta:
        top, _, left, _ = meta['pad_param']
        boxes -= np.array([left, top, left, top], np.float32)
    sx, sy = meta['scale_factor']
    boxes /= np.array([sx, sy, sx, sy], np.float32)
    h, w = meta['ori_shape'][:2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return boxes


def palette(n: int) -> List[Tuple[int, int, int]]:
    rng = np.random.RandomState(7)
    return [tuple(int(v) for v in rng.randint(64, 256, 3)) for _ in range(n)]


def draw(img: np.ndarray, dets: List[Dict], classes: Sequence[str]) -> np.ndarray:
    """Boxes with ``class score`` labels on a copy of the BGR image."""
    out = img.copy()
    colors = palette(max(len(classes), 1))
    thick = max(1, round(sum(out.shape[:2]) / 600))
    for d in dets:
        x1, y1, x2, y2 = (int(round(v)) for v in d['bbox'])
        color = colors[d['label'] % len(colors)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        text = f"{d['class']} {d['score']:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, 1)
        y = max(y1, th + 2)
        cv2.rectangle(out, (x1, y - th - 2), (x1 + tw, y), color, -1)
        cv2.putText(out, text, (x1, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return out


def to_dets(boxes, scores, labels, classes, score_thr) -> List[Dict]:
    dets = []
    for box, score, label in zip(boxes, scores, labels):
        if score < score_thr or label < 0:
            continue
        dets.append(dict(label=int(label), score=round(float(score), 5),
                         bbox=[round(float(v), 2) for v in box],
                         **{'class': classes[int(label)] if int(label) < len(classes)
                            else str(int(label))}))
    return sorted(dets, key=lambda d: -d['score'])


class Outputs:
    """Drawn images (or a drawn video) plus ``detections.json`` and per-image TXT files."""

    def __init__(self, out_dir: str, source: str, fps: float = 25.):
        self.out_dir = out_dir
        os.makedirs(osp.join(out_dir, 'labels'), exist_ok=True)
        self.video = None
        self.video_path = (osp.join(out_dir, osp.splitext(osp.basename(source))[0] + '.mp4')
                           if is_video(source) else None)
        self.fps = fps
        self.results = {}

    def add(self, name: str, img: np.ndarray, dets: List[Dict], classes: Sequence[str]):
        self.results[name] = dets
        drawn = draw(img, dets, classes)
        if self.video_path:
            if self.video is None:
                h, w = drawn.shape[:2]
                self.video = cv2.VideoWriter(self.video_path, cv2.VideoWriter_fourcc(*'mp4v'),
                                             self.fps, (w, h))
            self.video.write(drawn)
        else:
            cv2.imwrite(osp.join(self.out_dir, name), drawn)
        stem = osp.splitext(name)[0]
        with open(osp.join(self.out_dir, 'labels', stem + '.txt'), 'w') as f:
            for d in dets:
                f.write(f"{d['label']} {d['score']:.5f} " + ' '.join(f'{v:.2f}' for v in d['bbox'])
                        + '\n')

    def close(self):
        if self.video is not None:
            self.video.release()
        with open(osp.join(self.out_dir, 'detections.json'), 'w') as f:
            json.dump(self.results, f, indent=1)
        return osp.join(self.out_dir, 'detections.json')


def video_fps(path: str) -> float:
    if not is_video(path):
        return 25.
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.
    cap.release()
    return fps


# Where an OpenVINO IR (.xml, written by quantize.py's NNCF engine) keeps the export's metadata.
IR_METADATA_KEY = 'fasternet_yolo11'


def is_openvino_ir(path: str) -> bool:
    """An OpenVINO IR (``model.xml`` beside its ``model.bin``) rather than an ONNX file."""
    return path.lower().endswith('.xml')


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
    """An exported model (``deploy/onnx_export.py``) with the preprocessing stored in its
    metadata: ``pipeline`` (the config's test pipeline, for :func:`build_preprocess`),
    :meth:`normalise` and ``classes``. Takes ``end2end`` models (NMS in the graph) and ``raw``
    ones (decoded here and passed through mmcv's NMS). Subclasses only open the runtime's
    session (:meth:`_open`) and run it (:meth:`run`): :class:`OnnxDetector` (ONNX Runtime) and
    :class:`OpenVinoDetector` (OpenVINO), so both give the same boxes from the same code."""

    backend = None

    def __init__(self, path: str, device: str = 'cpu', threads: int = 0):
        meta = read_metadata(path)
        self.path = path
        self.meta = meta
        self.mode = meta.get('mode', 'end2end')
        self.classes = json.loads(meta.get('classes', '[]'))
        self.strides = json.loads(meta.get('strides', '[8, 16, 32]'))
        self.img_hw = json.loads(meta['img_hw'])
        self.mean = json.loads(meta.get('mean', '[0, 0, 0]'))
        self.std = json.loads(meta.get('std', '[1, 1, 1]'))
        self.bgr_to_rgb = json.loads(meta.get('bgr_to_rgb', 'false'))
        self.pipeline = json.loads(meta['pipeline'])
        self._open(path, device, threads)

    def _open(self, path: str, device: str, threads: int):
        raise NotImplementedError

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """The graph's outputs, in order, for the (B, 3, H, W) float32 ``images``."""
        raise NotImplementedError

    def normalise(self, img_chw):
        """(3, H, W) uint8 tensor in BGR (as the pipeline packs it) -> (1, 3, H, W) float32."""
        x = img_chw.numpy().astype(np.float32)
        if self.bgr_to_rgb:
            x = x[::-1]
        x = (x - np.array(self.mean, np.float32)[:, None, None]) / \
            np.array(self.std, np.float32)[:, None, None]
        return np.ascontiguousarray(x[None])

    def __call__(self, images, iou_thr: float = 0.7, score_thr: float = 0.001,
                 max_per_img: int = 300):
        """(B, 3, H, W) float32 -> per image (boxes (n, 4) input pixels, scores, labels);
        ``iou_thr``, ``score_thr`` and ``max_per_img`` apply to ``raw`` models (an ``end2end``
        graph has its own)."""
        outs = self.run(images)
        if self.mode == 'end2end':
            num, boxes, scores, labels = outs
            return [(boxes[i, :num[i, 0]], scores[i, :num[i, 0]], labels[i, :num[i, 0]])
                    for i in range(len(images))]
        return decode_raw(outs, self.img_hw, self.strides, iou_thr, score_thr, max_per_img)


def decode_raw(outs, img_hw, strides, iou_thr: float = 0.7, score_thr: float = 0.001,
               max_per_img: int = 300):
    """Raw head outputs (``cls_<s>`` then ``box_<s>`` per stride, numpy) -> per image (boxes
    (n, 4) input pixels, scores, labels): decoded as the PyTorch head, every (box, class) pair
    over ``score_thr`` (multi-label), mmcv's batched NMS at ``iou_thr``, at most
    ``max_per_img`` by score."""
    import torch
    from mmcv.ops import batched_nms

    from .export_graphs import decode, make_priors
    n = len(strides)
    boxes, scores = decode([torch.from_numpy(np.asarray(o)) for o in outs[:n]],
                           [torch.from_numpy(np.asarray(o)) for o in outs[n:]],
                           make_priors(img_hw, strides))
    res = []
    for b in range(len(boxes)):
        keep_i, keep_c = torch.nonzero(scores[b] > score_thr, as_tuple=True)
        dets, keep = batched_nms(boxes[b][keep_i], scores[b][keep_i, keep_c], keep_c,
                                 dict(iou_threshold=iou_thr))
        dets, labels = dets[:max_per_img], keep_c[keep][:max_per_img]
        res.append((dets[:, :4].numpy(), dets[:, 4].numpy(), labels.numpy()))
    return res


class OnnxDetector(ExportedDetector):
    """:class:`ExportedDetector` in an ONNX Runtime session (CUDA when ``device == 'cuda'``)."""

    backend = 'onnxruntime'

    def _open(self, path, device, threads):
        from .runners import ort_session
        if is_openvino_ir(path):
            raise ValueError(f'{path} is an OpenVINO IR: run it with the openvino backend')
        self.session = ort_session(path, threads, device=device)

    def run(self, images):
        return self.session.run(None, {'images': images})


class OpenVinoDetector(ExportedDetector):
    """:class:`ExportedDetector` compiled by OpenVINO for the CPU (fp32, latency hint; see
    :func:`~fasternet_yolo11.deploy.runners.openvino_compile`): an ONNX file or an OpenVINO IR."""

    backend = 'openvino'

    def _open(self, path, device, threads):
        if device != 'cpu':
            raise ValueError(f'the OpenVINO backend runs on the CPU, not {device!r}')
        from .runners import openvino_compile
        self.session = openvino_compile(path, threads)

    def run(self, images):
        return list(self.session({'images': np.ascontiguousarray(images)}).values())


# --backend name -> detector class, for the tools that run an exported model.
EXPORTED_BACKENDS = {'onnxruntime': OnnxDetector, 'openvino': OpenVinoDetector}


def load_exported(path: str, backend: str = 'onnxruntime', device: str = 'cpu',
                  threads: int = 0) -> ExportedDetector:
    """The exported model ``path`` in ``backend`` (a key of :data:`EXPORTED_BACKENDS`)."""
    if backend not in EXPORTED_BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; one of {", ".join(EXPORTED_BACKENDS)}')
    return EXPORTED_BACKENDS[backend](path, device=device, threads=threads)
