"""posepred: multi-person 3D pose forecasting on SoMoF 3DPW with DeRPoF, for teaching and research."""

from .runtime import configure_threads_at_import

configure_threads_at_import()  # before any torch work: see posepred.runtime (POSEPRED_THREADS overrides)

from .config import Config  # noqa: E402
from .data import DataError, load_split  # noqa: E402
from .models import DeRPoF  # noqa: E402

__all__ = ["Config", "DataError", "DeRPoF", "load_split"]
__version__ = "0.1.0"
