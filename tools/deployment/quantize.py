"""INT8 post-training static quantization: a checkpoint -> an INT8 ONNX model for the CPU.

    python tools/deployment/quantize.py CONFIG CKPT --calib-data DATA_YAML [--num-images 200]
        [--calib-split train|val] [--backend onnxruntime|openvino] [--out model_int8.onnx]
        [--fp32-out model_fp32.onnx] [--keep-fp32 first head] [--img-size H W]
        [--calibrate-method MinMax|Entropy|Percentile] [--no-per-channel]

Exports the fused model (``raw`` head outputs, PConv slicing, the checkpoint's image size) to
fp32 ONNX (``--fp32-out``, else a temporary file), then quantizes it, calibrated on
``--num-images`` images of the data yaml's ``--calib-split`` (an even random sample; each image
through the config's test pipeline and the data preprocessor's normalisation, as at inference):

* ``--backend onnxruntime``: ONNX Runtime ``quantize_static``, QDQ, per-channel int8 weights, uint8
  activations, MinMax calibration (``--calibrate-method``);
* ``--backend openvino``: NNCF on the OpenVINO model (target CPU, preset MIXED).

``onnxruntime`` writes a QDQ ``.onnx``, which runs in ONNX Runtime and in OpenVINO; ``openvino``
an OpenVINO IR (``.xml`` + ``.bin``), which runs in OpenVINO only. Both keep the fp32 file's
metadata (``image_demo.py --backend``, ``test_exported.py --backend``). The decoding
after the head's last convs always stays fp32; ``--keep-fp32 first`` keeps the first conv
(it sees the image) and ``head`` the head's last convs (logits and box distributions) fp32 too.
Compare the mAP of both files with tools/deployment/test_exported.py.
"""
import argparse
import os.path as osp
import tempfile

from fasternet_yolo11.utils import cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--calib-data', required=True, metavar='DATA_YAML',
                   help='Ultralytics data yaml whose images calibrate the activations')
    p.add_argument('--calib-split', default='train', choices=('train', 'val', 'test'))
    p.add_argument('--num-images', type=int, default=200)
    p.add_argument('--backend', default='onnxruntime', choices=('onnxruntime', 'openvino'),
                   help='onnxruntime: ONNX Runtime quantize_static; openvino: NNCF')
    p.add_argument('--out', default=None,
                   help='default: <config name>_int8_<backend>.onnx (.xml for openvino)')
    p.add_argument('--fp32-out', default=None, help='also keep the fp32 export here')
    p.add_argument('--keep-fp32', nargs='*', default=[], choices=('first', 'head'),
                   help='leave the first conv and/or the head\'s last convs in fp32')
    p.add_argument('--img-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                   help='default: the size the checkpoint was trained at')
    p.add_argument('--calibrate-method', default='MinMax',
                   choices=('MinMax', 'Entropy', 'Percentile'), help='onnxruntime only')
    p.add_argument('--no-per-channel', action='store_true', help='onnxruntime: per-tensor weights')
    p.add_argument('--seed', type=int, default=0, help='of the calibration sample')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fasternet_yolo11.config.run_settings import apply_checkpoint_settings
    from fasternet_yolo11.deploy.detector import init_model
    from fasternet_yolo11.deploy.exported import load_exported
    from fasternet_yolo11.deploy.onnx_export import export
    from fasternet_yolo11.deploy.quantization import (
        CalibrationImages,
        calibration_files,
        int8_suffix,
        quantize,
    )
    suffix = int8_suffix(args.backend)
    if args.out and not args.out.lower().endswith(suffix):
        cli.die(f'--backend {args.backend} writes a {suffix} file: --out {args.out} should end with {suffix}')
    cfg = cli.load_config(args.config)
    cli.check_file(args.checkpoint, 'checkpoint')
    out = args.out or f'{osp.splitext(osp.basename(args.config))[0]}_int8_{args.backend}{suffix}'
    for note in apply_checkpoint_settings(cfg, args.checkpoint):
        print(f'note: {note}')
    files = calibration_files(args.calib_data, args.calib_split, args.num_images, args.seed)
    model = init_model(cfg, args.checkpoint)
    if len(files) < args.num_images:
        print(f'note: {len(files)} calibration images in the {args.calib_split} split '
              f'(--num-images {args.num_images})')
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = args.fp32_out or osp.join(tmp, 'fp32.onnx')
        # the deploy-form raw export the quantizers start from
        export(model, cfg, fp32, img_hw=args.img_size, mode='raw')
        images = CalibrationImages(files, load_exported(fp32))
        info = quantize(fp32, out, images, args.backend, args.keep_fp32,
                        per_channel=not args.no_per_channel, calibrate_method=args.calibrate_method)
    print(f"saved {info['path']}: {info['size_mb']:.2f} MiB (fp32 {info['fp32_size_mb']:.2f} MiB), "
          f"INT8 {args.backend}, {info['calib_images']} calibration images, "
          f"{len(info['excluded'])} nodes fp32 ({', '.join(args.keep_fp32) or 'decode only'})"
          + (f'; fp32 export: {args.fp32_out}' if args.fp32_out else ''))


if __name__ == '__main__':
    cli.main(main)
