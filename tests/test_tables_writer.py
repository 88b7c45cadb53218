"""The one CSV writer: file modes follow the umask, floats are the shortest round-trip repr,
booleans are TRUE/FALSE (R's logical and Excel's boolean spelling)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from ketamine_evidence.schemas import records as record_schemas
from ketamine_evidence.tables import write_bytes, write_table, write_text


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_floats_are_the_shortest_repr_that_round_trips(tmp_path):
    values = [-12.7, 0.95, 1 / 3, 1e-300, 2.5e20, -0.0, 123456789.123, np.nan]
    path = write_table(pd.DataFrame({"x": values, "k": [1] * len(values)}), tmp_path / "f.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = [line.split(",")[0] for line in lines[1:]]
    assert cells == [repr(v) if not np.isnan(v) else "" for v in values]
    assert "-12.7" in cells and "0.95" in cells
    back = pd.read_csv(path)["x"].to_numpy()
    np.testing.assert_array_equal(back, np.array(values))  # exact, NaN in place
    assert lines[1].endswith(",1")  # integers stay integers


def test_booleans_are_written_as_true_false(tmp_path):
    frame = pd.DataFrame({"flag": [True, False, True],
                          "maybe": pd.Series([True, None, False], dtype=object),
                          "text": ["True", "yes", "no"]})
    path = write_table(frame, tmp_path / "b.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["TRUE,TRUE,True", "FALSE,,yes", "TRUE,FALSE,no"]
    back = pd.read_csv(path)
    assert back["flag"].dtype == bool
    assert list(back["maybe"]) == [True, np.nan, False] or back["maybe"].isna().iloc[1]


def test_records_writer_uses_the_same_conventions(tmp_path, umask):
    umask(0o022)
    schema = record_schemas.pa.DataFrameSchema({"x": record_schemas.pa.Column(float),
                                                "b": record_schemas.pa.Column(bool)})
    path = tmp_path / "r.csv"
    record_schemas.write_table(pd.DataFrame({"x": [0.1 + 0.2], "b": [True]}), path, schema)
    assert path.read_text(encoding="utf-8").splitlines()[1] == "0.30000000000000004,TRUE"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_snapshot_folder_and_manifest_follow_the_umask(tmp_path, umask):
    import datetime as dt

    from ketamine_evidence.sources.pubmed import RawFile
    from ketamine_evidence.sources.snapshot import MANIFEST, commit_retrieval, init_snapshot

    umask(0o022)
    init_snapshot(tmp_path, dt.date(2026, 11, 27))
    raw = RawFile(name="pubmed/efetch_w01_b0001.xml", content=b"<a/>", source="pubmed",
                  kind="efetch", params={})
    folder = commit_retrieval(tmp_path, [raw], {"pubmed": {"status": "ok"}})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / MANIFEST).stat().st_mode) == 0o644


# -- one atomic writer for every file ------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "claims.csv"
    write_text("old\n", target)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_bytes(b"new\n", target, durable=True)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["claims.csv"]


def test_text_is_written_as_given(tmp_path):
    path = write_text("a\r\nb\n\u2212", tmp_path / "sub" / "x.txt")
    assert path.read_bytes() == "a\r\nb\n\u2212".encode()


def test_a_figure_is_written_atomically(tmp_path, monkeypatch):
    """save_figure draws in memory and writes through write_bytes: if drawing fails, the
    previous figure stays whole."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ketamine_evidence.plots import save_figure

    fig = Figure()
    fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    first = save_figure(fig, tmp_path / "forest", formats=("png",))
    before = first[0].read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        save_figure(fig, tmp_path / "forest", formats=("png",))
    assert first[0].read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.png"]


def test_every_write_in_the_package_goes_through_the_one_writer():
    """No module but tables.py writes a file itself (the snapshot's raw files, written into a
    hidden folder that is renamed into place as a whole, are the one exception)."""
    import ast
    from pathlib import Path

    import ketamine_evidence

    package = Path(ketamine_evidence.__file__).parent
    writers = {"write_text", "write_bytes", "to_csv", "savefig", "dump", "to_json"}
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "tables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in writers:
                owner = node.func.value
                if isinstance(owner, ast.Name) and owner.id in {"tables", "json"} \
                        and node.func.attr != "dump":
                    continue
                found.append(f"{path.relative_to(package)}:{node.lineno} .{node.func.attr}()")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "open" and len(node.args) > 1:
                found.append(f"{path.relative_to(package)}:{node.lineno} open(..., mode)")
    allowed = {"sources/snapshot.py", "plots/io.py"}  # raw files (see above); savefig to memory
    assert [f for f in found if f.split(":")[0] not in allowed] == []
