"""`chalice package` for a deployable stage, plus what Chalice cannot express.

    python -m deploy.package --stage prod [--out build/package-prod]

Steps (all offline):

1. Regenerates the stage's least-privilege policy (deploy/policy.py) and checks
   the stage for settings Lambda rejects (reserved variable names).
2. Runs ``chalice package --pkg-format cloudformation`` on a staging copy of
   the function code with an empty requirements.txt: the dependencies live in
   the layer built by ``make layer``, and Chalice would otherwise vendor
   numpy/onnxruntime/FFmpeg into the function zip a second time.
3. Post-processes the SAM template:
   * the dependency and model layers as ``AWS::Serverless::LayerVersion``
     (zips from layers/build/ copied beside the template) on every function;
   * ``Fn::Sub`` around the pseudo parameters in the IAM policy;
   * X-Ray active tracing on every function unless the stage sets
     ``FRS_TRACING=off`` (the policy then grants no xray actions either);
   * API Gateway responses answering in FRS's JSON error format: unknown
     routes (API Gateway's 403 "Missing Authentication Token") become
     ``404 APIG.0101``; bodies over the platform limit ``413 APIG.0201``;
     gateway-side 5xx ``FRS.0018``-style JSON;
   * the bulk-import bucket with its S3 -> Lambda notification, when the
     stage sets ``FRS_IMPORT_BUCKET`` (Chalice refuses ``on_s3_event`` in
     CloudFormation output because CloudFormation cannot change the
     notifications of an existing bucket, so the stack owns this bucket).

Deploy the result with ``aws cloudformation package`` + ``deploy``
(docs/deploy.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import policy

ROOT = Path(__file__).resolve().parent.parent
LAYER_BUILD = ROOT / "layers" / "build"

# Lambda refuses to create a function that sets these (it sets them itself).
RESERVED_ENV = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

# Stages that are never built without naming their media buckets.
MEDIA_BUCKETS_REQUIRED = {"prod"}

LAYERS = {"DepsLayer": ("deps-layer.zip", "numpy, onnxruntime, pillow, ..., xz-compressed FFmpeg "
                                          "for python3.11 (layers/build_layer.py)"),
          "ModelsLayer": ("models-layer.zip", "ONNX models + manifest, mounted at /opt/models")}

_NOT_FOUND = '{"error_code":"APIG.0101","error_msg":"The API does not exist or has not been published."}'
_TOO_LARGE = ('{"error_code":"APIG.0201","error_msg":"Request body too large: the platform accepts '
              'about 6 MB per request. Pass large images or videos by image_url/video_url."}')
_TIMEOUT = '{"error_code":"APIG.0201","error_msg":"Backend timeout."}'
_5XX = '{"error_code":"FRS.0018","error_msg":$context.error.messageString}'
# Other gateway 4xx are authorisation refusals (WAF, resource policy).
_4XX = '{"error_code":"APIG.0301","error_msg":$context.error.messageString}'
_THROTTLED = '{"error_code":"FRS.0033","error_msg":"Too many requests."}'


def _gateway_response(status: int, body: str) -> dict:
    return {"statusCode": str(status),
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "responseTemplates": {"application/json": body}}


GATEWAY_RESPONSES = {
    # REST APIs answer unknown paths/methods with 403 Missing Authentication Token.
    "MISSING_AUTHENTICATION_TOKEN": _gateway_response(404, _NOT_FOUND),
    "RESOURCE_NOT_FOUND": _gateway_response(404, _NOT_FOUND),
    "REQUEST_TOO_LARGE": _gateway_response(413, _TOO_LARGE),
    "INTEGRATION_TIMEOUT": _gateway_response(504, _TIMEOUT),
    "THROTTLED": _gateway_response(429, _THROTTLED),
    "QUOTA_EXCEEDED": _gateway_response(429, _THROTTLED),
    "DEFAULT_4XX": {k: v for k, v in _gateway_response(0, _4XX).items() if k != "statusCode"},
    "DEFAULT_5XX": {k: v for k, v in _gateway_response(0, _5XX).items() if k != "statusCode"},
}


def check_stage(stage: str, config: dict) -> dict:
    env = policy.stage_env(stage, config)
    bad = sorted(RESERVED_ENV & env.keys())
    if bad:
        raise SystemExit(f"stage {stage}: Lambda reserves {', '.join(bad)}; remove them from "
                         ".chalice/config.json (Lambda sets AWS_REGION itself)")
    if not policy.buckets(env.get("FRS_MEDIA_BUCKETS")):
        # Unset, image_url/video_url may name any bucket the role can read.
        msg = (f"stage {stage}: FRS_MEDIA_BUCKETS is empty, so image_url/video_url may read any "
               "bucket the function's role can reach; name your media bucket(s) in "
               ".chalice/config.json")
        if stage in MEDIA_BUCKETS_REQUIRED:
            raise SystemExit(msg)
        print(f"warning: {msg}", file=sys.stderr)
    return env


def stage_source(stage: str, dest: Path) -> Path:
    """A copy of what the function zip should contain, and nothing else."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / ".chalice").mkdir(parents=True)
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # chalicelib/vision/calibration.py reads <code root>/models/calibration.json
    # (the model files themselves come from the models layer). Chalice zips
    # only app.py, chalicelib/ and the contents of vendor/, hence vendor/models/.
    calib = ROOT / "models" / "calibration.json"
    if calib.exists():
        (dest / "vendor" / "models").mkdir(parents=True)
        shutil.copy2(calib, dest / "vendor" / "models" / "calibration.json")
    shutil.copy2(policy.CONFIG, dest / ".chalice" / "config.json")
    for f in (ROOT / ".chalice").glob("policy-*.json"):
        shutil.copy2(f, dest / ".chalice" / f.name)
    (dest / "requirements.txt").write_text("# dependencies come from the layer (make layer)\n")
    return dest


