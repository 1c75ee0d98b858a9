"""PAPR Memory web service (FastAPI) and the code it shares with the workers."""

from importlib import metadata

try:
    __version__ = metadata.version("papr-memory")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
