"""Detect on an image, a folder of images or a video, in PyTorch, ONNX Runtime or OpenVINO.

    python demo/image_demo.py CONFIG CHECKPOINT INPUT [--deploy]                      # PyTorch
    python demo/image_demo.py MODEL.onnx INPUT --backend onnxruntime|openvino         # exported
        [--out-dir DIR] [--score-thr T] [--device cpu|cuda:0] [--iou-thr T (raw exports)]

Writes the input with drawn boxes and class names (images keep their names, a video becomes
``<name>.mp4``), ``detections.json`` (per image: label, class, score, bbox x1 y1 x2 y2 in
pixels) and ``labels/<image>.txt`` (``label score x1 y1 x2 y2`` per line) to ``--out-dir``.
``--deploy`` runs the PyTorch model in its deploy form (same detections, faster). An exported
model (``export_onnx.py``; an INT8 one from ``quantize.py``, an OpenVINO ``.xml`` in OpenVINO)
carries its preprocessing and class names. The threshold is the best-F1 threshold stored with
the weights unless ``--score-thr`` is given (``fasternet_yolo11/deploy/detector.py``, the
detector every demo shares). Cameras and streams with an alarm: ``demo/stream_demo.py``.
"""
import argparse
import sys

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('args', nargs='+', metavar='CONFIG CHECKPOINT INPUT | MODEL INPUT',
                   help='pytorch: config, checkpoint, input; onnxruntime/openvino: exported model, input '
                   '(input: image file, folder of images or video file)')
    p.add_argument('--backend', default='pytorch', choices=('pytorch', 'onnxruntime', 'openvino'))
    p.add_argument('--out-dir', default='outputs/demo')
    p.add_argument('--score-thr', type=float, default=None,
                   help='default: the best-F1 threshold stored with the weights, else 0.3')
    p.add_argument('--iou-thr', type=float, default=0.7, help='NMS IoU of raw exports')
    p.add_argument('--device', default='cpu')
    p.add_argument('--deploy', action='store_true', help='pytorch: the deploy form (Conv+BN fused, PConv slicing)')
    p.add_argument('--threads', type=int, default=0, help='onnxruntime/openvino threads (0: the runtime\'s default)')
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='pytorch: key=value overrides of the config')
    args = p.parse_args(argv)
    expected = 3 if args.backend == 'pytorch' else 2
    if len(args.args) != expected:
        p.error(f'--backend {args.backend} takes {"CONFIG CHECKPOINT INPUT" if expected == 3 else "MODEL INPUT"}, '
                f'got {len(args.args)} argument(s)')
    args.config, args.weights, args.input = ([None] + args.args)[-3:] if expected == 2 else args.args
    return args


def open_detector(args):
    """The FrameDetector of the command line (for a checkpoint: its class names and image size on
    the config, so no dataset is needed)."""
    from fasternet_yolo11.deploy.detector import load_frame_detector
    cli.check_file(args.weights, 'checkpoint' if args.backend == 'pytorch' else 'model')
    notes = []
    detector = load_frame_detector(args.backend, args.weights, args.config, device=args.device, deploy=args.deploy,
                                   score_thr=args.score_thr, threads=args.threads, iou_thr=args.iou_thr,
                                   cfg_options=args.cfg_options, notes=notes)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    return detector


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from fasternet_yolo11.deploy.outputs import Outputs
    from fasternet_yolo11.deploy.sources import StreamReader
    reader = StreamReader(args.input, live=False)  # a bad input is one line before the model loads
    detector = open_detector(args)
    print(f'threshold {detector.score_thr:.3f} ({detector.score_thr_source})')
    out = Outputs(args.out_dir, args.input, video=reader.kind == 'video', fps=reader.fps)
    for f in tqdm(reader, total=reader.total, desc=f'detect ({args.backend})', unit='img'):
        out.add(f.name, f.image, detector(f.image, f.name), detector.classes)
    print(f'{len(out.results)} image(s) -> {args.out_dir}; detections: {out.close()}')


if __name__ == '__main__':
    cli.main(main)
