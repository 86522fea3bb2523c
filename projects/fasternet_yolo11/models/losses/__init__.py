from .distill_losses import BoxDistillLoss, ChannelWiseDivergence, ScoreDistillLoss, binary_kl, head_branches

__all__ = ['BoxDistillLoss', 'ChannelWiseDivergence', 'ScoreDistillLoss', 'binary_kl', 'head_branches']
