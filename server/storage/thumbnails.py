"""Small copies of generated images for =IMAGE() cells and the gallery: made once, kept beside
the images, so a sheet of 499 thumbnails does not pull 499 full-size images."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

SIZE = 256


def thumbnail(image_path: Path) -> Path:
    """The thumbnail of a stored image (a PNG at most SIZE px on its longest side)."""
    target = image_path.parent / ".thumbs" / (image_path.stem + ".png")
    if target.exists() and target.stat().st_mtime >= image_path.stat().st_mtime:
        return target
    target.parent.mkdir(exist_ok=True)
    with Image.open(image_path) as image:
        image.thumbnail((SIZE, SIZE))
        # Written aside and renamed, so two requests at once never serve half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".png")
        with os.fdopen(handle, "wb") as out:
            image.save(out, format="PNG")
    os.replace(temporary, target)
    return target
