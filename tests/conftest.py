"""Shared fixtures: dataset paths, an isolated service environment, a client."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
STILLS = DATASETS / "stills" / "face_recognition"


def dataset_file(*parts) -> Path:
    """A file under ../shared/datasets, or skip the test saying why."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"dataset file {path} is absent (../shared/datasets is only on dev/CI machines)")
    return path


def still(name: str) -> bytes:
    return dataset_file("stills", "face_recognition", name).read_bytes()


def models_built() -> bool:
    model_dir = Path(os.environ.get("FRS_MODEL_DIR", REPO / "models"))
    return (model_dir / "manifest.json").exists()


@pytest.fixture(autouse=True)
def settings_follow_the_environment(monkeypatch):
    """``chalicelib.config`` reads the environment once per process; tests
    change it with monkeypatch, so the settings are read again at the start
    of every test and after every change a test makes."""
    from chalicelib import config
    config.reset()
    setenv, delenv = pytest.MonkeyPatch.setenv, pytest.MonkeyPatch.delenv

    def setenv_and_reset(self, *args, **kwargs):
        setenv(self, *args, **kwargs)
        config.reset()

    def delenv_and_reset(self, *args, **kwargs):
        delenv(self, *args, **kwargs)
        config.reset()

    monkeypatch.setattr(pytest.MonkeyPatch, "setenv", setenv_and_reset)
    monkeypatch.setattr(pytest.MonkeyPatch, "delenv", delenv_and_reset)
    yield
    config.reset()


@pytest.fixture
def frs_env(tmp_path, monkeypatch):
    """A fresh embedded data directory, authentication off (identity has its
    own suite), and no process-wide store left over from another test."""
    from chalicelib.store import reset_store
    monkeypatch.setenv("FRS_DATA_DIR", str(tmp_path / "frs-data"))
    monkeypatch.setenv("FRS_STORE", "embedded")
    monkeypatch.setenv("FRS_AUTH", "off")
    monkeypatch.delenv("FRS_MEDIA_BUCKETS", raising=False)
    reset_store()
    yield tmp_path
    reset_store()


@pytest.fixture
def client(frs_env):
    from chalice.test import Client

    from app import app
    with Client(app) as c:
        yield c


@pytest.fixture
def needs_models():
    if not models_built():
        pytest.skip("models are not built: run `make models`")


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (testkit/browser.py); `make test` installs it."""
    from testkit import browser as chromium_kit

    if chromium_kit.chromium_path() is None:
        pytest.skip("no chromium binary on this machine: `make browser` installs Debian's package")
    with chromium_kit.chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (no storage shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()
