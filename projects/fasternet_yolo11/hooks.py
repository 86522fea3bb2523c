"""Training hooks of the project.

``ModelSummaryHook`` logs, once at start-up, one table of the detector's top-level blocks
(backbone, each neck block, head) with input/output channels and parameters, so a user sees at a
glance that FasterNet is in the model and what each part costs (the seed promises "the training
log shows the FasterNet module being initialised").

``AtomicCheckpointHook`` (with the atomic local file backend registered below) makes a kill at
any moment leave only complete checkpoints, and ``last_checkpoint`` pointing at one.

``NonFiniteLossHook`` (with ``FiniteOptimWrapper``) stops a run on a NaN/Inf loss with one line
naming the iteration and the loss terms, or skips that step when configured.

``DeployModeHook`` evaluates the inference form of the model (``tools/test.py --deploy``).

``ChannelsLastHook`` trains in the NHWC layout (``tools/train.py --channels-last``).
"""
import copy
import os
import os.path as osp
import re
import tempfile
import zipfile

import torch
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.fileio import io as _fileio
from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmyolo.registry import HOOKS, OPTIM_WRAPPERS
from torch import nn

from .deploy import switch_to_deploy


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


# ------------------------------------------------------------------------------------------------
# Interrupt safety: checkpoints and ``last_checkpoint`` are written atomically.
#
# A SIGKILL or power cut while mmengine writes ``epoch_N.pth`` (its LocalBackend opens the target
# and writes into it) leaves a truncated file under the final name, and ``last_checkpoint`` is
# rewritten in place too. Here every local ``put`` goes to a temporary file in the same folder,
# is flushed to disk and then renamed over the target (``os.replace`` is atomic on POSIX and
# Windows), so a checkpoint file either is complete or does not exist.
# ------------------------------------------------------------------------------------------------

TMP_SUFFIX = '.tmp'
_UMASK = os.umask(0o022)  # read the process umask (there is no getter) and put it back
os.umask(_UMASK)


