# Ultralytics' training recipe (8.3.0 default.yaml with an explicit SGD) in mmyolo terms.
# Chain: default_runtime.py <- datasets/coco_detection.py <- schedules/yolo11_recipe.py <- models/yolo11.py <- ...
_base_ = '../datasets/coco_detection.py'

# ======================== shared numbers (schedule) ========================
# The epoch count of the official YOLO11 COCO runs is not published; 500 is YOLOv8's COCO schedule.
max_epochs = 500
close_mosaic_epochs = 10  # Ultralytics close_mosaic: last 10 epochs without mosaic
base_lr = 0.01  # lr0
lr_factor = 0.01  # lrf: linear decay to base_lr * lr_factor
weight_decay = 0.0005  # for a total batch of 64 (nbs); YOLOv5OptimizerConstructor rescales it
save_epoch_intervals = 10
max_keep_ckpts = 2
val_interval_stage2 = 1
# NOTE: values derived from these (switch_epoch, max_epochs of the hook and loop, dynamic_intervals,
# batch_size_per_gpu) are not recomputed when a child config overrides them: override those too.

# SGD(lr0 0.01, momentum 0.937, nesterov). The constructor makes Ultralytics' three groups (decayed weights,
# BN weights, biases) and scales weight decay by total_batch * accumulate / 64. Ultralytics also accumulates
# (sums) gradients up to 64 images per step when the batch is smaller; this recipe steps every batch, as
# mmyolo's YOLOv8 does, so it matches Ultralytics exactly at a total batch of 64 or more (e.g. 4 GPUs x 16).
# FiniteOptimWrapper: mmengine's OptimWrapper, except that a NaN/Inf loss is never applied
# (engine/optim_wrappers.py; default_hooks.non_finite_loss says whether the run stops or skips).
optim_wrapper = dict(
    type='FiniteOptimWrapper',
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
        switch_pipeline=_base_.train_pipeline_stage2)
]

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=save_epoch_intervals,
    dynamic_intervals=[(max_epochs - close_mosaic_epochs, val_interval_stage2)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
