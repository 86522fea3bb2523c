"""Detect with a config + checkpoint on an image, a folder of images or a video.

    python demo/image_demo.py CONFIG CHECKPOINT INPUT [--out-dir DIR] [--score-thr T]
        [--device cpu|cuda:0] [--deploy]

Writes the input with drawn boxes and class names (images keep their names, a video becomes
``<name>.mp4``), ``detections.json`` (per image: label, class, score, bbox x1 y1 x2 y2 in
pixels) and ``labels/<image>.txt`` (``label score x1 y1 x2 y2`` per line) to ``--out-dir``.
``--deploy`` runs the Conv+BN-fused, PConv-``slicing`` model (same detections, faster). The
threshold is the best-F1 threshold stored in the checkpoint unless ``--score-thr`` is given
(``fasternet_yolo11/deploy/frame_detector.py``, the runner every demo shares). Cameras and
streams with an alarm: ``demo/stream_demo.py``.
"""
import argparse

from fasternet_yolo11.utils import cli


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('input', help='image file, folder of images or video file')
    p.add_argument('--out-dir', default='outputs/demo')
    p.add_argument('--score-thr', type=float, default=None,
                   help='default: the best-F1 threshold stored in the checkpoint, else 0.3')
    p.add_argument('--device', default='cpu')
    p.add_argument('--deploy', action='store_true', help='fuse Conv+BN, PConv slicing')
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='key=value overrides of the config')
    return p.parse_args()


def main():
    args = parse_args()
    from tqdm import tqdm

    from fasternet_yolo11.deploy.frame_detector import PyTorchFrameDetector
    from fasternet_yolo11.deploy.inference import Outputs, iter_frames, video_fps
    from fasternet_yolo11.utils.config_utils import apply_checkpoint_settings
    cfg = cli.load_config(args.config)
    cli.check_checkpoint(args.checkpoint)
    with cli.one_line_errors():  # class names and image size from the checkpoint: no dataset needed
        for note in apply_checkpoint_settings(cfg, args.checkpoint):
            print(f'note: {note}')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    with cli.one_line_errors():
        detector = PyTorchFrameDetector(cfg, args.checkpoint, device=args.device, deploy=args.deploy,
                                        score_thr=args.score_thr)
        total, frames = iter_frames(args.input)
    print(f'threshold {detector.score_thr:.3f} ({detector.score_thr_source})')
    out = Outputs(args.out_dir, args.input, video_fps(args.input))
    for name, frame in tqdm(frames, total=total, desc='detect', unit='img'):
        out.add(name, frame, detector(frame, name), detector.classes)
    print(f'{len(out.results)} image(s) -> {args.out_dir}; detections: {out.close()}')


if __name__ == '__main__':
    cli.start()
    main()
