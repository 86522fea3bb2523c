"""``ModelSummaryHook``: one table of the detector's blocks in the log at start-up.

Backbone, each neck block (SPPF and C2PSA included) and the head, with input/output channels
and parameters, so that a user sees at a glance that FasterNet is in the model and what each
part costs.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmyolo.registry import HOOKS
from torch import nn


def _channels(value):
    """Channel count(s) of a tensor or a tuple/list of tensors, as text."""
    if torch.is_tensor(value):
        return str(value.shape[1]) if value.dim() == 4 else str(tuple(value.shape[1:]))
    if isinstance(value, (list, tuple)):
        return '/'.join(_channels(v) for v in value)
    return '-'


def _blocks_of(module, prefix):
    """Children of ``module``, looking through ModuleLists and Sequentials (e.g. SPPF + C2PSA)."""
    for name, child in module.named_children():
        if isinstance(child, (nn.ModuleList, nn.Sequential)):
            yield from _blocks_of(child, f'{prefix}.{name}')
        else:
            yield f'{prefix}.{name}', child


def summary_rows(model, input_size=(64, 64)):
    """Rows (name, type, in channels, out channels, params) for the detector's top-level blocks.

    Blocks are the backbone as a whole, every block of the neck (looking through ModuleLists
    and Sequentials) and the head module; channels come from one forward pass on a small zero
    image. Parameter-free blocks (Identity, Upsample) are left out.
    """
    blocks = [('backbone', model.backbone)]
    if getattr(model, 'neck', None) is not None:
        blocks += list(_blocks_of(model.neck, 'neck'))
    head = model.bbox_head
    blocks.append(('bbox_head', getattr(head, 'head_module', head)))

    seen, handles = {}, []
    for name, module in blocks:
        def hook(mod, args, output, name=name):
            seen.setdefault(name, (_channels(args[0] if len(args) == 1 else args), _channels(output)))
        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            model._forward(torch.zeros(1, 3, *input_size, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    rows = []
    for name, module in blocks:
        params = sum(p.numel() for p in module.parameters())
        if params == 0:  # Identity, Upsample: nothing to see
            continue
        c_in, c_out = seen.get(name, ('-', '-'))
        rows.append((name, type(module).__name__, c_in, c_out, params))
    return rows


def format_summary(rows, total):
    widths = [max(len(str(r[i])) for r in rows + [('block', 'type', 'in', 'out', 0)])
              for i in range(4)]
    lines = [f'{"block":<{widths[0]}}  {"type":<{widths[1]}}  {"in":>{widths[2]}}  '
             f'{"out":>{widths[3]}}  {"params":>11}']
    for name, typ, c_in, c_out, params in rows:
        lines.append(f'{name:<{widths[0]}}  {typ:<{widths[1]}}  {c_in:>{widths[2]}}  '
                     f'{c_out:>{widths[3]}}  {params:>11,}')
    lines.append(f'total parameters: {total:,} '
                 f'(backbone {rows[0][4]:,}, neck {sum(r[4] for r in rows if r[0].startswith("neck")):,}, '
                 f'head {rows[-1][4]:,})')
    return '\n'.join(lines)


@HOOKS.register_module()
class ModelSummaryHook(Hook):
    """Log the detector's block table once, before training or testing starts."""

    priority = 'VERY_LOW'

    def __init__(self, input_size=(64, 64)):
        self.input_size = tuple(input_size)

    def before_run(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'backbone'):
            return
        rows = summary_rows(model, self.input_size)
        total = sum(p.numel() for p in model.parameters())
        runner.logger.info('Model summary (channels from a 1x3x%dx%d forward):\n%s',
                           *self.input_size, format_summary(rows, total))
