"""vbcsim: simulate what a healthcare payment model does to care, cost and money.

The import package is ``sim``; the distribution is ``vbcsim``; the command is ``vbcsim``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vbcsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
