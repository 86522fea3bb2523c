"""``DeployModeHook``: test the inference form of the model (``tools/test.py --deploy``)."""
import copy

from mmengine.hooks import Hook
from mmyolo.registry import HOOKS

from ...models.deploy_form import switch_to_deploy


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
