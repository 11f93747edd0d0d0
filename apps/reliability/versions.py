"""The library versions a report was computed with, stored beside its results.

Both report kinds (reliability and criterion) keep them, so a paper's table can say which
numpy, scipy, Python and platform produced it, and a number that changes a year later can be
traced to an upgrade.
"""

from __future__ import annotations

import platform
from importlib import metadata

import numpy as np
import scipy


def library_versions() -> dict[str, str]:
    """The versions a report was computed with: numpy, scipy, Python and the platform."""
    try:
        ours = metadata.version("coding-platform")
    except metadata.PackageNotFoundError:
        ours = "unknown (not installed as a package)"
    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "platform": ours,
    }
