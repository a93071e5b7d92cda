"""The configuration table documents every variable the service reads."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def variables_read_by_the_code() -> set[str]:
    files = [REPO / "app.py", *(REPO / "chalicelib").rglob("*.py")]
    text = "\n".join(f.read_text() for f in files if f.exists())
    return set(re.findall(r'"((?:FRS|AWS|OPENSEARCH)_[A-Z0-9_]+)"', text))


def test_every_variable_is_in_the_configuration_table():
    doc = (REPO / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`((?:FRS|AWS|OPENSEARCH)_[A-Z0-9_]+)`", doc))
    assert variables_read_by_the_code() - documented == set()


def test_deploy_guide_names_existing_targets_and_files():
    doc = (REPO / "docs" / "deploy.md").read_text()
    mk = "\n".join(f.read_text() for f in [REPO / "Makefile", *(REPO / "mk").glob("*.mk")])
    for target in set(re.findall(r"make ([a-z][a-z-]+)", doc)):
        assert re.search(rf"^{re.escape(target)}:", mk, re.M), f"make {target} is not a target"
    for path in set(re.findall(r"`((?:\.chalice|layers|deploy|bench|docs)/[A-Za-z0-9_./-]+)`", doc)):
        if path.startswith("layers/build"):  # build output (gitignored), made by `make layer`
            continue
        assert (REPO / path).exists(), path
