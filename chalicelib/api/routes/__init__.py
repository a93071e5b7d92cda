"""One Chalice blueprint per FRS resource; ``app.py`` registers them all."""


def versions(path: str) -> list[str]:
    """The same operation under /v2 (the API Reference) and /v1 (older SDKs)."""
    return [f"/v2/{{project_id}}{path}", f"/v1/{{project_id}}{path}"]
