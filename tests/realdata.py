"""The real public data in ../shared/data (see its README): files nobody here wrote."""
from __future__ import annotations
from pathlib import Path
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
def shared_data(name: str) -> Path:
    path = SHARED_DATA / name
    assert path.is_file(), f"{path} is missing: the project expects ../shared/data beside it"
    return path