def atomic_write(data, filepath):
    """Write ``data`` (bytes or str) to ``filepath`` through a temporary file and a rename."""
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix=TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a checkpoint gets open()'s mode
            f.write(data.encode('utf-8') if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself survive a power cut (POSIX; not possible on Windows)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, with ``put``/``put_text`` made atomic."""

    def put(self, obj, filepath):
        atomic_write(obj, str(filepath))

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), str(filepath))


# Replaces the backend of plain local paths (prefix-less and ``file://``) for every writer that
# goes through mmengine.fileio: runner.save_checkpoint, best checkpoints, EMA. Backend instances
# made before this import are cached by mmengine; drop them so the new class is used.
register_backend('local', AtomicLocalBackend, force=True, prefixes='')
for _key in [k for k, v in _fileio.backend_instances.items() if type(v) is LocalBackend]:
    del _fileio.backend_instances[_key]


def is_complete_checkpoint(path):
    """True when ``path`` is a complete torch zip checkpoint (cheap: reads the zip directory).

    A write cut short has no zip end record, so it fails here without being unpickled.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith('data.pkl') for name in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def latest_complete_checkpoint(work_dir):
    """The checkpoint ``--resume`` should use, and a note when it is not ``last_checkpoint``.

    ``last_checkpoint`` is trusted when it names a complete file; otherwise (missing, empty,
    pointing at a missing or truncated file) the newest complete ``epoch_N.pth``/``iter_N.pth``
    in ``work_dir`` is used. Returns (path or None, note or None).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip() or None
        if named and is_complete_checkpoint(named):
            return named, None
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else []:
        m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name)
        if m and is_complete_checkpoint(osp.join(work_dir, name)):
            found.append((int(m.group(2)), osp.join(work_dir, name)))
    best = max(found)[1] if found else None
    if named is None and best is None:
        return None, None
    why = (f'last_checkpoint names {named!r}, which is missing or incomplete' if named else
           'last_checkpoint is missing or empty')
    return best, f'{why}; resuming from {best}' if best else f'{why}; starting from scratch'


def remove_stale_temporaries(work_dir):
    """Delete temporary files a killed save left behind; returns their names."""
    names = os.listdir(work_dir) if osp.isdir(work_dir) else []
    # only what atomic_write names: .<checkpoint or last_checkpoint>.<mkstemp's 8 chars>.tmp
    stale = [n for n in names if re.fullmatch(r'\.(.+\.pth|last_checkpoint)\.\w{8}\.tmp', n)]
    for name in stale:
        try:
            os.remove(osp.join(work_dir, name))
        except FileNotFoundError:  # another process of a distributed run was quicker
            pass
    return stale


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """CheckpointHook that never leaves a partial checkpoint or a dangling ``last_checkpoint``.

    Same arguments as mmengine's CheckpointHook. Differences, each so that a kill at any moment
    costs at most the work since the last complete checkpoint:

    - files are written atomically (see :class:`AtomicLocalBackend`);
    - ``last_checkpoint`` is replaced atomically, after the checkpoint it names is complete;
    - checkpoints beyond ``max_keep_ckpts`` are removed only after the new one is on disk
      (mmengine removes the oldest one first).
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        dropped = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            # keep_ckpt_ids is a deque(maxlen=max_keep_ckpts): note what falls out, delete later
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped.append(self.keep_ckpt_ids[0])
            self.keep_ckpt_ids.append(step)
            # before saving, so the checkpoint knows it is kept (a resumed run prunes it in turn)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old_step in dropped:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)


# ------------------------------------------------------------------------------------------------
# Non-finite losses: never applied, and either stop the run or skip the step, saying which term.
# ------------------------------------------------------------------------------------------------
class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or Inf (tools/train.py prints it as one line)."""


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """OptimWrapper that does not step on a NaN/Inf loss.

    The backward pass still runs (DDP expects one per forward); when the loss is not finite on
    any process the gradients are dropped instead of stepped, so the weights and the optimizer's
    state (momentum) stay as they were and the EMA keeps averaging finite weights.
    ``last_loss_finite`` tells :class:`NonFiniteLossHook` what happened.
    """

    last_loss_finite = True

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        finite = torch.isfinite(loss.detach()).all().float().reshape(1)
        if get_world_size() > 1:  # all processes must agree, or their weights drift apart
            all_reduce(finite, op='min')
        self.last_loss_finite = bool(finite.item())
        if self.last_loss_finite:
            return super().update_params(loss, step_kwargs, zero_kwargs)
        self.backward(self.scale_loss(loss))  # counts the step (_inner_count) as usual
        # with gradient accumulation this also drops the window's earlier micro-batches
        self.zero_grad(**(zero_kwargs or {}))


def _optim_wrappers(runner):
    """The runner's optim wrappers as a dict (one, or those of an OptimWrapperDict)."""
    return getattr(runner.optim_wrapper, 'optim_wrappers', None) or {'': runner.optim_wrapper}


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop (default) or skip a training step whose loss is NaN/Inf, naming iteration and terms.

    Args:
        action (str): ``'stop'`` raises :class:`NonFiniteLossError` with one line such as
            ``non-finite loss at iteration 12 (epoch 1): loss=nan loss_bbox=nan``;
            ``'skip'`` logs that line as a warning and goes on (the step is not applied: this
            needs ``optim_wrapper.type='FiniteOptimWrapper'``, which tools/train.py sets for a
            plain OptimWrapper, or AmpOptimWrapper, whose loss scaler skips such steps).
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, action='stop'):
        if action not in ('stop', 'skip'):
            raise ValueError(f"NonFiniteLossHook action must be 'stop' or 'skip', got {action!r}")
        self.action = action
        self.skipped = 0

    def before_train(self, runner):
        wrappers = _optim_wrappers(runner)
        unguarded = [type(w).__name__ for w in wrappers.values()
                     if not isinstance(w, FiniteOptimWrapper) and 'Amp' not in type(w).__name__]
        if self.action == 'skip' and unguarded:
            raise NonFiniteLossError(
                f"non_finite_loss action 'skip' needs optim_wrapper.type='FiniteOptimWrapper' "
                f'(the config has {unguarded[0]}, which would apply a NaN step)')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        terms = {k: float(v.detach().mean()) for k, v in (outputs or {}).items()
                 if 'loss' in k and torch.is_tensor(v) and not torch.isfinite(v).all()}
        wrappers = _optim_wrappers(runner)
        if not terms and all(getattr(w, 'last_loss_finite', True) for w in wrappers.values()):
            return
        shown = ' '.join(f'{k}={v}' for k, v in terms.items()) or 'on another process'
        message = (f'non-finite loss at iteration {runner.iter + 1} '
                   f'(epoch {runner.epoch + 1}): {shown}')
        if self.action == 'stop':
            raise NonFiniteLossError(
                message + ' (lower the learning rate, check the labels, or set '
                "default_hooks.non_finite_loss.action='skip')")
        self.skipped += 1
        runner.logger.warning(f'{message}; step skipped ({self.skipped} so far)')


@HOOKS.register_module()
class DeployModeHook(Hook):
    """Test the deploy form (Conv+BN fused, PConv slicing) of the trained model.

    Runs after the checkpoint is loaded and after EMAHook has swapped its weights in (lowest
    priority), on a copy: EMAHook keeps swapping the unfused original, which is put back after
    the test.
    """

    priority = 'LOWEST'

    def before_test_epoch(self, runner):
        self._original = runner.model
        runner.model = switch_to_deploy(copy.deepcopy(runner.model).eval())

    def after_test_epoch(self, runner, metrics=None):
        runner.model = self._original


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Train in the channels_last (NHWC) memory format (``tools/train.py --channels-last``).

    oneDNN's CPU convolutions (forward and backward) run NHWC natively; with the weights in
    channels_last every activation follows. Measured on 2 CPU cores, 640 px, batch 8, through
    the real data pipeline (``train_speed.py [--channels-last]``): YOLO11n 2.53 -> 1.71 s per
    step, YOLO11n-FasterNet-lite 1.82 -> 1.51 s. The numbers computed are the same;
    checkpoints load into either layout.

    Runs first in ``before_run`` (priority VERY_HIGH) so that EMAHook's copy of the model is
    made from the converted one. Under a distributed wrapper it does nothing (DDP has already
    laid out its gradient buckets for the original strides) and says so.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        if is_model_wrapper(runner.model):
            runner.logger.warning('ChannelsLastHook: the model is wrapped for distributed '
                                  'training; keeping the contiguous layout')
            return
        runner.model.to(memory_format=torch.channels_last)
        runner.logger.info('ChannelsLastHook: model weights in channels_last (NHWC)')
