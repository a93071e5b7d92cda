"""Least-privilege IAM policy for a deployable stage, derived from its settings.

    python -m deploy.policy --stage prod            # write .chalice/policy-prod.json
    python -m deploy.policy --stage prod --check    # exit 1 if the file is stale

Every statement follows from an environment variable of the stage in
.chalice/config.json, so the policy grants exactly what that configuration
uses. ARNs carry CloudFormation pseudo parameters (``${AWS::AccountId}``,
``${AWS::Region}``, ``${AWS::Partition}``, ``${AWS::StackName}``); the
packager wraps them in ``Fn::Sub`` (deploy/package.py), which is why the
supported deployment path is ``make package`` + CloudFormation.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"

ARN = "arn:${AWS::Partition}"
ACCT = "${AWS::AccountId}"
REGION = "${AWS::Region}"


def stage_env(stage: str, config: dict | None = None) -> dict:
    config = config or json.loads(CONFIG.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"stage {stage!r} is not in {CONFIG}")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def opensearch_domain(endpoint: str) -> tuple[str, str]:
    """(domain name, region) from an Amazon OpenSearch Service endpoint such as
    ``https://search-<domain>-<id>.<region>.es.amazonaws.com`` (or ``vpc-…``)."""
    host = re.sub(r"^https?://", "", endpoint).split("/")[0].split(":")[0]
    m = re.fullmatch(r"(?:search|vpc)-([a-z][a-z0-9-]{2,27})-[a-z0-9]+"
                     r"\.([a-z0-9-]+)\.es\.amazonaws\.com", host)
    if not m:
        raise SystemExit(f"FRS_OPENSEARCH_ENDPOINT {endpoint!r} is not an Amazon OpenSearch "
                         "Service domain endpoint (search-<domain>-<id>.<region>.es.amazonaws.com)")
    return m.group(1), m.group(2)


def tracing_on(env: dict) -> bool:
    """Whether the stage's functions trace to X-Ray (FRS_TRACING, on by
    default on Lambda; chalicelib/config.py reads it the same way there)."""
    from chalicelib.config import Settings
    cfg = Settings.from_env({**env, "AWS_LAMBDA_FUNCTION_NAME": "deployed"})
    return cfg.observability and cfg.tracing


def buckets(value: str | None) -> list[str]:
    return [b.strip() for b in (value or "").split(",") if b.strip()]


def build_policy(env: dict) -> dict:
    st = [{
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        # CloudFormation names the functions <stack>-<LogicalId>-<suffix>.
        "Resource": [f"{ARN}:logs:{REGION}:{ACCT}:log-group:/aws/lambda/${{AWS::StackName}}-*",
                     f"{ARN}:logs:{REGION}:{ACCT}:log-group:/aws/lambda/${{AWS::StackName}}-*:*"],
    }]
    media = buckets(env.get("FRS_MEDIA_BUCKETS"))
    if media:
        st.append({"Sid": "ReadMedia", "Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": [f"{ARN}:s3:::{b}/*" for b in media]})
        # Without ListBucket S3 answers AccessDenied for a missing key, and the
        # API could not tell FRS.0024 (not found) from FRS.0027 (forbidden).
        st.append({"Sid": "TellMissingMedia", "Effect": "Allow", "Action": ["s3:ListBucket"],
                   "Resource": [f"{ARN}:s3:::{b}" for b in media]})
    imp = env.get("FRS_IMPORT_BUCKET")
    if imp:
        st.append({"Sid": "BulkImportRead", "Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": [f"{ARN}:s3:::{imp}/import/*"]})
        # Delete: a successful retry removes the object's stale failure report.
        st.append({"Sid": "BulkImportReport", "Effect": "Allow",
                   "Action": ["s3:PutObject", "s3:DeleteObject"],
                   "Resource": [f"{ARN}:s3:::{imp}/import-reports/*"]})
    if env.get("FRS_STORE") == "opensearch":
        domain, region = opensearch_domain(env.get("FRS_OPENSEARCH_ENDPOINT", ""))
        st.append({"Sid": "OpenSearch", "Effect": "Allow",
                   "Action": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost",
                              "es:ESHttpPut", "es:ESHttpDelete"],
                   "Resource": [f"{ARN}:es:{region}:{ACCT}:domain/{domain}/*"]})
    if env.get("FRS_IDENTITY_BACKEND") == "ssm":
        prefix = "/" + (env.get("FRS_IDENTITY_SSM_PREFIX") or "/openfrs/identity").strip("/")
        # Put: the token signing key is created on first use; deleting and
        # revoking are the operator's (chalicelib/cli/admin.py), not the function's.
        st.append({"Sid": "Credentials", "Effect": "Allow",
                   "Action": ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"],
                   "Resource": [f"{ARN}:ssm:{REGION}:{ACCT}:parameter{prefix}/*"]})
        key = env.get("FRS_IDENTITY_KMS_KEY_ID")
        if key:
            if not key.startswith("arn:"):
                key = f"{ARN}:kms:{REGION}:{ACCT}:key/{key}"
            st.append({"Sid": "CredentialsKey", "Effect": "Allow",
                       "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                       "Resource": [key]})
    # CloudWatch metrics come as EMF lines in the function's own log stream:
    # the Logs statement above covers them, no cloudwatch:PutMetricData.
    if tracing_on(env):
        # X-Ray's segment upload has no resource-level permissions: "*" is the only form.
        st.append({"Sid": "Tracing", "Effect": "Allow",
                   "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                   "Resource": ["*"]})
    if env.get("FRS_RATELIMIT_BACKEND") == "dynamodb":
        table = env.get("FRS_RATELIMIT_TABLE")
        if not table:
            raise SystemExit("FRS_RATELIMIT_BACKEND=dynamodb needs FRS_RATELIMIT_TABLE")
        # UpdateItem counts; GetItem reads the previous window of the
        # failed-login counters (chalicelib/identity/lockout.py).
        st.append({"Sid": "RateLimit", "Effect": "Allow",
                   "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem"],
                   "Resource": [f"{ARN}:dynamodb:{REGION}:{ACCT}:table/{table}"]})
    return {"Version": "2012-10-17", "Statement": st}


def policy_path(stage: str, config: dict | None = None) -> Path:
    config = config or json.loads(CONFIG.read_text())
    name = config["stages"][stage].get("iam_policy_file") or f"policy-{stage}.json"
    return ROOT / ".chalice" / name


def render(stage: str) -> str:
    return json.dumps(build_policy(stage_env(stage)), indent=2) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", required=True)
    ap.add_argument("--check", action="store_true", help="fail if the written policy is stale")
    a = ap.parse_args(argv)
    path, text = policy_path(a.stage), render(a.stage)
    if a.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path.relative_to(ROOT)} is stale: run `make policy STAGE={a.stage}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
