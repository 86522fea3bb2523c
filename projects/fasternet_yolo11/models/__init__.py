"""Models: backbones, necks, dense heads, their layers, distillation losses, the deploy form, weight conversion."""
from .backbones import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .deploy_form import fuse_conv_bn, set_pconv_mode, switch_to_deploy  # noqa: F401
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
