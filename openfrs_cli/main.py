"""The ``openfrs`` command (Click). Human-readable output by default, ``--json``
for scripts; errors are one line with the FRS code, exit status 1."""
from __future__ import annotations

import base64
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click
from huaweicloudsdkcore.exceptions.exceptions import SdkException, ServiceResponseException
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkfrs.v2 import model as m
from tqdm import tqdm

from openfrs_cli import bulk, draw
from openfrs_cli.client import Backoff, CliError, PerThread, Target, describe, with_retries
from openfrs_cli.journal import Journal

VERDICT = 0.93  # FRS: above this similarity the two faces are the same person
EXTENSION = "/openfrs/v1/{project_id}/face-sets/{face_set_name}"


class State:
    def __init__(self, target: Target, as_json: bool):
        self.target, self.json = target, as_json
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.target.client()
        return self._client

    def out(self, data: Any, human: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False, default=str) if self.json else human)


def command(fn: Callable) -> Callable:
    """Errors become one readable line with the FRS code (no traceback); every
    command also takes ``--json`` after its name."""
    @functools.wraps(fn)
    @click.pass_obj
    def run(state: State, *args: Any, sub_json: bool = False, **kwargs: Any) -> Any:
        state.json = state.json or sub_json
        try:
            return fn(state, *args, **kwargs)
        except (ServiceResponseException, SdkException, CliError, OSError) as exc:
            code, msg = (exc.code, str(exc)) if isinstance(exc, CliError) else describe(exc)
            if isinstance(exc, OSError) and not isinstance(exc, SdkException):
                code, msg = "CLIENT.FILE", str(exc)
            if state.json:
                click.echo(json.dumps({"error_code": code, "error_msg": msg}), err=True)
            else:
                click.echo(f"error {code}: {msg}".replace("error : ", "error: "), err=True)
            sys.exit(1)
    return click.option("--json", "sub_json", is_flag=True, help="Machine-readable JSON output.")(run)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--endpoint", envvar="OPENFRS_ENDPOINT", default="http://127.0.0.1:8000", show_default=True,
              help="Server URL (OpenFRS, or https://face.<region>.myhuaweicloud.com).")
@click.option("--project", envvar="OPENFRS_PROJECT_ID", default="",
              help="Project id [OPENFRS_PROJECT_ID] (required by every command).")
@click.option("--ak", envvar="OPENFRS_AK", help="Access key [OPENFRS_AK] (AK/SK signing).")
@click.option("--sk", envvar="OPENFRS_SK", help="Secret key [OPENFRS_SK].")
@click.option("--token", envvar="OPENFRS_TOKEN",
              help="IAM token (X-Auth-Token) instead of AK/SK [OPENFRS_TOKEN].")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for one answer.")
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.pass_context
def cli(ctx: click.Context, endpoint: str, project: str, ak: str | None, sk: str | None,
        token: str | None, timeout: float, insecure: bool, as_json: bool) -> None:
    """The OpenFRS command line: bulk enrolment, export/restore of face sets, and
    detect / compare / search from the shell. Talks to the server through the
    official huaweicloudsdkfrs client (AK/SK or a token from flags or environment)."""
    ctx.obj = State(Target(endpoint.rstrip("/"), project, ak, sk, token, timeout, not insecure), as_json)


def _b64(path: str) -> tuple[bytes, str]:
    data = Path(path).read_bytes()
    return data, base64.b64encode(data).decode("ascii")


def _table(rows: list[list[str]], head: list[str]) -> str:
    cols = [head] + rows
    widths = [max(len(r[i]) for r in cols) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in cols)


# --------------------------------------------------------------------------
# face sets
@cli.command("face-sets")
@command
def face_sets(state: State) -> None:
    """List the project's face sets."""
    sets = state.client.show_all_face_sets(m.ShowAllFaceSetsRequest()).face_sets_info or []
    data = [s.to_dict() for s in sets]
    state.out(data, _table([[s["face_set_name"], str(s["face_number"]), str(s["face_set_capacity"]),
                             s["create_date"]] for s in data], ["name", "faces", "capacity", "created"]))


