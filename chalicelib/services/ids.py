"""Identifiers in the formats FRS uses."""
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def face_id() -> str:
    """8 random letters, upper and lower case (as FRS face ids)."""
    return "".join(secrets.choice(string.ascii_letters) for _ in range(8))


def face_set_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(8))


def external_image_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(8))
