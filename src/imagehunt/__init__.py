"""imagehunt: detect malicious container and cloud images (MITRE ATT&CK T1204.003)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imagehunt")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