def _schema(state: State, name: str, create: bool, capacity: int, fields: tuple[str, ...],
            hash_field: bool) -> dict[str, str]:
    """The set's custom-field schema, creating the set if asked and absent."""
    try:
        info = state.client.show_face_set(m.ShowFaceSetRequest(face_set_name=name)).face_set_info
        declared = info.external_fields or {}
        return {k: (v["type"] if isinstance(v, dict) else v.type) for k, v in declared.items()}
    except ServiceResponseException as exc:
        if exc.error_code != "FRS.0302" or not create:
            raise
    schema = {}
    for f in fields:
        fname, _, ftype = f.partition(":")
        schema[fname] = ftype or "string"
    if hash_field:
        schema[bulk.HASH_FIELD] = "string"
    state.client.create_face_set(m.CreateFaceSetRequest(body=m.CreateFaceSetReq(
        face_set_name=name, face_set_capacity=capacity,
        external_fields={k: m.TypeInfo(type=t) for k, t in schema.items()} or None)))
    click.echo(f"created face set {name} (capacity {capacity}, fields {schema or 'none'})", err=True)
    return schema


@cli.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--face-set", "face_set", required=True, help="Face set to enrol into.")
@click.option("--workers", "-j", default=2, show_default=True, help="Parallel requests.")
@click.option("--journal", "journal_path", default=lambda: os.path.expanduser("~/.openfrs/journal.sqlite3"),
              show_default="~/.openfrs/journal.sqlite3", help="Resume journal (SQLite).")
@click.option("--errors", "errors_path", default=None, help="Error report CSV [FACE_SET-errors.csv].")
@click.option("--create/--no-create", default=True, show_default=True, help="Create the face set if absent.")
@click.option("--capacity", default=100000, show_default=True, help="Capacity of a created set.")
@click.option("--field", "fields", multiple=True, metavar="NAME:TYPE",
              help="Custom field of a created set (CSV columns), e.g. age:integer.")
@click.option("--hash-field/--no-hash-field", default=True, show_default=True,
              help=f"Give a created set the field {bulk.HASH_FIELD} (exact resume checks).")
@click.option("--all-faces", is_flag=True, help="Add every face of an image, not only the largest.")
@click.option("--retries", default=8, show_default=True, help="Attempts per image on 429/5xx/no answer.")
@click.option("--resume-grace", default=10.0, show_default=True,
              help="Seconds an interrupted add may still take on the server before it is checked.")
@click.option("--progress/--no-progress", default=None, help="Progress bar [on a terminal].")
@command
def import_(state: State, source: Path, face_set: str, workers: int, journal_path: str,
            errors_path: str | None, create: bool, capacity: int, fields: tuple[str, ...],
            hash_field: bool, all_faces: bool, retries: int, resume_grace: float,
            progress: bool | None) -> None:
    """Enrol SOURCE into a face set: a folder tree (one person per folder: the
    folder's name becomes external_image_id) or a CSV (columns path,
    external_image_id and custom fields). Rerun the same command after an
    interruption: what is done is skipped, nothing is added twice."""
    schema = _schema(state, face_set, create, capacity, fields, hash_field)
    items = bulk.items_from_csv(source, schema) if source.is_file() else bulk.items_from_dir(source)
    t = state.target
    journal = Journal(journal_path, f"{t.endpoint}|{t.project_id}|{face_set}")
    importer = bulk.Importer(PerThread(t), face_set, journal, workers, Backoff(attempts=retries),
                             hash_field=bulk.HASH_FIELD in schema, single=not all_faces, grace=resume_grace)
    bar = tqdm(total=len(items), unit="img", file=sys.stderr, dynamic_ncols=True, smoothing=0.05,
               disable=(not sys.stderr.isatty()) if progress is None else not progress)
    interrupted = False
    try:
        summary = importer.run(items, len(items), bar)
    except KeyboardInterrupt:
        interrupted, summary = True, importer.last
    finally:
        bar.close()
    errors_path = errors_path or f"{face_set}-errors.csv"
    n_errors = bulk.write_error_report(journal, errors_path)
    journal.close()
    data = {**summary.as_dict(), "face_set": face_set, "error_report": errors_path,
            "errors_in_report": n_errors}
    c = summary.counts
    human = (f"{'interrupted: rerun the same command to resume' if interrupted else 'done'}: "
             f"{summary.files} files, {c['added']} added ({summary.faces} faces), "
             f"{c['skipped_done']} already done, {c['recovered']} recovered, "
             f"{c['duplicate_content']} duplicate files, {c['error']} refused, {c['failed']} failed "
             f"in {summary.seconds:.1f} s ({data['images_per_second']} images/s); "
             f"error report: {errors_path} ({n_errors} rows)")
    state.out(data, human)
    if interrupted:
        sys.exit(130)


