"""Export a detector to ONNX (what ``tools/deployment/export_onnx.py`` runs).

The graph's input is ``images`` (B, 3, H, W) float32: the letterboxed image, RGB, normalised as
the config's data preprocessor does. Mode ``raw`` outputs the head tensors ``cls_<stride>``
(class logits) and ``box_<stride>`` (ltrb distances in grid units) of the branch that infers;
mode ``end2end`` decodes and post-processes in the graph, with ONNX ``NonMaxSuppression`` for
YOLO11's head and a TopK (no NMS) for YOLO26's end-to-end head: ``num_dets`` (B, 1), ``boxes``
(B, K, 4) xyxy input pixels, ``scores`` (B, K), ``labels`` (B, K). The metadata's
``postprocess`` (``nms`` or ``topk``) tells a runtime how to finish a ``raw`` export. The test
pipeline, the normaliser, the class names, the strides and the checkpoint's best-F1 threshold are
stored in the file's metadata, from which
:class:`~fasternet_yolo11.deploy.exported.ExportedDetector` runs it.
"""
import copy
import json
import os
import os.path as osp

from ..errors import UserError

DEFAULT_OPSET = 17


class ExportError(UserError, RuntimeError):
    """An export that cannot be made as asked (a missing optional package, a failed
    simplification); the message says which."""


def export(model, cfg, out, img_hw=None, mode='end2end', batch=1, dynamic_batch=False,
           pconv='slicing', fuse=True, simplify=False, opset=DEFAULT_OPSET, keep_top_k=None,
           iou_thr=None, score_thr=None, best_f1_threshold=None) -> dict:
    """Export ``model`` (a detector built from ``cfg``; copied, never changed) to ``out``.

    ``img_hw``: the input (H, W) (None: the config's ``img_scale``); ``batch`` the traced batch,
    ``dynamic_batch`` a symbolic one; ``mode``: ``end2end`` or ``raw``; ``pconv``, ``fuse``:
    the deploy form's steps (:func:`~fasternet_yolo11.models.deploy_form.switch_to_deploy`);
    ``simplify``: run onnxsim; ``keep_top_k``, ``iou_thr``, ``score_thr``: the end2end graph's
    post-processing (None: the config's ``model.test_cfg``); ``best_f1_threshold``: stored in the
    metadata for the runtimes' default threshold.

    Returns a summary dict: path, size_mb, nodes, ops (a histogram of the node types).
    """
    import onnx
    import torch

    from ..models.deploy_form import switch_to_deploy
    from .export_graphs import End2End, RawOutputs, is_nms_free

    model = switch_to_deploy(copy.deepcopy(model).cpu(), fuse=fuse, pconv=pconv, channels_last=False)
    img_hw = list(img_hw or list(cfg.get('img_scale', (640, 640)))[::-1])
    if mode == 'raw':
        graph = RawOutputs(model)
        strides = model.bbox_head.featmap_strides
        outputs = [f'cls_{s}' for s in strides] + [f'box_{s}' for s in strides]
    elif mode == 'end2end':
        test_cfg = cfg.model.get('test_cfg', {})
        keep = keep_top_k or test_cfg.get('max_per_img', 100)
        iou = iou_thr if iou_thr is not None else test_cfg.get('nms', {}).get('iou_threshold', 0.7)
        thr = score_thr if score_thr is not None else test_cfg.get('score_thr', 0.25)
        graph = End2End(model, img_hw, keep, iou, thr)
        outputs = ['num_dets', 'boxes', 'scores', 'labels']
    else:
        raise ValueError(f"mode must be 'end2end' or 'raw', got {mode!r}")
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    dummy = torch.zeros(batch, 3, *img_hw)
    dynamic = {n: {0: 'batch'} for n in ['images'] + outputs} if dynamic_batch else None
    with torch.no_grad():
        # The TorchScript exporter: it emits the custom NonMaxSuppression symbolic and needs
        # no onnxscript (torch >= 2.9 defaults to the dynamo exporter).
        torch.onnx.export(graph, (dummy,), out, dynamo=False, opset_version=opset,
                          input_names=['images'], output_names=outputs,
                          dynamic_axes=dynamic, do_constant_folding=True)
    onnx_model = onnx.load(out)
    if simplify:
        try:
            import onnxsim
        except ImportError:
            raise ExportError('--simplify needs onnxsim (pip install -r requirements/deploy.txt)') from None
        onnx_model, ok = onnxsim.simplify(onnx_model)
        if not ok:
            raise ExportError('onnxsim could not validate the simplified model')
    pre = cfg.model.data_preprocessor
    meta = dict(mode=mode, img_hw=json.dumps(list(img_hw)),
                classes=json.dumps(list(cfg.get('metainfo', {}).get('classes', ()))),
                mean=json.dumps(list(pre.get('mean', (0., 0., 0.)))),
                std=json.dumps(list(pre.get('std', (1., 1., 1.)))),
                bgr_to_rgb=json.dumps(bool(pre.get('bgr_to_rgb', False))),
                pipeline=json.dumps(cfg.test_dataloader.dataset.pipeline, default=str),
                strides=json.dumps(list(model.bbox_head.featmap_strides)),
                pconv=pconv, fused=json.dumps(bool(fuse)),
                postprocess='topk' if is_nms_free(model) else 'nms')
    if best_f1_threshold is not None:
        meta['best_f1_threshold'] = json.dumps(float(best_f1_threshold))
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
