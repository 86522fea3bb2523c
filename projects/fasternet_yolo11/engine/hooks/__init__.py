"""The project's hooks, one per file."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .best_threshold_hook import BestThresholdHook
from .channels_last_hook import ChannelsLastHook
from .deploy_mode_hook import DeployModeHook
from .distillation_teacher_hook import DistillationTeacherHook
from .fitness_early_stopping_hook import FitnessEarlyStoppingHook
from .model_summary_hook import ModelSummaryHook, format_summary, summary_rows
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['AtomicCheckpointHook', 'BestThresholdHook', 'ChannelsLastHook', 'DeployModeHook', 'DistillationTeacherHook',
           'FitnessEarlyStoppingHook', 'ModelSummaryHook', 'NonFiniteLossError', 'NonFiniteLossHook',
           'format_summary', 'summary_rows']
