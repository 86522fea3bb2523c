"""The project's hooks, one per file."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .deploy_mode_hook import DeployModeHook
from .model_summary_hook import ModelSummaryHook, format_summary, summary_rows
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = ['AtomicCheckpointHook', 'ChannelsLastHook', 'DeployModeHook', 'ModelSummaryHook',
           'NonFiniteLossError', 'NonFiniteLossHook', 'format_summary', 'summary_rows']
