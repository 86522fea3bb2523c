"""Evaluate an exported model (fp32 or INT8 ONNX, or an OpenVINO INT8 IR) with the config's COCO
metric on its val set.

    python tools/deployment/test_exported.py CONFIG MODEL.onnx|MODEL.xml [--backend onnxruntime|openvino]
        [--data DATA_YAML] [--max-images N] [--threads N] [--out metrics.json]

The val dataloader and ``val_evaluator`` of CONFIG (``--data``: that Ultralytics yaml's val
split, as ``tools/test.py --data``), read through the test pipeline stored in the model;
``raw`` exports are decoded and NMS-ed with the config's ``test_cfg`` as the PyTorch head does,
so an fp32 export gives ``tools/test.py``'s mAP. Prints the metrics (and writes them to
``--out``). Library: ``fasternet_yolo11.deploy.exported_eval``.
"""
import argparse
import json

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('model', help='an .onnx file from export_onnx.py or quantize.py, or an OpenVINO '
                   'IR (.xml) from quantize.py --backend openvino')
    p.add_argument('--backend', default='onnxruntime', choices=('onnxruntime', 'openvino'))
    p.add_argument('--data', metavar='YAML', help='evaluate on this Ultralytics data yaml (val)')
    p.add_argument('--max-images', type=int, default=None, help='only the first N val images')
    p.add_argument('--threads', type=int, default=0, help='runtime intra-op threads (0: default)')
    p.add_argument('--out', default=None, help='also write the metrics here (JSON)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fasternet_yolo11.config.run_settings import apply_run_settings
    from fasternet_yolo11.deploy.exported import load_exported
    from fasternet_yolo11.deploy.exported_eval import evaluate
    cli.check_file(args.model, 'model')
    cfg = cli.load_config(args.config)
    if args.data:
        apply_run_settings(cfg, data_yaml=args.data)
    det = load_exported(args.model, args.backend, threads=args.threads)
    if det.classes and len(det.classes) != cfg.model.bbox_head.head_module.num_classes:
        cli.die(f'{args.model} has {len(det.classes)} classes, {args.config} '
                f'{cfg.model.bbox_head.head_module.num_classes}; pass --data with its dataset')
    metrics = evaluate(cfg, det, args.max_images, progress=True)
    metrics = {k: float(v) for k, v in metrics.items()}
    print(json.dumps(dict(model=args.model, backend=args.backend, metrics=metrics), indent=1))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(model=args.model, backend=args.backend, metrics=metrics), f, indent=1)
    return metrics


if __name__ == '__main__':
    cli.main(main)
