"""Pictures of what the engine saw (Pillow): boxes, landmarks when the server
gives them, attributes when asked, and two faces side by side."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont, ImageOps

GREEN, RED, YELLOW = (40, 200, 80), (230, 50, 50), (250, 210, 40)


def load(data: bytes) -> Image.Image:
    # Upright as the server sees it (EXIF orientation applied), RGB.
    return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")


def _width(img: Image.Image) -> int:
    return max(2, round(max(img.size) / 250))


def _label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, color: tuple, size: int = 14) -> None:
    if not text:
        return
    font = ImageFont.load_default(size=size)
    x, y = xy
    box = draw.textbbox((x, y), text, font=font)
    draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
    draw.text((x, y), text, fill=color, font=font)


def boxes(img: Image.Image, faces: list[dict], labels: list[str] | None = None,
          color: tuple = GREEN) -> Image.Image:
    """``faces``: FRS face objects (bounding_box; landmark contours if present)."""
    out = img.copy()
    d = ImageDraw.Draw(out)
    w = _width(out)
    for i, face in enumerate(faces):
        b = face["bounding_box"]
        x, y = b["top_left_x"], b["top_left_y"]
        d.rectangle((x, y, x + b["width"], y + b["height"]), outline=color, width=w)
        for points in (face.get("landmark") or {}).values():  # FRS Landmark: lists of points
            for p in points or []:
                px, py = (p["x"], p["y"]) if isinstance(p, dict) else (p[0], p[1])
                d.ellipse((px - w, py - w, px + w, py + w), fill=YELLOW)
        text = labels[i] if labels else f"#{i + 1}"
        size = max(12, round(max(out.size) / 60))
        _label(d, (x, max(0, y - size - 4)), text, color, size)
    return out


def side_by_side(a: Image.Image, b: Image.Image, caption: str, color: tuple) -> Image.Image:
    h = max(a.height, b.height)
    sa = a.resize((round(a.width * h / a.height), h)) if a.height != h else a
    sb = b.resize((round(b.width * h / b.height), h)) if b.height != h else b
    out = Image.new("RGB", (sa.width + sb.width + 10, h + 40), (255, 255, 255))
    out.paste(sa, (0, 40))
    out.paste(sb, (sa.width + 10, 40))
    _label(ImageDraw.Draw(out), (8, 8), caption, color, 22)
    return out


def crop(img: Image.Image, box: dict, margin: float = 0.25) -> Image.Image:
    x, y, w, h = box["top_left_x"], box["top_left_y"], box["width"], box["height"]
    mx, my = round(w * margin), round(h * margin)
    return img.crop((max(0, x - mx), max(0, y - my), min(img.width, x + w + mx), min(img.height, y + h + my)))


def save(img: Image.Image, path: str) -> None:
    img.save(path)