# --------------------------------------------------------------------------
# export / restore
class RawResponse(SdkResponse):
    """An answer the SDK keeps as bytes (``raw_content``): the extension routes
    are not in the SDK's model, and a page of the file is not one JSON value."""
    openapi_types: dict = {}
    attribute_map: dict = {}


def _extension(state: State, method: str, name: str, action: str, query: list | None = None,
               body: str | None = None, ctype: str = "application/json") -> bytes:
    def call() -> bytes:
        resp = state.client.do_http_request(
            method=method, resource_path=f"{EXTENSION}/{action}", path_params={"face_set_name": name},
            query_params=query or [], header_params={"Content-Type": ctype}, body=body,
            response_type=RawResponse, collection_formats={})
        return bytes(resp.raw_content)
    return with_retries(call, Backoff())


@cli.command("export")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write [standard output].")
@click.option("--page-size", default=5000, show_default=True, help="Faces per request (at most 10000).")
@command
def export(state: State, name: str, output: str | None, page_size: int) -> None:
    """Write face set NAME as an .ofrs file (settings, schema, every face with its
    vector and face id, the embedding model; docs/transfer.md)."""
    fh: BinaryIO
    if output:  # biometric data: private file
        fh = os.fdopen(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
    else:
        fh = sys.stdout.buffer
    cursor, faces = None, 0
    with tqdm(unit="face", file=sys.stderr, disable=not sys.stderr.isatty(), desc=name) as bar:
        while True:
            query = [("limit", page_size)] + ([("cursor", cursor)] if cursor else [])
            page = _extension(state, "GET", name, "export", query).splitlines(keepends=True)
            last = json.loads(page[-1])
            body = page[:-1] if "next_cursor" in last else page
            fh.write(b"".join(body))
            n = sum(1 for line in body if line.startswith(b'{"face_id"'))
            faces += n
            bar.update(n)
            if "next_cursor" not in last:
                break
            cursor = last["next_cursor"]
    if output:
        fh.close()
    msg = f"exported {name}: {faces} faces, checksum {last['sha256'][:16]}…"
    if output or state.json:
        state.out({"face_set": name, "faces": faces, "sha256": last["sha256"], "output": output}, msg)
    else:
        click.echo(msg, err=True)


@cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "new_name", help="Restore under another name (a new set) [the file's name].")
@command
def restore(state: State, file: str, new_name: str | None) -> None:
    """Restore a face set from an .ofrs file. The server checks the whole file
    (format, checksum, completeness, embedding model, capacity) before writing
    anything; face ids are kept."""
    raw = Path(file).read_bytes()
    try:
        header = json.loads(raw.split(b"\n", 1)[0])
        name = new_name or header["face_set"]["face_set_name"]
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{file} does not start with a face-set header (docs/transfer.md)") from None
    answer = json.loads(_extension(state, "POST", name, "import", body=raw.decode("utf-8"),
                                   ctype="application/x-ndjson"))
    info = answer["face_set_info"]
    state.out(answer, f"restored {info['face_set_name']}: {answer['restored_faces']} faces "
                      f"(model {answer['embedding_model']}, capacity {info['face_set_capacity']})")


# --------------------------------------------------------------------------
# detect / compare / search
@cli.command("detect")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--attributes", default=None, help="FRS attribute codes, e.g. 0,1,2,4 (as the API).")
@click.option("--draw", "out", type=click.Path(dir_okay=False), help="Save the image with what was found.")
@command
def detect(state: State, image: str, attributes: str | None, out: str | None) -> None:
    """Detect faces in IMAGE: boxes (and attributes when asked)."""
    data, b64 = _b64(image)
    resp = state.client.detect_face_by_base64(m.DetectFaceByBase64Request(
        body=m.FaceDetectBase64Req(image_base64=b64, attributes=attributes)))
    faces = json.loads(resp.raw_content)["faces"]
    labels = []
    rows = []
    for i, f in enumerate(faces, 1):
        b = f["bounding_box"]
        attrs = _attr_text(f.get("attributes") or {})
        labels.append(f"#{i} {attrs}".strip())
        rows.append([str(i), f"{b['top_left_x']},{b['top_left_y']}", f"{b['width']}x{b['height']}", attrs])
    if out:
        draw.save(draw.boxes(draw.load(data), faces, labels), out)
    human = f"{len(faces)} face(s) in {image}\n" + _table(rows, ["#", "x,y", "size", "attributes"])
    state.out({"faces": faces, "drawn": out}, human + (f"\ndrawn: {out}" if out else ""))


