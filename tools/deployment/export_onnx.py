"""Export a detector to ONNX.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] [--out model.onnx]
        [--img-size 640 640] [--batch 1] [--dynamic-batch] [--mode end2end|raw]
        [--pconv slicing|split_cat] [--no-fuse] [--simplify] [--opset 17]
        [--keep-top-k K] [--iou-thr T] [--score-thr S]   (default: the config's test_cfg)

Input ``images`` (B, 3, H, W) float32: the letterboxed image, RGB, normalised as the config's
data preprocessor does (tools/deployment/onnx_demo.py does it). ``--mode raw`` outputs the head
tensors ``cls_8, cls_16, cls_32`` (class logits) and ``box_8, box_16, box_32`` (ltrb distances
in grid units); ``--mode end2end`` decodes and runs ONNX ``NonMaxSuppression`` in the graph:
``num_dets`` (B, 1), ``boxes`` (B, K, 4) xyxy input pixels, ``scores`` (B, K), ``labels``
(B, K). Without CHECKPOINT the weights are random (for speed tests). The test pipeline, the
normaliser and the class names are stored in the file's metadata for onnx_demo.py.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tools import _bootstrap  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None)
    p.add_argument('--out', default=None, help='default: <config name>_<mode>.onnx')
    p.add_argument('--img-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                   help="default: the config's img_scale")
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


def build_model(cfg, checkpoint, device='cpu'):
    from mmdet.apis import init_detector
    with _bootstrap.one_line_errors():
        model = init_detector(cfg, checkpoint, device=device)
    return model.eval()


def export(args, cfg=None, model=None):
    """Export per ``args``; returns a summary dict (path, size, node count, op histogram)."""
    import onnx
    import torch

    from projects.fasternet_yolo11.deploy import End2End, RawOutputs, fuse_conv_bn, \
        set_pconv_mode

    cfg = cfg or _bootstrap.load_config(args.config)
    if model is None:
        _bootstrap.check_checkpoint(args.checkpoint)
        model = build_model(cfg, args.checkpoint)
    model = copy.deepcopy(model).cpu().eval()
    if not args.no_fuse:
        fuse_conv_bn(model)
    set_pconv_mode(model, args.pconv)
    img_hw = args.img_size or list(cfg.get('img_scale', (640, 640)))[::-1]
    if args.mode == 'raw':
        graph = RawOutputs(model)
        strides = model.bbox_head.featmap_strides
        outputs = [f'cls_{s}' for s in strides] + [f'box_{s}' for s in strides]
    else:
        test_cfg = cfg.model.get('test_cfg', {})
        keep = args.keep_top_k or test_cfg.get('max_per_img', 100)
        iou = args.iou_thr if args.iou_thr is not None else \
            test_cfg.get('nms', {}).get('iou_threshold', 0.7)
        thr = args.score_thr if args.score_thr is not None else test_cfg.get('score_thr', 0.25)
        graph = End2End(model, img_hw, keep, iou, thr)
        outputs = ['num_dets', 'boxes', 'scores', 'labels']
    out = args.out or f'{osp.splitext(osp.basename(args.config))[0]}_{args.mode}.onnx'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    dummy = torch.zeros(args.batch, 3, *img_hw)
    dynamic = {n: {0: 'batch'} for n in ['images'] + outputs} if args.dynamic_batch else None
    with torch.no_grad():
        # The TorchScript exporter: it emits the custom NonMaxSuppression symbolic and needs
        # no onnxscript (torch >= 2.9 defaults to the dynamo exporter).
        torch.onnx.export(graph, (dummy,), out, dynamo=False, opset_version=args.opset,
                          input_names=['images'], output_names=outputs,
                          dynamic_axes=dynamic, do_constant_folding=True)
    onnx_model = onnx.load(out)
    if args.simplify:
        try:
            import onnxsim
        except ImportError:
            _bootstrap.die('--simplify needs onnxsim (pip install -r requirements/deploy.txt)')
        onnx_model, ok = onnxsim.simplify(onnx_model)
        if not ok:
            _bootstrap.die('onnxsim could not validate the simplified model')
    pre = cfg.model.data_preprocessor
    meta = dict(mode=args.mode, img_hw=json.dumps(list(img_hw)),
                classes=json.dumps(list(cfg.get('class_name', None)
                                        or cfg.get('metainfo', {}).get('classes', ()))),
                mean=json.dumps(list(pre.get('mean', (0., 0., 0.)))),
                std=json.dumps(list(pre.get('std', (1., 1., 1.)))),
                bgr_to_rgb=json.dumps(bool(pre.get('bgr_to_rgb', False))),
                pipeline=json.dumps(cfg.test_dataloader.dataset.pipeline, default=str),
                strides=json.dumps(list(model.bbox_head.featmap_strides)),
                pconv=args.pconv, fused=json.dumps(not args.no_fuse))
    del onnx_model.metadata_props[:]
    for k, v in meta.items():
        onnx_model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, out)
    ops = {}
    for node in onnx_model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return dict(path=out, size_mb=os.path.getsize(out) / 2**20, nodes=len(onnx_model.graph.node),
                ops=ops)


def main(argv=None):
    args = parse_args(argv)
    info = export(args)
    top = ', '.join(f'{k} {v}' for k, v in sorted(info['ops'].items(), key=lambda kv: -kv[1])[:8])
    print(f"saved {info['path']}: {info['size_mb']:.2f} MiB, {info['nodes']} nodes ({top}); "
          f"mode {args.mode}, PConv {args.pconv}, "
          f"{'BN kept' if args.no_fuse else 'Conv+BN fused'}, "
          f"batch {'dynamic' if args.dynamic_batch else args.batch}")


if __name__ == '__main__':
    main()
