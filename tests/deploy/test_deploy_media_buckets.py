"""Issue 15, defect 10: ``make package STAGE=prod`` refuses to build a stage
without FRS_MEDIA_BUCKETS (image_url/video_url would read any bucket the
function's role can reach)."""
from __future__ import annotations

import copy
import json

import pytest

from deploy import package as pkg
from deploy import policy


def config_with(stage: str, value: str | None) -> dict:
    config = copy.deepcopy(json.loads(policy.CONFIG.read_text()))
    env = config["stages"][stage]["environment_variables"]
    if value is None:
        env.pop("FRS_MEDIA_BUCKETS", None)
    else:
        env["FRS_MEDIA_BUCKETS"] = value
    return config


@pytest.mark.parametrize("value", [None, "", " , ", " "])
def test_prod_without_media_buckets_is_refused(value):
    with pytest.raises(SystemExit) as e:
        pkg.check_stage("prod", config_with("prod", value))
    assert "FRS_MEDIA_BUCKETS" in str(e.value)


def test_package_refuses_before_building_anything(monkeypatch, tmp_path):
    config = config_with("prod", "")
    monkeypatch.setattr(policy, "CONFIG", tmp_path / "config.json")
    (tmp_path / "config.json").write_text(json.dumps(config))
    # Never write the committed policy file, even if the check regresses.
    monkeypatch.setattr(policy, "policy_path", lambda *a, **k: tmp_path / "policy.json")
    monkeypatch.setattr(pkg, "run_chalice", lambda *a, **k: pytest.fail("built without buckets"))
    monkeypatch.setattr(pkg, "stage_source", lambda *a, **k: pytest.fail("staged without buckets"))
    with pytest.raises(SystemExit, match="FRS_MEDIA_BUCKETS"):
        pkg.package("prod", tmp_path / "out")


def test_committed_prod_stage_names_its_buckets():
    env = pkg.check_stage("prod", json.loads(policy.CONFIG.read_text()))
    assert policy.buckets(env["FRS_MEDIA_BUCKETS"])


def test_other_stages_may_leave_it_open_with_a_warning(capsys):
    env = pkg.check_stage("aws-dev", config_with("aws-dev", ""))
    assert env["FRS_MEDIA_BUCKETS"] == ""
    assert "FRS_MEDIA_BUCKETS" in capsys.readouterr().err
