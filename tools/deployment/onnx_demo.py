"""Detect with an exported ONNX model in ONNX Runtime or OpenVINO on an image, a folder or a video.

    python tools/deployment/onnx_demo.py MODEL.onnx INPUT [--out-dir DIR] [--score-thr T]
        [--device cpu|cuda] [--backend onnxruntime|openvino]

Same preprocessing (the config's test pipeline, stored in the model's metadata by
export_onnx.py), same drawing and the same ``detections.json`` / ``labels/*.txt`` as
demo/image_demo.py. Takes ``end2end`` models (NMS in the graph) and ``raw`` ones (decoded here
and passed through mmcv's NMS with the stored thresholds). ``--backend openvino`` runs the same
file in OpenVINO (CPU, fp32) with the same pre- and post-processing
(``fasternet_yolo11.deploy.inference.ExportedDetector``); an INT8 model from quantize.py runs
in either (an OpenVINO IR, ``.xml`` from ``--backend openvino``, in OpenVINO only). The threshold
is the best-F1 threshold stored in the model's metadata (from the checkpoint) unless
``--score-thr`` is given (``fasternet_yolo11/deploy/frame_detector.py``).
"""
import argparse
import os.path as osp

from fasternet_yolo11.utils import cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('model')
    p.add_argument('input', help='image file, folder of images or video file')
    p.add_argument('--out-dir', default='outputs/onnx_demo')
    p.add_argument('--score-thr', type=float, default=None,
                   help='default: the best-F1 threshold stored in the model, else 0.3')
    p.add_argument('--iou-thr', type=float, default=0.7, help='raw models only')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    p.add_argument('--backend', default='onnxruntime', choices=('onnxruntime', 'openvino'))
    return p.parse_args()


def main():
    args = parse_args()
    from tqdm import tqdm

    from fasternet_yolo11.deploy.frame_detector import ExportedFrameDetector
    from fasternet_yolo11.deploy.inference import Outputs, iter_frames, video_fps
    if not osp.isfile(args.model):
        cli.die(f'model not found: {args.model!r}')
    with cli.one_line_errors():
        detector = ExportedFrameDetector(args.model, args.backend, args.device, score_thr=args.score_thr,
                                         iou_thr=args.iou_thr)
        total, frames = iter_frames(args.input)
    print(f'threshold {detector.score_thr:.3f} ({detector.score_thr_source})')
    out = Outputs(args.out_dir, args.input, video_fps(args.input))
    for name, frame in tqdm(frames, total=total, desc=f'detect ({args.backend})', unit='img'):
        out.add(name, frame, detector(frame, name), detector.classes)
    print(f'{len(out.results)} image(s) -> {args.out_dir}; detections: {out.close()}')


if __name__ == '__main__':
    cli.start()
    main()
