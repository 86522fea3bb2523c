"""Export a detector to ONNX (what ``tools/deployment/export_onnx.py`` runs).

The graph's input is ``images`` (B, 3, H, W) float32: the letterboxed image, RGB, normalised as
the config's data preprocessor does. Mode ``raw`` outputs the head tensors ``cls_<stride>``
(class logits) and ``box_<stride>`` (ltrb distances in grid units); mode ``end2end`` decodes
and runs ONNX ``NonMaxSuppression`` in the graph: ``num_dets`` (B, 1), ``boxes`` (B, K, 4) xyxy
input pixels, ``scores`` (B, K), ``labels`` (B, K). The test pipeline, the normaliser, the
class names, the strides and the checkpoint's best-F1 threshold are stored in the file's metadata, from which
:class:`~fasternet_yolo11.deploy.inference.OnnxDetector` runs it.
"""
import copy
import json
import os
import os.path as osp


class ExportError(RuntimeError):
    """An export that cannot be made as asked (a missing optional package, a failed
    simplification); the message says which."""


def export(options, cfg=None, model=None):
    """Export per ``options``; returns a summary dict (path, size_mb, nodes, ops: a histogram
    of the node types).

    ``options``: the arguments of ``tools/deployment/export_onnx.py`` (an
    ``argparse.Namespace`` or any object with those attributes): ``config``, ``checkpoint``,
    ``out`` (None: ``<config name>_<mode>.onnx``), ``img_size`` (H, W; None: the config's
    ``img_scale``), ``batch``, ``dynamic_batch``, ``mode`` (``end2end`` or ``raw``), ``pconv``,
    ``no_fuse``, ``simplify``, ``opset`` and ``keep_top_k``, ``iou_thr``, ``score_thr`` (None:
    the config's ``model.test_cfg``). ``cfg`` (default: ``options.config`` loaded) and
    ``model`` (default: built from ``cfg`` and ``options.checkpoint``) may be given; the model
    is copied, never changed.
    """
    import onnx
    import torch

    from .deploy_form import fuse_conv_bn, set_pconv_mode
    from .export_graphs import End2End, RawOutputs
    from .inference import init_model

    if cfg is None:
        from ..utils.cli import load_config
        cfg = load_config(options.config)
    if model is None:
        model = init_model(cfg, options.checkpoint)
    model = copy.deepcopy(model).cpu().eval()
    if not options.no_fuse:
        fuse_conv_bn(model)
    set_pconv_mode(model, options.pconv)
    img_hw = options.img_size or list(cfg.get('img_scale', (640, 640)))[::-1]
    if options.mode == 'raw':
        graph = RawOutputs(model)
        strides = model.bbox_head.featmap_strides
        outputs = [f'cls_{s}' for s in strides] + [f'box_{s}' for s in strides]
    else:
        test_cfg = cfg.model.get('test_cfg', {})
        keep = options.keep_top_k or test_cfg.get('max_per_img', 100)
        iou = options.iou_thr if options.iou_thr is not None else \
            test_cfg.get('nms', {}).get('iou_threshold', 0.7)
        thr = options.score_thr if options.score_thr is not None else test_cfg.get('score_thr', 0.25)
        graph = End2End(model, img_hw, keep, iou, thr)
        outputs = ['num_dets', 'boxes', 'scores', 'labels']
    out = options.out or f'{osp.splitext(osp.basename(options.config))[0]}_{options.mode}.onnx'
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    dummy = torch.zeros(options.batch, 3, *img_hw)
    dynamic = {n: {0: 'batch'} for n in ['images'] + outputs} if options.dynamic_batch else None
    with torch.no_grad():
        # The TorchScript exporter: it emits the custom NonMaxSuppression symbolic and needs
        # no onnxscript (torch >= 2.9 defaults to the dynamo exporter).
        torch.onnx.export(graph, (dummy,), out, dynamo=False, opset_version=options.opset,
                          input_names=['images'], output_names=outputs,
                          dynamic_axes=dynamic, do_constant_folding=True)
    onnx_model = onnx.load(out)
    if options.simplify:
        try:
            import onnxsim
        except ImportError:
            raise ExportError('--simplify needs onnxsim (pip install -r requirements/deploy.txt)') from None
        onnx_model, ok = onnxsim.simplify(onnx_model)
        if not ok:
            raise ExportError('onnxsim could not validate the simplified model')
    pre = cfg.model.data_preprocessor
    meta = dict(mode=options.mode, img_hw=json.dumps(list(img_hw)),
                classes=json.dumps(list(cfg.get('class_name', None)
                                        or cfg.get('metainfo', {}).get('classes', ()))),
                mean=json.dumps(list(pre.get('mean', (0., 0., 0.)))),
                std=json.dumps(list(pre.get('std', (1., 1., 1.)))),
                bgr_to_rgb=json.dumps(bool(pre.get('bgr_to_rgb', False))),
                pipeline=json.dumps(cfg.test_dataloader.dataset.pipeline, default=str),
                strides=json.dumps(list(model.bbox_head.featmap_strides)),
                pconv=options.pconv, fused=json.dumps(not options.no_fuse))
    if getattr(options, 'checkpoint', None):
        # the checkpoint's best-F1 threshold (BestThresholdHook): the runners' default display threshold
        from ..engine.hooks.best_threshold_hook import best_threshold_from_checkpoint
        best = best_threshold_from_checkpoint(options.checkpoint)
        if best is not None:
            meta['best_f1_threshold'] = json.dumps(best)
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
