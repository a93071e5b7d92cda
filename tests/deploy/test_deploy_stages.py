"""Stage configuration: .chalice/config.json as Chalice loads it, and what
the code does with each stage's environment."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from chalice.cli.factory import CLIFactory

from deploy import package, policy

REPO = Path(__file__).resolve().parents[2]
DEPLOYABLE = ("aws-dev", "prod")


def chalice_config(stage: str):
    return CLIFactory(str(REPO)).create_config_obj(chalice_stage_name=stage)


def test_local_stage_uses_embedded_store_and_local_credentials():
    cfg = chalice_config("local")
    env = cfg.environment_variables
    assert env["FRS_STORE"] == "embedded"
    # Local credentials and IAM auth are the code's defaults; the local stage
    # must not switch them to a cloud backend.
    assert env.get("FRS_IDENTITY_BACKEND", "sqlite") == "sqlite"
    assert env.get("FRS_AUTH", "iam") == "iam"


@pytest.mark.parametrize("stage", DEPLOYABLE)
def test_deployable_stage_settings(stage):
    cfg = chalice_config(stage)
    env = cfg.environment_variables
    assert env["FRS_STORE"] == "opensearch"
    policy.opensearch_domain(env["FRS_OPENSEARCH_ENDPOINT"])  # a real AOS endpoint shape
    assert policy.buckets(env["FRS_MEDIA_BUCKETS"])
    assert env["FRS_IDENTITY_BACKEND"] == "ssm" and env["FRS_IDENTITY_SSM_PREFIX"].startswith("/")
    assert env["FRS_MODEL_DIR"] == "/opt/models"            # where the models layer is mounted
    assert env["FRS_FFMPEG_XZ"] == "/opt/ffmpeg/ffmpeg.xz"  # the dependency layer's compressed FFmpeg
    assert env["FRS_DATA_DIR"].startswith("/tmp/")           # the only writable path on Lambda
    assert 1769 <= cfg.lambda_memory_size <= 10240           # >= 1 full vCPU for the models
    assert cfg.lambda_timeout <= 29                          # API Gateway's integration timeout
    assert cfg.api_gateway_endpoint_type == "REGIONAL"
    assert cfg.autogen_policy is False
    assert (REPO / ".chalice" / cfg.iam_policy_file).exists()


@pytest.mark.parametrize("stage", ("local",) + DEPLOYABLE)
def test_no_lambda_reserved_variables(stage):
    env = chalice_config(stage).environment_variables
    assert not package.RESERVED_ENV & env.keys()


def test_test_client_default_stage_injects_nothing():
    """chalice.test.Client(app) loads stage 'dev' and overlays its variables on
    os.environ; a 'dev' stage with cloud settings would silently point every
    API test at OpenSearch/SSM. That is why the AWS stage is 'aws-dev'."""
    raw = json.loads((REPO / ".chalice" / "config.json").read_text())
    assert "dev" not in raw["stages"]
    assert not raw.get("environment_variables")
    assert chalice_config("dev").environment_variables == {}


def _code_text() -> str:
    files = [REPO / "app.py", *(REPO / "chalicelib").rglob("*.py")]
    return "\n".join(f.read_text() for f in files if f.exists())


# Read by libraries, not by our code (documented in docs/configuration.md).
LIBRARY_VARIABLES = {"OPENBLAS_NUM_THREADS"}


@pytest.mark.parametrize("stage", ("local",) + DEPLOYABLE)
def test_every_stage_variable_is_read_by_the_code(stage):
    """A misspelt variable in config.json would be ignored silently."""
    code = _code_text()
    unread = [k for k in chalice_config(stage).environment_variables
              if f'"{k}"' not in code and k not in LIBRARY_VARIABLES]
    assert not unread, f"stage {stage} sets variables no code reads: {unread}"


@pytest.mark.parametrize("stage", DEPLOYABLE)
def test_committed_policy_matches_stage_settings(stage):
    assert policy.main(["--stage", stage, "--check"]) == 0


@pytest.mark.parametrize("stage", DEPLOYABLE)
def test_stage_environment_selects_the_cloud_backends(stage, monkeypatch):
    """Load the stage's variables as Lambda would and ask the code which
    backends it picked (constructors only: nothing is contacted)."""
    env = chalice_config(stage).environment_variables
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    from chalicelib.identity import credentials
    from chalicelib.inference import manifest
    from chalicelib.store.opensearch_client import OpenSearchSettings

    assert type(credentials.make_store(env)).__name__ == "SsmCredentialStore"
    assert OpenSearchSettings.from_env(env).engine in ("lucene", "faiss", "nmslib")
    assert str(manifest.model_dir()) == "/opt/models"
    assert re.fullmatch(r"[a-z0-9.-]{3,63}", env["FRS_IMPORT_BUCKET"])
