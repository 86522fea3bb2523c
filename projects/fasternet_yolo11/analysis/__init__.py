"""Measuring models and runs: what the analysis tools (``tools/analysis_tools/``) compute.

``timing`` (timing calls, alone or interleaved; the hardware a measurement ran on), ``complexity``
(parameters and FLOPs), ``train_speed`` (training throughput, data time and peak memory), ``logs``
(mmengine's scalar logs of a work dir), ``confusion`` (confusion matrix of a detector on a split),
``seeds`` (mean ± standard error over seeds); the comparison report's parts: ``spaces`` (what it
compares: the lines, the search's designs and placements), ``compare`` (measuring and training each
model), ``report`` (its tables, verdict and plot). The runners timed (eager, deploy form, ONNX
Runtime, OpenVINO, INT8) are in ``fasternet_yolo11.deploy.speed_runners``. The submodules are
imported on use.
"""
