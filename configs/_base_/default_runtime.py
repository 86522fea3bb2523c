# Runtime shared by every config of this repo (no `mmyolo::` inheritance: it breaks yolov5_collate).
default_scope = 'mmyolo'
# Registers this project's modules in every process, including dataloader workers and torchrun
# ranks (the package is installed editable by tools/setup_env.sh).
custom_imports = dict(imports=['fasternet_yolo11'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook with atomic writes (the 'atomic_local' file backend): a kill never leaves a
    # partial checkpoint or a last_checkpoint that names one (engine/hooks/atomic_checkpoint_hook.py)
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'),
    # one table of the model's blocks (backbone, SPPF/C2PSA, neck, head) with channels and params
    model_summary=dict(type='ModelSummaryHook'),
    # a NaN/Inf loss stops the run naming the iteration and loss term; action='skip' drops the
    # step instead (with the recipe's NominalBatchOptimWrapper, which never applies a non-finite step)
    non_finite_loss=dict(type='NonFiniteLossHook', action='stop'))

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to 'gloo' when no GPU is present.
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='mmdet.DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
backend_args = None
