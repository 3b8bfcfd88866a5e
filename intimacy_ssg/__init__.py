"""intimacy_ssg: a static site generator for topic-cluster publishing.

The public API is small on purpose: load a config, build it, read the diagnostics.
"""

from .build import BuildResult, build
from .config import Config, ConfigError, load_config
from .diagnostics import Diagnostic, Location, Severity

__version__ = "0.1.0"

__all__ = [
    "BuildResult",
    "Config",
    "ConfigError",
    "Diagnostic",
    "Location",
    "Severity",
    "__version__",
    "build",
    "load_config",
]
