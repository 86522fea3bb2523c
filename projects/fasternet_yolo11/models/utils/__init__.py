"""Foreign checkpoints -> this project's key names (FasterNet: official/timm; YOLO11, YOLO26: Ultralytics)."""
from .fasternet_converter import check_fasternet_state_dict, convert_fasternet_state_dict
from .ultralytics_converter import compare_state_dicts, convert_state_dict, family_of, infer_scale

__all__ = ['convert_fasternet_state_dict', 'check_fasternet_state_dict', 'convert_state_dict',
           'compare_state_dicts', 'family_of', 'infer_scale']
