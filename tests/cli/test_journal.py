"""The import journal (openfrs_cli/journal.py): private, and one import per
face set at a time (two would both send an image neither had journalled)."""
import pytest

from openfrs_cli.client import CliError
from openfrs_cli.journal import Journal


def test_one_import_per_face_set_at_a_time(tmp_path):
    path = str(tmp_path / "j" / "journal.sqlite3")
    first = Journal(path, "http://h|p|set-a")
    with pytest.raises(CliError) as e:
        Journal(path, "http://h|p|set-a")
    assert e.value.code == "CLIENT.BUSY"
    Journal(path, "http://h|p|set-b").close()  # another set: independent
    first.mark("abc", "x.jpg", "x", "done", ["F1"])
    first.close()
    again = Journal(path, "http://h|p|set-a")
    assert again.states()["abc"].face_ids == ["F1"]
    again.close()
    assert (tmp_path / "j" / "journal.sqlite3").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "j").stat().st_mode & 0o777 == 0o700