def run_chalice(src: Path, stage: str, out: Path, env: dict) -> None:
    shutil.rmtree(out, ignore_errors=True)
    chalice = Path(sys.executable).with_name("chalice")
    run_env = dict(os.environ)
    # The template uses ${AWS::Region}; chalice only needs *a* region to run.
    run_env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # app.py may read stage settings at import time (e.g. the import bucket).
    run_env.update(env)
    r = subprocess.run([str(chalice), "package", "--stage", stage, "--pkg-format", "cloudformation",
                        str(out)], cwd=src, env=run_env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"chalice package failed:\n{r.stdout}\n{r.stderr}")


def _sub(node):
    """Wrap strings holding ${AWS::...} in Fn::Sub, recursively."""
    if isinstance(node, dict):
        return {k: _sub(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_sub(v) for v in node]
    if isinstance(node, str) and "${AWS::" in node:
        return {"Fn::Sub": node}
    return node


def postprocess(template: dict, env: dict, out: Path) -> dict:
    res = template["Resources"]
    functions = {k: v for k, v in res.items() if v["Type"] == "AWS::Serverless::Function"}

    for name, (zipname, desc) in LAYERS.items():
        built = LAYER_BUILD / zipname
        if built.exists():
            shutil.copy2(built, out / zipname)
        else:
            print(f"warning: {built.relative_to(ROOT)} not built: run `make layer` before deploying",
                  file=sys.stderr)
        res[name] = {"Type": "AWS::Serverless::LayerVersion",
                     "Properties": {"ContentUri": f"./{zipname}", "Description": desc,
                                    "CompatibleRuntimes": ["python3.11"],
                                    "CompatibleArchitectures": ["x86_64"],
                                    "RetentionPolicy": "Delete"}}
    tracing = policy.tracing_on(env)
    for fn in functions.values():
        props = fn["Properties"]
        props["Layers"] = [{"Ref": n} for n in LAYERS] + list(props.get("Layers", []))
        if tracing:  # X-Ray active tracing: the runtime opens the segment the Tracer adds to
            props["Tracing"] = "Active"

    for role in (v for v in res.values() if v["Type"] == "AWS::IAM::Role"):
        role["Properties"]["Policies"] = _sub(role["Properties"].get("Policies", []))

    api = res["RestAPI"]["Properties"]["DefinitionBody"]
    api["x-amazon-apigateway-gateway-responses"] = GATEWAY_RESPONSES

    imp = env.get("FRS_IMPORT_BUCKET")
    if imp and not env.get("FRS_IMPORT_PROJECT_ID"):
        print("warning: FRS_IMPORT_BUCKET is set but FRS_IMPORT_PROJECT_ID is empty: "
              "imports will fail until it is set", file=sys.stderr)
    if "BulkImport" in res and imp:
        res["BulkImportS3Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "BulkImport"},
                           "Principal": "s3.amazonaws.com",
                           "SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{imp}"},
                           "SourceAccount": {"Ref": "AWS::AccountId"}}}
        res["ImportBucket"] = {
            "Type": "AWS::S3::Bucket",
            "DependsOn": "BulkImportS3Permission",
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": imp,
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "NotificationConfiguration": {"LambdaConfigurations": [{
                    "Event": "s3:ObjectCreated:*",
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "import/"}]}},
                    "Function": {"Fn::GetAtt": ["BulkImport", "Arn"]}}]},
            }}
        template.setdefault("Outputs", {})["ImportBucket"] = {"Value": {"Ref": "ImportBucket"}}
    elif "BulkImport" in res:
        # No import bucket configured: the function would never be invoked.
        del res["BulkImport"]
        for k in [k for k, v in res.items() if "BulkImport" in json.dumps(v)]:
            del res[k]
        for k in [k for k, v in template.get("Outputs", {}).items() if "BulkImport" in json.dumps(v)]:
            del template["Outputs"][k]
    return template


def package(stage: str, out: Path | None = None) -> Path:
    config = json.loads(policy.CONFIG.read_text())
    env = check_stage(stage, config)
    ppath = policy.policy_path(stage, config)
    ppath.write_text(policy.render(stage))
    out = out or ROOT / "build" / f"package-{stage}"
    src = stage_source(stage, ROOT / "build" / f"stage-src-{stage}")
    run_chalice(src, stage, out, env)
    tpath = out / "sam.json"
    template = postprocess(json.loads(tpath.read_text()), env, out)
    tpath.write_text(json.dumps(template, indent=2) + "\n")
    return tpath


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", default="prod")
    ap.add_argument("--out", help="output directory (default build/package-STAGE)")
    a = ap.parse_args(argv)
    tpath = package(a.stage, Path(a.out).resolve() if a.out else None)
    print(f"wrote {tpath.relative_to(ROOT) if tpath.is_relative_to(ROOT) else tpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
