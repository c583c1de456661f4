"""dplib: the helper library of the DeepPlaylist tutorial.

Importing dplib is cheap; TensorFlow loads when a module that needs it is imported
(``dplib.layers``, ``dplib.models``, ``dplib.training``).
"""
from .config import Config, get_config, seed_everything

__all__ = ["Config", "get_config", "seed_everything"]
__version__ = "0.1.0"
