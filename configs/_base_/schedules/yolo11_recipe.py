# Ultralytics' training recipe (8.3.0 default.yaml with an explicit SGD) in mmyolo terms.
# Chain: default_runtime.py <- datasets/coco_detection.py <- schedules/yolo11_recipe.py <- models/yolo11.py <- ...
_base_ = '../datasets/coco_detection.py'
# after the _base_ line, so that mmengine reads this as a plain (not a lazy-import) config
from fasternet_yolo11.config.derivation import derived_keys  # noqa: E402

# ======================== shared numbers (schedule) ========================
# The epoch count of the official YOLO11 COCO runs is not published; 500 is YOLOv8's COCO schedule.
max_epochs = 500
close_mosaic_epochs = 10  # Ultralytics close_mosaic: last 10 epochs without mosaic
base_lr = 0.01  # lr0
lr_factor = 0.01  # lrf: linear decay to base_lr * lr_factor
weight_decay = 0.0005  # for a total batch of 64 (nbs); YOLOv5OptimizerConstructor rescales it
# Ultralytics' nominal batch (nbs): below a total batch of nbs, the gradients of round(nbs / total_batch)
# batches are summed into one optimizer step and weight decay is scaled by total_batch * accumulate / nbs;
# None steps every batch (mmyolo's YOLOv8 recipe; weight decay then keeps mmyolo's rule with base 64).
nbs = 64
save_epoch_intervals = 10  # checkpoint interval
val_interval = save_epoch_intervals
val_interval_stage2 = 1  # validation interval in the last close_mosaic_epochs
max_keep_ckpts = 2
# Ultralytics' patience: stop after this many epochs without a better fitness (0.1 mAP50 + 0.9 mAP50-95,
# DetectionPRMetric's coco/fitness); 0 never stops (tools/train.py --patience N)
patience = 100
amp = False  # mixed precision (GPU): tools/train.py --amp
# Child configs change these primaries (and the data ones of the dataset base) and end with the same
# derived_keys() line as this file: every key that depends on them is recomputed there
# (fasternet_yolo11/config/derivation.py), so nothing below needs restating.

# SGD(lr0 0.01, momentum 0.937, nesterov). The constructor makes Ultralytics' three groups (decayed weights,
# BN weights, biases) and scales weight decay by total_batch * accumulate / nbs (paramwise_cfg, derived).
# NominalBatchOptimWrapper: mmengine's OptimWrapper with Ultralytics' accumulation (gradients summed over the
# window, warm-up ramp of the window; engine/optim_wrappers.py), and a NaN/Inf loss is never applied
# (default_hooks.non_finite_loss says whether the run stops or skips); the `amp` primary (--amp) swaps it for
# its mixed-precision form.
optim_wrapper = dict(
    type='NominalBatchOptimWrapper',
    clip_grad=dict(max_norm=10.0),
    optimizer=dict(
        type='SGD',
        lr=base_lr,
        momentum=0.937,
        weight_decay=weight_decay,
        nesterov=True,
        batch_size_per_gpu=_base_.train_batch_size_per_gpu),
    constructor='YOLOv5OptimizerConstructor')
param_scheduler = None  # the hook below schedules lr and momentum

default_hooks = dict(
    # linear lr to lr_factor; 3 warm-up epochs (at least 100 iterations, as Ultralytics) with bias lr from 0.1
    # and momentum from 0.8
    param_scheduler=dict(
        type='YOLOv5ParamSchedulerHook',
        scheduler_type='linear',
        lr_factor=lr_factor,
        max_epochs=max_epochs,
        warmup_epochs=3,
        warmup_bias_lr=0.1,
        warmup_momentum=0.8,
        warmup_mim_iter=100),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=save_epoch_intervals, save_best='auto', max_keep_ckpts=max_keep_ckpts,
        backend_args=dict(backend='atomic_local')))

custom_hooks = [
    # Ultralytics ModelEMA(decay 0.9999, tau 2000)
    dict(
        type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True, strict_load=False,
        priority=49),
    dict(
        type='mmdet.PipelineSwitchHook',
        switch_epoch=max_epochs - close_mosaic_epochs,
        switch_pipeline=_base_.train_pipeline_stage2),
    # the best-F1 confidence threshold of the last validation goes into every checkpoint's meta (the demos' default)
    dict(type='BestThresholdHook'),
    dict(type='FitnessEarlyStoppingHook', monitor='coco/fitness', rule='greater', patience=patience)
]

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=val_interval,
    dynamic_intervals=[(max_epochs - close_mosaic_epochs, val_interval_stage2)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# the keys that follow from the primaries (accumulative_counts, paramwise_cfg, ...), checked
globals().update(derived_keys(_base_, globals()))
