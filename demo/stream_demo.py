"""Run a detector on a camera, a stream, a video or images, with a fire alarm.

    python demo/stream_demo.py SOURCE --config CONFIG --weights CHECKPOINT        # PyTorch
    python demo/stream_demo.py SOURCE --weights MODEL.onnx --backend onnxruntime  # or openvino
        [--alarm-classes fire smoke --alarm-k 3 --alarm-n 5 --alarm-cooldown 10]
        [--events FILE|-] [--save OUT.mp4] [--show] [--score-thr T]

SOURCE: a webcam index (``0``), an ``rtsp://`` or ``http://`` URL, a video file, an image or a
folder. The threshold is the best-F1 threshold stored with the weights unless ``--score-thr``
is given (``fasternet_yolo11/deploy/detector.py``). ``--events`` writes one JSON line per
frame (its detections, latency) and one per ``alarm`` / ``clear`` event; alarms are also logged
on stderr. A live source is read without queueing (frames are dropped when inference is slower
than the camera) and reopened with back-off when it drops (``fasternet_yolo11/deploy/sources.py``).
"""
import argparse
import json
import sys
import time

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('source', help='webcam index, rtsp:// or http:// URL, video file, image or folder')
    p.add_argument('--weights', required=True, help='checkpoint (pytorch) or exported .onnx (onnxruntime, openvino)')
    p.add_argument('--config', help='the checkpoint\'s config (pytorch backend)')
    p.add_argument('--backend', default='pytorch', choices=('pytorch', 'onnxruntime', 'openvino'))
    p.add_argument('--device', default='cpu')
    p.add_argument('--deploy', action='store_true', help='pytorch: Conv+BN fused, PConv slicing')
    p.add_argument('--threads', type=int, default=0, help='onnxruntime/openvino threads (0: the runtime\'s default)')
    p.add_argument('--score-thr', type=float, default=None,
                   help='detection threshold (default: the best-F1 threshold stored with the weights, else 0.3)')
    p.add_argument('--alarm-classes', nargs='+', default=None, metavar='CLASS',
                   help='classes that raise the alarm (default: all)')
    p.add_argument('--alarm-k', type=int, default=3, help='alarm when detected in k ...')
    p.add_argument('--alarm-n', type=int, default=5, help='... of the last n frames; clear after n absent frames')
    p.add_argument('--alarm-cooldown', type=float, default=10.0, help='seconds between two alarms of a class')
    p.add_argument('--events', metavar='FILE', help="JSON lines of frames and alarm events ('-': stdout)")
    p.add_argument('--save', metavar='OUT.mp4', help='write the drawn frames to a video')
    p.add_argument('--show', action='store_true', help='draw in a window (q quits)')
    p.add_argument('--max-frames', type=int, default=0, help='stop after this many frames (0: the whole source)')
    p.add_argument('--reconnects', type=int, default=10, help='attempts to reopen a dropped live stream')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.backend == 'pytorch' and not args.config:
        cli.die('--backend pytorch needs --config (the checkpoint\'s config)')
    if not 1 <= args.alarm_k <= args.alarm_n:
        cli.die(f'--alarm-k/--alarm-n: the alarm needs 1 <= k <= n, got k={args.alarm_k} n={args.alarm_n}')
    from fasternet_yolo11.deploy.detector import load_frame_detector
    from fasternet_yolo11.deploy.outputs import draw, overlay, video_writer
    from fasternet_yolo11.deploy.sources import StreamReader
    from fasternet_yolo11.deploy.stream import AlarmRule, detect_stream

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    # the source first: a bad one is one line before any model is loaded
    reader = StreamReader(args.source, reconnects=args.reconnects, log=log)
    cli.check_file(args.weights, 'checkpoint' if args.backend == 'pytorch' else 'model')
    notes = []
    detector = load_frame_detector(args.backend, args.weights, args.config, device=args.device, deploy=args.deploy,
                                   score_thr=args.score_thr, threads=args.threads, notes=notes)
    for note in notes:
        log(f'note: {note}')
    classes = args.alarm_classes or detector.classes
    unknown = [c for c in classes if c not in detector.classes]
    if unknown:
        cli.die(f'--alarm-classes {" ".join(unknown)}: not classes of the model ({", ".join(detector.classes)})')
    alarm = AlarmRule(classes, args.alarm_k, args.alarm_n, args.alarm_cooldown)
    log(f'{args.backend} on {reader.kind} {args.source!r}: threshold {detector.score_thr:.3f} '
        f'({detector.score_thr_source}); alarm on {", ".join(classes)} at {args.alarm_k} of {args.alarm_n} frames')
    events = sys.stdout if args.events == '-' else open(args.events, 'w') if args.events else None
    writer, frames, latency_sum, active = None, 0, 0.0, set()
    t_start = time.perf_counter()
    try:
        for r in detect_stream(reader, detector, alarm, args.max_frames):
            frames += 1
            latency_sum += r.latency_ms
            for e in r.events:
                (active.add if e['event'] == 'alarm' else active.discard)(e['class'])
                log(f"{e['event'].upper()} {e['class']} at frame {e['frame']} (t={e['t']:.2f} s)")
            if events:
                events.write(json.dumps({'event': 'frame', 'frame': r.index, 't': round(r.t, 3),
                                         'latency_ms': round(r.latency_ms, 2), 'detections': r.detections}) + '\n')
                for e in r.events:
                    events.write(json.dumps(e) + '\n')
                events.flush()
            if args.save or args.show:
                drawn = overlay(draw(r.frame, r.detections, detector.classes), r.fps, r.latency_ms, sorted(active))
                if args.save:
                    if writer is None:
                        writer = video_writer(args.save, reader.fps, (drawn.shape[1], drawn.shape[0]))
                    writer.write(drawn)
                if args.show and not show(drawn):
                    break
    except KeyboardInterrupt:
        log('interrupted')
    finally:
        reader.close()
        if writer is not None:
            writer.release()
        if events not in (None, sys.stdout):
            events.close()
    wall = time.perf_counter() - t_start
    s = reader.stats
    log(f'{frames} frames in {wall:.1f} s ({frames / max(wall, 1e-9):.1f} FPS, mean latency '
        f'{latency_sum / max(frames, 1):.1f} ms); read {s["read"]}, dropped {s["dropped"]}, '
        f'reconnects {s["reconnects"]}')


def show(img):
    """Draw in a window; False when q is pressed."""
    import cv2
    try:
        cv2.imshow('stream_demo', img)
        return cv2.waitKey(1) & 0xFF != ord('q')
    except cv2.error:
        cli.die('--show needs an OpenCV with a GUI (this one is headless); use --save')


if __name__ == '__main__':
    cli.main(main)
