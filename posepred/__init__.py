"""posepred: multi-person 3D pose forecasting on SoMoF 3DPW with DeRPoF, for teaching and research."""

from .config import Config
from .data import DataError, load_split
from .derpof import DeRPoF

__all__ = ["Config", "DataError", "DeRPoF", "load_split"]
__version__ = "0.2.0"
