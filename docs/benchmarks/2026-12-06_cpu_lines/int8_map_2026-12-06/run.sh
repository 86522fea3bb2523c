#!/usr/bin/env bash
# INT8 accuracy of the demo seed-0 checkpoints: PyTorch, fp32 ONNX, ORT INT8 (ORT and OpenVINO), NNCF IR
cd "$(dirname "$0")/../../.."
OUT=work_dirs/int8_map; mkdir -p $OUT
for name in yolo11n_coco yolo11n_faster_merging; do
  D=work_dirs/i12_demo/train/$name/seed0; CK=$(ls $D/best_coco_bbox_mAP_epoch_*.pth | head -1); CFG=$D/config.py
  mkdir -p $OUT/$name
  .venv/bin/python tools/test.py $CFG $CK --work-dir $OUT/$name/pt > $OUT/$name/pytorch.log 2>&1
  .venv/bin/python tools/deployment/quantize.py $CFG $CK --calib-data data/fire_demo/fire_demo.yaml --num-images 200 \
     --backend ort --out $OUT/$name/int8_ort.onnx --fp32-out $OUT/$name/fp32.onnx > $OUT/$name/q_ort.log 2>&1
  .venv/bin/python tools/deployment/quantize.py $CFG $CK --calib-data data/fire_demo/fire_demo.yaml --num-images 200 \
     --backend openvino --out $OUT/$name/int8_ov.xml > $OUT/$name/q_ov.log 2>&1
  for m in "fp32.onnx onnxruntime" "fp32.onnx openvino" "int8_ort.onnx onnxruntime" "int8_ort.onnx openvino" "int8_ov.xml openvino"; do
    set -- $m
    .venv/bin/python tools/deployment/test_exported.py $CFG $OUT/$name/$1 --backend $2 --out $OUT/$name/${1%.*}_$2.json > /dev/null 2>&1
    echo "$name $1 $2 $(python3 -c "import json;d=json.load(open('$OUT/$name/${1%.*}_$2.json'))['metrics'];print(d['coco/bbox_mAP'], d['coco/bbox_mAP_50'])")"
  done
  echo "$name pytorch $(grep -h bbox_mAP_copypaste $OUT/$name/pytorch.log | tail -1 | sed 's/.*copypaste: //' | cut -d' ' -f1-2)"
done