def _attr_text(a: dict) -> str:
    parts = []
    for k in ("gender", "age", "glass", "hat", "mask", "beard", "hair", "expression"):
        v = a.get(k)
        if isinstance(v, dict):
            v = v.get("type", v)
        if v not in (None, "", "unknown"):
            parts.append(f"{k}={v}")
    q = a.get("quality")
    if isinstance(q, dict) and "total_score" in q:
        parts.append(f"quality={q['total_score']:.2f}")
    return " ".join(parts)


@cli.command("compare")
@click.argument("image1", type=click.Path(exists=True, dir_okay=False))
@click.argument("image2", type=click.Path(exists=True, dir_okay=False))
@click.option("--draw", "out", type=click.Path(dir_okay=False), help="Save both faces side by side.")
@command
def compare(state: State, image1: str, image2: str, out: str | None) -> None:
    """Compare the largest face of IMAGE1 with that of IMAGE2: the similarity and
    the verdict at FRS's threshold 0.93."""
    d1, b1 = _b64(image1)
    d2, b2 = _b64(image2)
    resp = state.client.compare_face_by_base64(m.CompareFaceByBase64Request(
        body=m.FaceCompareBase64Req(image1_base64=b1, image2_base64=b2)))
    body = json.loads(resp.raw_content)
    sim = float(body["similarity"])
    same = sim >= VERDICT
    verdict = "same person" if same else "different people"
    if out:
        color = draw.GREEN if same else draw.RED
        a = draw.crop(draw.boxes(draw.load(d1), [body["image1_face"]], [""], color),
                      body["image1_face"]["bounding_box"], 0.6)
        b = draw.crop(draw.boxes(draw.load(d2), [body["image2_face"]], [""], color),
                      body["image2_face"]["bounding_box"], 0.6)
        caption = f"similarity {sim:.4f}: {verdict} (threshold {VERDICT})"
        draw.save(draw.side_by_side(a, b, caption, color), out)
    state.out({**body, "threshold": VERDICT, "same_person": same, "drawn": out},
              f"similarity {sim:.4f}: {verdict} (threshold {VERDICT})" + (f"\ndrawn: {out}" if out else ""))


@cli.command("search")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--face-set", "face_set", required=True)
@click.option("--top-n", default=10, show_default=True)
@click.option("--threshold", type=float, default=None, help="Least similarity (0-1).")
@click.option("--filter", "flt", default=None, help='FRS filter, e.g. \'team:blue && age:[18 TO 70]\'.')
@command
def search(state: State, image: str, face_set: str, top_n: int, threshold: float | None,
           flt: str | None) -> None:
    """Search the largest face of IMAGE in a face set: a table of hits."""
    _, b64 = _b64(image)
    resp = state.client.search_face_by_base64(m.SearchFaceByBase64Request(
        face_set_name=face_set, body=m.FaceSearchBase64Req(image_base64=b64, top_n=top_n,
                                                           threshold=threshold, filter=flt)))
    hits = json.loads(resp.raw_content)["faces"]
    rows = [[str(i), f"{h['similarity']:.4f}", "yes" if h["similarity"] >= VERDICT else "",
             h["external_image_id"], h["face_id"],
             ", ".join(f"{k}={v}" for k, v in (h.get("external_fields") or {}).items()
                       if k != bulk.HASH_FIELD)]
            for i, h in enumerate(hits, 1)]
    state.out({"faces": hits}, _table(rows, ["rank", "similarity", "same", "external_image_id", "face_id",
                                             "fields"]) if hits else "no face in the set matched")


def main() -> None:  # the console script
    cli(prog_name="openfrs")


if __name__ == "__main__":
    main()
