"""`make package`: the CloudFormation/SAM template is complete and tight.

Runs deploy.package (which runs the real `chalice package`) offline into a
temporary directory, then reads the template the way CloudFormation would."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from chalice.cli.factory import CLIFactory

from deploy import package as pkg
from deploy import policy

REPO = Path(__file__).resolve().parents[2]

# FRS v2 core routes (API Reference §4) with their methods; each also answers on v1.
FRS_ROUTES = {
    "/v2/{project_id}/face-detect": {"post"},
    "/v2/{project_id}/face-compare": {"post"},
    "/v2/{project_id}/face-sets": {"post", "get"},
    "/v2/{project_id}/face-sets/{face_set_name}": {"get", "delete"},
    "/v2/{project_id}/face-sets/{face_set_name}/faces": {"post", "get", "put", "delete"},
    "/v2/{project_id}/face-sets/{face_set_name}/faces/batch": {"delete"},
    "/v2/{project_id}/face-sets/{face_set_name}/search": {"post"},
}
LIVENESS_ROUTES = {
    "/v1/{project_id}/live-detect": {"post"},
    "/v1/{project_id}/live-detect-face": {"post"},
}
MEDIA = ["multipart/form-data", "application/octet-stream", "image/jpeg", "image/png", "image/bmp",
         "video/mp4", "video/x-msvideo", "video/x-flv", "video/webm", "video/quicktime"]

# The wiring docs/deploy.md asks for in app.py (bulk import as a plain Lambda
# function; the packager adds the bucket and its notification).
BULK_IMPORT_WIRING = '''

from chalicelib.jobs import bulk_import as _bulk_import


@app.lambda_function(name="bulk_import")
def bulk_import(event, context):
    return _bulk_import.handle_event(event, context)
'''


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("package-prod")
    tpath = pkg.package("prod", out)
    return json.loads(tpath.read_text()), out


@pytest.fixture(scope="module")
def stage():
    return CLIFactory(str(REPO)).create_config_obj(chalice_stage_name="prod")


def api_paths(template):
    return template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]


def test_every_app_route_is_in_the_template_with_its_methods(built):
    from app import app
    paths = api_paths(built[0])
    assert app.routes, "app.py registers no routes"
    for path, methods in app.routes.items():
        assert path in paths, f"{path} missing from the template"
        assert set(paths[path]) == {m.lower() for m in methods}, path


def test_frs_routes_present(built):
    paths = api_paths(built[0])
    for path, methods in FRS_ROUTES.items():
        for version in ("v2", "v1"):
            p = path.replace("/v2/", f"/{version}/")
            assert p in paths and methods <= set(paths[p]), p


def test_liveness_routes_present(built):
    paths = api_paths(built[0])
    from app import app
    if not any("live-detect" in p for p in app.routes):
        pytest.skip("liveness routes are not registered in app.py yet")
    for path, methods in LIVENESS_ROUTES.items():
        assert path in paths and methods <= set(paths[path]), path


def test_binary_media_types_cover_uploads(built):
    types = api_paths(built[0]) and built[0]["Resources"]["RestAPI"]["Properties"][
        "DefinitionBody"]["x-amazon-apigateway-binary-media-types"]

    def covered(t):
        return any(b in (t, "*/*") or (b.endswith("/*") and t.startswith(b[:-1])) for b in types)
    assert [t for t in MEDIA if not covered(t)] == []
    assert not covered("application/json")  # JSON must reach the handler as text


def test_functions_have_layers_memory_timeout_and_stage_env(built, stage):
    res = built[0]["Resources"]
    fn = res["APIHandler"]["Properties"]
    assert fn["Runtime"] == "python3.11"  # the runtime the layer's wheels are built for
    assert fn["Layers"][:2] == [{"Ref": "DepsLayer"}, {"Ref": "ModelsLayer"}]
    assert fn["MemorySize"] == stage.lambda_memory_size
    assert fn["Timeout"] == stage.lambda_timeout
    assert fn["Environment"]["Variables"] == stage.environment_variables
    for name in ("DepsLayer", "ModelsLayer"):
        layer = res[name]
        assert layer["Type"] == "AWS::Serverless::LayerVersion"
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
        assert layer["Properties"]["ContentUri"].endswith(".zip")
    assert res["RestAPI"]["Properties"]["EndpointConfiguration"] == stage.api_gateway_endpoint_type


def test_function_zip_holds_only_our_code(built):
    with zipfile.ZipFile(built[1] / "deployment.zip") as z:
        names = z.namelist()
        size = sum(i.file_size for i in z.infolist())
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    heavy = [n for n in names
             if re.match(r"(numpy|onnxruntime|cv2|PIL|imageio_ffmpeg)/", n) or n.endswith(".onnx")
             or (n.startswith("models/") and n != "models/calibration.json")]
    assert heavy == [], "dependencies/models belong in the layers"
    assert size < 5 * 2**20
    if (REPO / "models" / "calibration.json").exists():
        assert "models/calibration.json" in names  # read beside the code, not from the layer


def _statements(template):
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles, "no IAM role in the template"
    out = []
    for role in roles:
        for p in role["Properties"]["Policies"]:
            out += p["PolicyDocument"]["Statement"]
    return out


def _resource_strings(st):
    for r in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
        yield r["Fn::Sub"] if isinstance(r, dict) else r


def test_iam_policy_is_least_privilege(built, stage):
    _check_least_privilege(built[0], stage.environment_variables)


def _check_least_privilege(template, env):
    statements = _statements(template)
    assert all(s["Effect"] == "Allow" for s in statements)
    domain, region = policy.opensearch_domain(env["FRS_OPENSEARCH_ENDPOINT"])
    allowed = {
        "logs": re.compile(r"arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}"
                           r":log-group:/aws/lambda/\$\{AWS::StackName\}-\*(:\*)?"),
        "s3": re.compile(r"arn:\$\{AWS::Partition\}:s3:::(%s)(/\*|/import/\*|/import-reports/\*)?"
                         % "|".join(map(re.escape, policy.buckets(env["FRS_MEDIA_BUCKETS"])
                                        + [env["FRS_IMPORT_BUCKET"]]))),
        "es": re.compile(r"arn:\$\{AWS::Partition\}:es:%s:\$\{AWS::AccountId\}:domain/%s/\*"
                         % (re.escape(region), re.escape(domain))),
        "ssm": re.compile(r"arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}"
                          r":parameter%s/\*" % re.escape(env["FRS_IDENTITY_SSM_PREFIX"])),
    }
    seen = set()
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if st.get("Sid") == "Tracing":
            # X-Ray segment uploads take no resource ARN: "*" is the only form, for these two only.
            assert sorted(actions) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
            assert st["Resource"] == ["*"]
            seen.update(actions)
            continue
        for a in actions:
            assert "*" not in a, f"wildcard action {a}"
            service = a.split(":")[0]
            assert service in allowed, f"unexpected service in {a}"
            seen.add(a)
        for r in _resource_strings(st):
            assert r != "*"
            assert all(allowed[a.split(":")[0]].fullmatch(r) for a in actions), (actions, r)
    # Exactly what the code uses, nothing else.
    assert seen == {
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
        "s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject",
        "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete",
        "ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    # Writes to S3 only under the import-report prefix.
    for st in statements:
        if {"s3:PutObject", "s3:DeleteObject"} & set(st["Action"]):
            assert all(r.endswith("/import-reports/*") for r in _resource_strings(st))


def test_functions_trace_to_xray_unless_the_stage_turns_it_off(built):
    for name, res in built[0]["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            assert res["Properties"].get("Tracing") == "Active", name
    env = policy.stage_env("prod")
    off = policy.build_policy({**env, "FRS_TRACING": "off"})
    assert not [s for s in off["Statement"] if s["Sid"] == "Tracing"]
    assert [s for s in policy.build_policy(env)["Statement"] if s["Sid"] == "Tracing"]


def test_gateway_answers_in_frs_format(built):
    responses = built[0]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"]
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["statusCode"] == "404"
    assert json.loads(unknown["responseTemplates"]["application/json"])["error_code"] == "APIG.0101"
    too_large = responses["REQUEST_TOO_LARGE"]
    assert too_large["statusCode"] == "413"
    body = json.loads(too_large["responseTemplates"]["application/json"])
    assert body["error_code"] == "APIG.0201" and "image_url" in body["error_msg"]
    for name in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "$context.error.messageString" in responses[name]["responseTemplates"]["application/json"]


def test_bulk_import_wiring_packages_bucket_and_notification(tmp_path):
    """The exact app.py lines docs/deploy.md gives, on a staged copy."""
    config = json.loads(policy.CONFIG.read_text())
    env = pkg.check_stage("prod", config)
    src = pkg.stage_source("prod", tmp_path / "src")
    app_py = src / "app.py"
    if "bulk_import" not in app_py.read_text():
        app_py.write_text(app_py.read_text() + BULK_IMPORT_WIRING)
    out = tmp_path / "out"
    pkg.run_chalice(src, "prod", out, env)
    t = pkg.postprocess(json.loads((out / "sam.json").read_text()), env, out)
    res = t["Resources"]
    fn = res["BulkImport"]["Properties"]
    lf = config["stages"]["prod"]["lambda_functions"]["bulk_import"]
    assert (fn["MemorySize"], fn["Timeout"]) == (lf["lambda_memory_size"], lf["lambda_timeout"])
    assert fn["Layers"][:2] == [{"Ref": "DepsLayer"}, {"Ref": "ModelsLayer"}]
    bucket = res["ImportBucket"]["Properties"]
    assert bucket["BucketName"] == env["FRS_IMPORT_BUCKET"]
    (cfg,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert cfg["Function"] == {"Fn::GetAtt": ["BulkImport", "Arn"]}
    assert cfg["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "import/"}]
    assert res["ImportBucket"]["DependsOn"] == "BulkImportS3Permission"
    assert res["BulkImportS3Permission"]["Properties"]["Principal"] == "s3.amazonaws.com"
    _check_least_privilege(t, env)  # the import function's role too
    (out / "sam.json").write_text(json.dumps(t))
    _cfn_lint(out / "sam.json")


def test_reserved_variables_are_refused():
    config = json.loads(policy.CONFIG.read_text())
    config["stages"]["prod"]["environment_variables"]["AWS_REGION"] = "eu-west-1"
    with pytest.raises(SystemExit, match="AWS_REGION"):
        pkg.check_stage("prod", config)


def test_template_passes_cfn_lint(built):
    """CloudFormation's own resource schemas and the SAM transform, offline."""
    _cfn_lint(built[1] / "sam.json")


def _cfn_lint(path):
    pytest.importorskip("cfnlint",
                        reason="cfn-lint not installed (requirements-dev: cfn-lint, aws-sam-translator)")
    pytest.importorskip("samtranslator", reason="aws-sam-translator not installed")
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "cfnlint", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode & 2 == 0, r.stdout + r.stderr  # bit 2: errors (4/8: warnings/info)
