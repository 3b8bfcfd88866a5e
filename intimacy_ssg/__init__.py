"""intimacy_ssg: a static site generator for topic-cluster publishing.

The public API is small on purpose: load a config, build it, read the diagnostics.
"""

import gc

# Importing the package makes tens of thousands of objects (its classes and their methods)
# and no garbage: the cyclic collector, left on, would walk them again and again. It is
# on again (if it was) once they are made; the build's stages are imported the same way.
_collecting = gc.isenabled()
gc.disable()
try:
    from .build import BuildResult, build
    from .config import Config, ConfigError, load_config
    from .diagnostics import Diagnostic, Location, Severity
finally:
    if _collecting:
        gc.enable()

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
