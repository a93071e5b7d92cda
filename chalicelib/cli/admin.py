"""Identity administration: ``python -m chalicelib.cli.admin <noun> <verb> ...``.

Works on the store chosen by FRS_IDENTITY_BACKEND (SQLite under FRS_DATA_DIR
by default, SSM Parameter Store with ``ssm``). Output is JSON. A secret (SK,
generated password) is printed exactly once, by the command that creates it;
listings never contain secrets.

  project create --name N [--domain D] [--id ID]     project list
  user create --name N [--domain D] [--password P]   user list
  user passwd --name N [--domain D] [--password P]   user delete --name N [--domain D]
  key create --project ID [--description TEXT]       key list [--project ID]
  key rotate --ak AK   (new pair, old one revoked)   key revoke --ak AK
  token-key rotate     (every issued token stops working)
  face-set list --project ID   (each set's size and the embedding model that made its vectors)

Without ``--password`` a strong password is generated and printed once; the
environment variable FRS_ADMIN_PASSWORD is read first, so that a password
need not appear in shell history or the process list.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys

from chalicelib.config import settings
from chalicelib.identity.credentials import DEFAULT_DOMAIN, CredentialStore, get_credential_store


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    given = args.password or settings().admin_password
    return (given, False) if given else (secrets.token_urlsafe(18), True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chalicelib.cli.admin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="noun", required=True)

    proj = sub.add_parser("project").add_subparsers(dest="verb", required=True)
    c = proj.add_parser("create")
    c.add_argument("--name", required=True)
    c.add_argument("--domain", default=DEFAULT_DOMAIN)
    c.add_argument("--id", dest="project_id")
    proj.add_parser("list")
    pp = proj.add_parser("purge", help="delete every face set, face and key of a project")
    pp.add_argument("--id", dest="project_id", required=True)
    pp.add_argument("--keep-credentials", action="store_true",
                    help="delete the face data only; keep the project and its keys")
    pp.add_argument("--yes", action="store_true", help="required: there is no undo")

    user = sub.add_parser("user").add_subparsers(dest="verb", required=True)
    for verb in ("create", "passwd", "delete"):
        u = user.add_parser(verb)
        u.add_argument("--name", required=True)
        u.add_argument("--domain", default=DEFAULT_DOMAIN)
        if verb != "delete":
            u.add_argument("--password")
    user.add_parser("list")

    key = sub.add_parser("key").add_subparsers(dest="verb", required=True)
    k = key.add_parser("create")
    k.add_argument("--project", required=True)
    k.add_argument("--description", default="")
    k = key.add_parser("list")
    k.add_argument("--project")
    for verb in ("rotate", "revoke"):
        key.add_parser(verb).add_argument("--ak", required=True)

    tk = sub.add_parser("token-key").add_subparsers(dest="verb", required=True)
    tk.add_parser("rotate")

    fs = sub.add_parser("face-set").add_subparsers(dest="verb", required=True)
    fs.add_parser("list").add_argument("--project", required=True)
    return p


def _face_sets(project_id: str) -> list:
    """Each face set of a project with the model that made its vectors: the
    family when this installation has that model ("" = made before sets
    recorded their model, i.e. by dlib), else "not built here" (its adds
    and searches answer FRS.0018 until its faces are re-enrolled)."""
    from chalicelib.errors import FrsError
    from chalicelib.store import get_store as face_store
    from chalicelib.vision import get_engine
    engine = get_engine()
    default = engine.model_id
    out = []
    for info in face_store().list_face_sets(project_id):
        try:
            family = engine.recognizer_family(info.embedding_model)
        except FrsError:
            family = "not built here"
        out.append({"face_set_name": info.face_set_name, "face_set_id": info.face_set_id,
                    "face_number": info.face_number, "face_set_capacity": info.face_set_capacity,
                    "embedding_model": info.embedding_model or "(unrecorded: dlib)",
                    "embedder_family": family, "default_model": info.embedding_model == default})
    return out


def _project(args: argparse.Namespace, store: CredentialStore) -> dict | list:
    match args.verb:
        case "create":
            return store.create_project(args.name, args.domain, project_id=args.project_id)
        case "list":
            return store.list_projects()
        case "purge":
            if not args.yes:
                raise ValueError("purge cannot be undone; add --yes")
            from chalicelib.cli import privacy
            return privacy.purge_project(args.project_id, credentials=not args.keep_credentials)
    raise AssertionError("unreachable")


def _user(args: argparse.Namespace, store: CredentialStore) -> dict | list:
    match args.verb:
        case "create" | "passwd":
            exists = store.get_user(args.domain, args.name) is not None
            if exists == (args.verb == "create"):
                raise ValueError(f"user {args.domain}/{args.name} "
                                 + ("exists" if exists else "does not exist"))
            password, generated = _password(args)
            out = store.set_user(args.name, password, args.domain)
            return {**out, "password": password} if generated else out
        case "delete":
            store.delete_user(args.domain, args.name)
            return {"deleted": f"{args.domain}/{args.name}"}
        case "list":
            return store.list_users()
    raise AssertionError("unreachable")


def _key(args: argparse.Namespace, store: CredentialStore) -> dict | list:
    match args.verb:
        case "create":
            return store.create_key(args.project, description=args.description)
        case "list":
            return store.list_keys(args.project)
        case "rotate":
            return store.rotate_key(args.ak)
        case "revoke":
            return store.revoke_key(args.ak)
    raise AssertionError("unreachable")


def run(argv: list[str]) -> dict | list:
    args = _parser().parse_args(argv)
    store = get_credential_store()
    match (args.noun, args.verb):
        case ("project", _):
            return _project(args, store)
        case ("user", _):
            return _user(args, store)
        case ("key", _):
            return _key(args, store)
        case ("token-key", "rotate"):
            return store.rotate_signing_key()
        case ("face-set", "list"):
            return _face_sets(args.project)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    try:
        out = run(sys.argv[1:] if argv is None else argv)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
