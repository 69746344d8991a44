"""`image`: convert, resize to fit, set quality, strip metadata (Pillow).

    open (Pillow's decompression-bomb limits kept) ─► frames (the first, or all)
        ─► EXIF orientation applied ─► fit inside max_width x max_height
        ─► mode the target format can hold ─► atomic save ─► outputs

Output names: the source's name if the format is kept, else the name with the
new extension added (`a.png` -> `a.png.jpg`), so `a.png` and `a.gif` never
write one output. With `all_frames`, formats that hold several frames (TIFF,
WebP, GIF) get one file; others get one file per frame (`a.tiff.frame-2.png`).
Failures a retry cannot fix are permanent, with the report's kinds
(docs/ARCHITECTURE.md): not an image or truncated -> corrupt; a decompression bomb -> too_large.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchgui.core.files import read_steadily
from batchgui.core.operation import Option, TaskContext, atomic_write, name_option, operation
from batchgui.core.operation import output_name as named
from batchgui.operations.failures import classify
from batchgui.operations.limits import check_frames

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF"}
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "tiff": ".tiff"}
MULTI_FRAME = {"TIFF", "WEBP", "GIF"}
READABLE = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
    ".ico",
    ".jfif",
)


def _validate(options: dict[str, Any]) -> None:
    if options["max_width"] < 0 or options["max_height"] < 0:
        raise ValueError("max_width and max_height must be 0 (no limit) or more")
    if not 1 <= options["quality"] <= 100:
        raise ValueError("quality must be between 1 and 100")


def output_name(src: Path, options: dict[str, Any]) -> str:
    """From the `name` template: `{stem}.{newext}` by default, so IMG_1092.jpg
    becomes IMG_1092.png (never IMG_1092.jpg.png) and keeps its name as it is."""
    keep = options["format"] == "keep"
    newext = src.suffix.lstrip(".") if keep else EXTENSIONS[options["format"]].lstrip(".")
    return named(options, src, newext)


def frame_name(name: str, number: int | str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.frame-{number}{dot}{ext}"


_MULTI_FRAME_EXTENSIONS = {".tif", ".tiff", ".webp", ".gif"}


def planned(src: Path, out_dir: Path, options: dict[str, Any]) -> list[Path]:
    """The output's name; with all_frames into a one-frame format, its frames too."""
    name = output_name(src, options)
    outputs = [out_dir / name]
    if options["all_frames"]:
        suffix = Path(name).suffix.lower()
        if suffix not in _MULTI_FRAME_EXTENSIONS:
            outputs.append(out_dir / frame_name(name, "*"))
    return outputs


@operation(
    "image",
    "Convert and resize images",
    extensions=READABLE,
    mode="process",
    default_timeout_s=300,
    planned_outputs=planned,
    validate=_validate,
    options=[
        Option("format", str, "keep", "output format", choices=("keep", *FORMATS)),
        Option("max_width", int, 0, "fit within this width in pixels (0: any)"),
        Option("max_height", int, 0, "fit within this height in pixels (0: any)"),
        Option("quality", int, 85, "JPEG/WebP quality, 1-100"),
        Option("strip_metadata", bool, True, "drop EXIF and other metadata"),
        Option("all_frames", bool, False, "convert every frame, not only the first"),
        name_option("{stem}.{newext}"),
    ],
)
def convert_image(
    src: Path, out_dir: Path, options: dict[str, Any], ctx: TaskContext
) -> list[Path]:
    """Convert to png/jpeg/webp/tiff, fit within a box, set quality, strip metadata."""
    # Pillow here, not at the top: every command loads the operations to know them,
    # and only image batches need Pillow (~20 ms of start-up for the rest)
    from PIL import Image

    with read_steadily(src):  # an image changed mid-read would be a mix of two
        try:
            with warnings.catch_warnings():
                # between Pillow's limit and twice it Pillow only warns: refuse those too
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(src) as image:
                    source_format = image.format or "PNG"
                    target = FORMATS.get(options["format"], source_format)
                    frames = _frames(image, options["all_frames"])
                    converted = [_prepare(frame, options, target) for frame in frames]
                    exif = None if options["strip_metadata"] else image.getexif()
                    if exif is not None:
                        exif.pop(0x0112, None)  # the orientation is applied to the pixels
        except Exception as exc:  # what Pillow says about the file (operations/failures.py)
            failure = classify("image", exc, src.name)
            if failure is None:
                raise
            log.debug("%s: %s", src, failure, exc_info=True)
            raise failure from None
    if ctx.cancelled:
        raise InterruptedError("cancelled")
    name = output_name(src, options)
    save = _save_options(target, options, exif)
    if len(converted) == 1 or target in MULTI_FRAME:
        path = out_dir / name
        _write(
            path,
            converted[0],
            target,
            {
                **save,
                **(
                    {"save_all": True, "append_images": converted[1:]} if len(converted) > 1 else {}
                ),
            },
        )
        return [path]
    outputs = []
    for number, frame in enumerate(converted, start=1):
        path = out_dir / frame_name(name, number)
        _write(path, frame, target, save)
        outputs.append(path)
        ctx.progress(number / len(converted))
    return outputs


def _frames(image: Image.Image, all_frames: bool) -> list[Image.Image]:
    count = getattr(image, "n_frames", 1) if all_frames else 1
    check_frames(getattr(image, "filename", "") or "the image", count, image.width, image.height)
    frames = []
    for index in range(count):
        image.seek(index)
        frame = image.copy()
        frame.load()
        frames.append(frame)
    return frames


def _prepare(frame: Image.Image, options: dict[str, Any], target: str) -> Image.Image:
    from PIL import Image, ImageOps  # (see convert_image)

    frame = ImageOps.exif_transpose(frame)
    width, height = options["max_width"], options["max_height"]
    if width or height:
        box = (width or frame.width, height or frame.height)
        if frame.width > box[0] or frame.height > box[1]:
            frame = ImageOps.contain(frame, box, Image.Resampling.LANCZOS)
    return _mode_for(frame, target)


def _mode_for(frame: Image.Image, target: str) -> Image.Image:
    """A mode the target format can save: 16-bit to 8-bit, palette and alpha resolved."""
    if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
        frame = frame.point(lambda value: value / 256).convert("L")
    if frame.mode == "P":
        frame = frame.convert("RGBA" if "transparency" in frame.info else "RGB")
    if target == "JPEG":
        if frame.mode in ("RGBA", "LA"):
            from PIL import Image  # (see convert_image)

            white = Image.new("RGB", frame.size, "white")
            white.paste(frame.convert("RGBA"), mask=frame.convert("RGBA").getchannel("A"))
            frame = white
        elif frame.mode not in ("RGB", "L", "CMYK"):
            frame = frame.convert("RGB")
    elif frame.mode not in ("RGB", "RGBA", "L", "LA", "1"):
        frame = frame.convert("RGBA" if "A" in frame.mode else "RGB")
    return frame


def _save_options(target: str, options: dict[str, Any], exif) -> dict[str, Any]:
    save: dict[str, Any] = {}
    if target in ("JPEG", "WEBP"):
        save["quality"] = options["quality"]
    if target == "JPEG":
        save["optimize"] = True
    if exif is not None and len(exif):
        save["exif"] = exif.tobytes()
    return save


def _write(path: Path, frame: Image.Image, target: str, save: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    frame.save(buffer, target, **save)
    with atomic_write(path) as handle:
        handle.write(buffer.getbuffer())
