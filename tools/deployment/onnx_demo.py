"""Detect with an exported ONNX model in ONNX Runtime on an image, a folder or a video.

    python tools/deployment/onnx_demo.py MODEL.onnx INPUT [--out-dir DIR] [--score-thr 0.3]
        [--device cpu|cuda]

Same preprocessing (the config's test pipeline, stored in the model's metadata by
export_onnx.py), same drawing and the same ``detections.json`` / ``labels/*.txt`` as
demo/image_demo.py. Takes ``end2end`` models (NMS in the graph) and ``raw`` ones (decoded here
and passed through mmcv's NMS with the stored thresholds).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tools import _bootstrap  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('model')
    p.add_argument('input', help='image file, folder of images or video file')
    p.add_argument('--out-dir', default='outputs/onnx_demo')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--iou-thr', type=float, default=0.7, help='raw models only')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    return p.parse_args()


class OnnxDetector:
    """An exported model in an ONNX Runtime session with its stored preprocessing."""

    def __init__(self, path: str, device: str = 'cpu', threads: int = 0):
        import onnx
        import onnxruntime as ort
        meta = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
        self.mode = meta.get('mode', 'end2end')
        self.classes = json.loads(meta.get('classes', '[]'))
        self.strides = json.loads(meta.get('strides', '[8, 16, 32]'))
        self.img_hw = json.loads(meta['img_hw'])
        self.mean = json.loads(meta.get('mean', '[0, 0, 0]'))
        self.std = json.loads(meta.get('std', '[1, 1, 1]'))
        self.bgr_to_rgb = json.loads(meta.get('bgr_to_rgb', 'false'))
        self.pipeline = json.loads(meta['pipeline'])
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        providers = (['CUDAExecutionProvider', 'CPUExecutionProvider'] if device == 'cuda'
                     else ['CPUExecutionProvider'])
        self.session = ort.InferenceSession(path, opts, providers=providers)

    def normalise(self, img_chw):
        """(3, H, W) uint8 tensor in BGR (as the pipeline packs it) -> (1, 3, H, W) float32."""
        import numpy as np
        x = img_chw.numpy().astype(np.float32)
        if self.bgr_to_rgb:
            x = x[::-1]
        x = (x - np.array(self.mean, np.float32)[:, None, None]) / \
            np.array(self.std, np.float32)[:, None, None]
        return np.ascontiguousarray(x[None])

    def __call__(self, images, iou_thr: float = 0.7, score_thr: float = 0.001):
        """(B, 3, H, W) float32 -> per image (boxes (n, 4) input pixels, scores, labels)."""
        outs = self.session.run(None, {'images': images})
        if self.mode == 'end2end':
            num, boxes, scores, labels = outs
            return [(boxes[i, :num[i, 0]], scores[i, :num[i, 0]], labels[i, :num[i, 0]])
                    for i in range(len(images))]
        import torch
        from mmcv.ops import batched_nms
        from projects.fasternet_yolo11.deploy import decode, make_priors
        n = len(self.strides)
        boxes, scores = decode([torch.from_numpy(o) for o in outs[:n]],
                               [torch.from_numpy(o) for o in outs[n:]],
                               make_priors(self.img_hw, self.strides))
        res = []
        for b in range(len(images)):
            keep_i, keep_c = torch.nonzero(scores[b] > score_thr, as_tuple=True)
            dets, keep = batched_nms(boxes[b][keep_i], scores[b][keep_i, keep_c], keep_c,
                                     dict(iou_threshold=iou_thr))
            res.append((dets[:, :4].numpy(), dets[:, 4].numpy(), keep_c[keep].numpy()))
        return res


def main():
    args = parse_args()
    from tqdm import tqdm

    from tools.deployment.common import Outputs, build_preprocess, iter_frames, to_dets, \
        unletterbox, video_fps
    if not osp.isfile(args.model):
        _bootstrap.die(f'model not found: {args.model!r}')
    det = OnnxDetector(args.model, args.device)
    preprocess = build_preprocess(det.pipeline)
    with _bootstrap.one_line_errors():
        total, frames = iter_frames(args.input)
    out = Outputs(args.out_dir, args.input, video_fps(args.input))
    for name, frame in tqdm(frames, total=total, desc='detect (onnxruntime)', unit='img'):
        data = preprocess(frame, name)
        meta = data['data_samples'].metainfo
        boxes, scores, labels = det(det.normalise(data['inputs']), args.iou_thr)[0]
        out.add(name, frame, to_dets(unletterbox(boxes, meta), scores, labels, det.classes,
                                     args.score_thr), det.classes)
    print(f'{len(out.results)} image(s) -> {args.out_dir}; detections: {out.close()}')


if __name__ == '__main__':
    main()
