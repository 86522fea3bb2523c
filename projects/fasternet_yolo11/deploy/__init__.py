"""Deployment: running a trained detector outside training, each concern in its own module.

``runtimes`` (the backend vocabulary; ONNX Runtime and OpenVINO sessions), ``preprocess`` (the
test pipeline on a frame, boxes back to the frame), ``sources`` (images, folders, videos,
cameras, streams), ``detector`` (a frame in, detections out, in any runtime), ``outputs``
(drawing and the detection files), ``stream`` (the alarm rule), ``export_graphs`` and
``onnx_export`` (ONNX export), ``exported`` (an exported model run), ``exported_eval`` (its COCO
metric), ``quantization`` (INT8), ``speed_runners`` (one model in every backend, for timing).

Nothing here is imported by ``import fasternet_yolo11``: the submodules are imported on use, and
the ONNX Runtime / OpenVINO packages only when a session is opened. The deploy form itself
(Conv+BN fused, PConv slicing) is :mod:`fasternet_yolo11.models.deploy_form`.
"""
