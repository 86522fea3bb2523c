"""Export a detector to ONNX.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] [--out model.onnx]
        [--img-size 640 640] [--batch 1] [--dynamic-batch] [--mode end2end|raw]
        [--pconv slicing|split_cat] [--no-fuse] [--simplify] [--opset 17]
        [--keep-top-k K] [--iou-thr T] [--score-thr S]   (default: the config's test_cfg)

Input ``images`` (B, 3, H, W) float32: the letterboxed image, RGB, normalised as the config's
data preprocessor does (demo/image_demo.py --backend onnxruntime does it). ``--mode raw`` outputs the head
tensors ``cls_8, cls_16, cls_32`` (class logits) and ``box_8, box_16, box_32`` (ltrb distances
in grid units); ``--mode end2end`` decodes and runs ONNX ``NonMaxSuppression`` in the graph:
``num_dets`` (B, 1), ``boxes`` (B, K, 4) xyxy input pixels, ``scores`` (B, K), ``labels``
(B, K). Without CHECKPOINT the weights are random (for speed tests). The test pipeline, the
normaliser, the class names and the checkpoint's best-F1 threshold are stored in the file's
metadata for the demos. The export itself is ``fasternet_yolo11.deploy.onnx_export.export``.
"""
import argparse

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None)
    p.add_argument('--out', default=None, help='default: <config name>_<mode>.onnx')
    p.add_argument('--img-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                   help="default: the size the checkpoint was trained at, else the config's img_scale")
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--dynamic-batch', action='store_true')
    p.add_argument('--mode', choices=('end2end', 'raw'), default='end2end')
    p.add_argument('--pconv', choices=('slicing', 'split_cat'), default='slicing')
    p.add_argument('--no-fuse', action='store_true', help='keep BatchNorm layers')
    p.add_argument('--simplify', action='store_true', help='run onnxsim on the graph')
    p.add_argument('--opset', type=int, default=17)
    # Defaults: the config's model.test_cfg (max_per_img, nms.iou_threshold, score_thr), so
    # that the exported graph keeps what `tools/test.py` and the PyTorch demo keep.
    p.add_argument('--keep-top-k', type=int, default=None)
    p.add_argument('--iou-thr', type=float, default=None)
    p.add_argument('--score-thr', type=float, default=None)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import os.path as osp

    from fasternet_yolo11.config.run_settings import apply_checkpoint_settings
    from fasternet_yolo11.deploy.detector import init_model
    from fasternet_yolo11.deploy.onnx_export import export
    from fasternet_yolo11.engine.checkpoint_meta import best_threshold_from_checkpoint
    cfg = cli.load_config(args.config)
    cli.check_file(args.checkpoint, 'checkpoint')
    for note in apply_checkpoint_settings(cfg, args.checkpoint):  # no dataset needed
        print(f'note: {note}')
    model = init_model(cfg, args.checkpoint)
    out = args.out or f'{osp.splitext(osp.basename(args.config))[0]}_{args.mode}.onnx'
    info = export(model, cfg, out, img_hw=args.img_size, mode=args.mode, batch=args.batch,
                  dynamic_batch=args.dynamic_batch, pconv=args.pconv, fuse=not args.no_fuse,
                  simplify=args.simplify, opset=args.opset, keep_top_k=args.keep_top_k, iou_thr=args.iou_thr,
                  score_thr=args.score_thr,
                  best_f1_threshold=best_threshold_from_checkpoint(args.checkpoint) if args.checkpoint else None)
    top = ', '.join(f'{k} {v}' for k, v in sorted(info['ops'].items(), key=lambda kv: -kv[1])[:8])
    print(f"saved {info['path']}: {info['size_mb']:.2f} MiB, {info['nodes']} nodes ({top}); "
          f"mode {args.mode}, PConv {args.pconv}, "
          f"{'BN kept' if args.no_fuse else 'Conv+BN fused'}, "
          f"batch {'dynamic' if args.dynamic_batch else args.batch}")


if __name__ == '__main__':
    cli.main(main)
