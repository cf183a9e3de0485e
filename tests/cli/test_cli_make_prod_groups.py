"""``prodstat make-prod-groups`` end to end: synthetic inputs, the real DP0.2 files, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lsst.prodstatus.core import groups as core
from lsst.prodstatus.script import make_prod_groups as command

# CRLF line endings, trailing blanks, a non-ASCII comment, look-alike words (BANDWIDTH,
# MYBAND, GNUMBER) and no final newline: all must come out byte for byte; grp_GNUM is
# replaced ("_" separates tokens), grpGNUM is not.
TEMPLATE = (
    "# Gruppe GNUM – Band BAND\r\n"
    "project: dp02   \r\n"
    "BANDWIDTH: MYBAND GNUMBER\r\n"
    "payload:\r\n"
    '  dataQuery: "exposure >=LOWEXP and exposure <= HIGHEXP"\r\n'
    "  name: grp-GNUM\r\n"
    "  joined: grp_GNUM\r\n"
    "  kept: grpGNUM"
).encode()

EXPLIST = """\
# band id
z 30
g 10

z 20   # second z
r 40
g 50
z 60
i 70
"""

Run = Callable[..., Any]


def expected_content(number: int, band: str, low: int, high: int) -> bytes:
    """Fill TEMPLATE by hand (plain replaces are exact for this template)."""
    text = TEMPLATE.decode()
    for old, new in (
        ("Gruppe GNUM", f"Gruppe {number}"),
        ("Band BAND", f"Band {band}"),
        (">=LOWEXP", f">={low}"),
        ("<= HIGHEXP", f"<= {high}"),
        ("grp-GNUM", f"grp-{number}"),
        ("grp_GNUM", f"grp_{number}"),
    ):
        text = text.replace(old, new)
    return text.encode()


@pytest.fixture
def inputs(chdir_tmp: Path) -> Path:
    """Write the synthetic template (tmpl.yaml) and explist in the current (temporary) dir."""
    (chdir_tmp / "tmpl.yaml").write_bytes(TEMPLATE)
    (chdir_tmp / "explist").write_text(EXPLIST)
    return chdir_tmp


def generated(directory: Path) -> list[str]:
    """Names of generated yamls (everything but the inputs), sorted."""
    return sorted(p.name for p in directory.iterdir() if p.name not in ("tmpl.yaml", "explist", "bare.yaml"))


def error_line(message: str, hint: str | None = None) -> str:
    """The stderr line prodstat prints for an InputError."""
    return f"prodstat: error: {message}" + (f"; {hint}" if hint else "") + "\n"


# --- success paths -------------------------------------------------------------------------


def test_writes_all_groups_with_exact_content_and_output(inputs: Path, run_cli: Run) -> None:
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "3", "0", "3", "explist")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "wrote tmpl_all_1.yaml  group 1: 3 ids, 10 … 30",
        "wrote tmpl_all_2.yaml  group 2: 3 ids, 40 … 60",
        "wrote tmpl_all_3.yaml  group 3: 1 ids, 70 … 70",
        "wrote 3 files: groups 1-3 of 3 (band all, 7 ids, group size 3)",
    ]
    assert result.stderr == ""
    assert generated(inputs) == ["tmpl_all_1.yaml", "tmpl_all_2.yaml", "tmpl_all_3.yaml"]
    assert (inputs / "tmpl_all_1.yaml").read_bytes() == expected_content(1, "all", 10, 30)
    assert (inputs / "tmpl_all_3.yaml").read_bytes() == expected_content(3, "all", 70, 70)


def test_skip_numbers_absolutely_and_reports_groups_past_the_end(inputs: Path, run_cli: Run) -> None:
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "2", "2", "5", "explist")
    assert result.exit_code == 0, result.stderr
    assert generated(inputs) == ["tmpl_all_3.yaml", "tmpl_all_4.yaml"]
    assert (inputs / "tmpl_all_3.yaml").read_bytes() == expected_content(3, "all", 50, 60)
    assert (inputs / "tmpl_all_4.yaml").read_bytes() == expected_content(4, "all", 70, 70)
    note = command.NOT_WRITTEN_NOTE.format(count=3, requested=5, total=4, ids=7, band="all")
    assert result.stderr == f"prodstat: {note}\n"
    assert (
        f"prodstat: {note}"
        == "prodstat: 3 of the 5 requested groups not written: the list ends with group 4 (7 ids of band all)"
    )
    assert "nan" not in "".join(p.read_text() for p in inputs.glob("tmpl_*.yaml"))


@pytest.mark.parametrize(
    ("band", "ids"), [("z", [20, 30, 60]), ("g", [10, 50]), ("f", [10, 20, 30, 40, 50, 60, 70])]
)
def test_band_filters_and_names_files(inputs: Path, run_cli: Run, band: str, ids: list[int]) -> None:
    result = run_cli("make-prod-groups", "tmpl.yaml", band, "100", "0", "1", "explist")
    assert result.exit_code == 0, result.stderr
    assert generated(inputs) == [f"tmpl_{band}_1.yaml"]
    assert (inputs / f"tmpl_{band}_1.yaml").read_bytes() == expected_content(1, band, ids[0], ids[-1])
    assert f"group 1: {len(ids)} ids, {ids[0]} … {ids[-1]}" in result.stdout


def test_output_dir_is_created_and_template_base_is_its_file_name(inputs: Path, run_cli: Run) -> None:
    (inputs / "templates").mkdir()
    (inputs / "tmpl.yaml").rename(inputs / "templates" / "tmpl.yaml")
    result = run_cli(
        "make-prod-groups", "templates/tmpl.yaml", "z", "2", "0", "2", "explist", "--output-dir", "out/step1"
    )
    assert result.exit_code == 0, result.stderr
    out = inputs / "out" / "step1"
    assert sorted(p.name for p in out.iterdir()) == ["tmpl_z_1.yaml", "tmpl_z_2.yaml"]
    assert (
        result.stdout.splitlines()[0] == f"wrote {Path('out/step1/tmpl_z_1.yaml')}  group 1: 2 ids, 20 … 30"
    )
    assert (out / "tmpl_z_2.yaml").read_bytes() == expected_content(2, "z", 60, 60)


def test_json_lists_the_files(inputs: Path, run_cli: Run) -> None:
    result = run_cli("--json", "make-prod-groups", "tmpl.yaml", "all", "4", "1", "3", "explist")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "files": [{"path": "tmpl_all_2.yaml", "group": 2, "count": 3, "low": 50, "high": 70}],
        "written": 1,
        "not_written": 2,
        "groups_total": 2,
        "band": "all",
        "ids": 7,
        "dry_run": False,
    }
    # The option is also accepted after the command name.
    again = run_cli("make-prod-groups", "tmpl.yaml", "all", "4", "0", "1", "explist", "--json")
    assert json.loads(again.stdout)["files"][0]["path"] == "tmpl_all_1.yaml"


@pytest.mark.parametrize("where", ["global", "command"])
def test_dry_run_writes_nothing(inputs: Path, run_cli: Run, where: str) -> None:
    args = ["make-prod-groups", "tmpl.yaml", "all", "3", "0", "9", "explist", "--output-dir", "new"]
    args = ["--dry-run", *args] if where == "global" else [*args, "--dry-run"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert generated(inputs) == []  # not even the output dir
    lines = result.stdout.splitlines()
    assert lines[0] == f"would write {Path('new/tmpl_all_1.yaml')}  group 1: 3 ids, 10 … 30"
    assert (
        lines[-1]
        == "would write 3 files: groups 1-3 of 3 (band all, 7 ids, group size 3); dry run, nothing written"
    )


def test_dry_run_json(inputs: Path, run_cli: Run) -> None:
    result = run_cli("--dry-run", "--json", "make-prod-groups", "tmpl.yaml", "i", "3", "0", "1", "explist")
    data = json.loads(result.stdout)
    assert (data["written"], data["dry_run"], len(data["files"])) == (0, True, 1)
    assert generated(inputs) == []


def test_force_overwrites(inputs: Path, run_cli: Run) -> None:
    (inputs / "tmpl_all_1.yaml").write_text("old\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "3", "0", "1", "explist", "--force")
    assert result.exit_code == 0, result.stderr
    assert (inputs / "tmpl_all_1.yaml").read_bytes() == expected_content(1, "all", 10, 30)
    # The original's "--force True" spelling works too.
    assert (
        run_cli("make-prod-groups", "tmpl.yaml", "all", "3", "0", "1", "explist", "--force", "True").exit_code
        == 0
    )


def test_template_without_placeholder_warns_and_still_writes(inputs: Path, run_cli: Run) -> None:
    (inputs / "bare.yaml").write_bytes(b"project: dp02\nBANDWIDTH: 3\n")
    result = run_cli("make-prod-groups", "bare.yaml", "all", "4", "0", "2", "explist")
    assert result.exit_code == 0
    assert result.stderr == "prodstat: " + command.NO_PLACEHOLDER_WARNING.format(path="bare.yaml") + "\n"
    assert result.stderr == (
        "prodstat: warning: template bare.yaml contains none of GNUM, BAND, LOWEXP, HIGHEXP; "
        "every file written is a copy of it\n"
    )
    assert generated(inputs) == ["bare_all_1.yaml", "bare_all_2.yaml"]
    assert (inputs / "bare_all_2.yaml").read_bytes() == b"project: dp02\nBANDWIDTH: 3\n"


def test_tract_list_with_band_word_all(chdir_tmp: Path, run_cli: Run) -> None:
    (chdir_tmp / "tmpl.yaml").write_text("tract in (LOWEXP..HIGHEXP)\n")
    (chdir_tmp / "tracts").write_text("all 3830\nall 3828\nall 3829\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "2", "0", "2", "tracts")
    assert result.exit_code == 0, result.stderr
    assert (chdir_tmp / "tmpl_all_1.yaml").read_text() == "tract in (3828..3829)\n"
    assert (chdir_tmp / "tmpl_all_2.yaml").read_text() == "tract in (3830..3830)\n"


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["missing.yaml", "all", "3", "0", "1", "explist"],
            error_line(command.TEMPLATE_MISSING.format(path="missing.yaml"), command.TEMPLATE_HINT),
        ),
        (
            ["tmpl.yaml", "all", "3", "0", "1", "nolist"],
            error_line(command.EXPLIST_MISSING.format(path="nolist"), command.EXPLIST_HINT),
        ),
        (
            ["tmpl.yaml", "all", "0", "0", "1", "explist"],
            error_line(core.GROUPSIZE_TOO_SMALL.format(value=0)),
        ),
        (
            ["tmpl.yaml", "all", "-5", "0", "1", "explist"],
            error_line(core.GROUPSIZE_TOO_SMALL.format(value=-5)),
        ),
        (
            ["tmpl.yaml", "all", "3", "-1", "1", "explist"],
            error_line(core.SKIPGROUPS_NEGATIVE.format(value=-1)),
        ),
        (["tmpl.yaml", "all", "3", "0", "0", "explist"], error_line(core.NGROUPS_TOO_SMALL.format(value=0))),
        (
            ["tmpl.yaml", "u", "3", "0", "1", "explist"],
            error_line(
                core.NO_IDS_FOR_BAND.format(band="u", source="explist", count=7, bands="g i r z"),
                core.NO_IDS_HINT,
            ),
        ),
        (
            ["tmpl.yaml", "all", "3", "3", "1", "explist"],
            error_line(
                core.NOTHING_TO_WRITE.format(skip=3, band="all", ids=7, total=3, size=3),
                core.NOTHING_TO_WRITE_HINT.format(total=3),
            ),
        ),
    ],
    ids=[
        "no-template",
        "no-explist",
        "groupsize-0",
        "groupsize-neg",
        "skip-neg",
        "ngroups-0",
        "band-empty",
        "skip-past-end",
    ],
)
def test_bad_input_exits_1_and_writes_nothing(
    inputs: Path, run_cli: Run, args: list[str], stderr: str
) -> None:
    result = run_cli("make-prod-groups", *args)
    assert result.exit_code == 1
    assert result.stderr == stderr
    assert result.stdout == ""
    assert generated(inputs) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1472", core.LINE_COLUMNS.format(source="explist", line=3, count=1, text="1472")),
        ("z 1472 r", core.LINE_COLUMNS.format(source="explist", line=3, count=3, text="z 1472 r")),
        ("z 14x2", core.LINE_BAD_ID.format(source="explist", line=3, token="14x2", text="z 14x2")),
        ("z 10", core.DUPLICATE_ID.format(source="explist", line=3, id=10, band="z", first=2)),
    ],
)
def test_malformed_explist_line(chdir_tmp: Path, run_cli: Run, line: str, message: str) -> None:
    (chdir_tmp / "tmpl.yaml").write_bytes(TEMPLATE)
    (chdir_tmp / "explist").write_text(f"# header\nz 10\n{line}\ng 11\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "1", "0", "3", "explist")
    assert result.exit_code == 1
    hint = core.DUPLICATE_HINT if "already listed" in message else core.EXPLIST_HINT
    assert result.stderr == error_line(message, hint)
    assert generated(chdir_tmp) == []


def test_empty_explist(chdir_tmp: Path, run_cli: Run) -> None:
    (chdir_tmp / "tmpl.yaml").write_bytes(TEMPLATE)
    (chdir_tmp / "explist").write_text("# nothing yet\n\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "1", "0", "3", "explist")
    assert (result.exit_code, result.stderr) == (
        1,
        error_line(core.LIST_EMPTY.format(source="explist"), core.EXPLIST_HINT),
    )


def test_explist_not_text(chdir_tmp: Path, run_cli: Run) -> None:
    (chdir_tmp / "tmpl.yaml").write_bytes(TEMPLATE)
    (chdir_tmp / "explist").write_bytes(b"z 1\n\xff\xfe\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "1", "0", "1", "explist")
    assert result.exit_code == 1
    assert result.stderr == error_line(command.NOT_TEXT.format(path="explist"), command.EXPLIST_HINT)


def test_explist_with_bom_and_crlf(chdir_tmp: Path, run_cli: Run) -> None:
    (chdir_tmp / "tmpl.yaml").write_bytes(b"LOWEXP-HIGHEXP")
    (chdir_tmp / "explist").write_bytes(b"\xef\xbb\xbfz 5\r\nz 3\r\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "z", "5", "0", "1", "explist")
    assert result.exit_code == 0, result.stderr
    assert (chdir_tmp / "tmpl_z_1.yaml").read_bytes() == b"3-5"


def test_template_is_a_directory(inputs: Path, run_cli: Run) -> None:
    (inputs / "adir").mkdir()
    result = run_cli("make-prod-groups", "adir", "all", "1", "0", "1", "explist")
    assert result.exit_code == 1
    assert result.stderr == error_line(
        command.CANNOT_READ.format(what="template", path="adir", reason="Is a directory"),
        command.TEMPLATE_HINT,
    )


def test_id_under_two_bands_counts_once_with_all(chdir_tmp: Path, run_cli: Run) -> None:
    (chdir_tmp / "tmpl.yaml").write_bytes(b"LOWEXP HIGHEXP\n")
    (chdir_tmp / "explist").write_text("z 7\ng 7\ng 8\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "2", "0", "1", "explist")
    assert result.exit_code == 0
    assert result.stderr == "prodstat: " + command.MERGED_NOTE.format(count=1) + "\n"
    assert "group 1: 2 ids, 7 … 8" in result.stdout


def test_existing_file_refused_before_anything_is_written(inputs: Path, run_cli: Run) -> None:
    (inputs / "tmpl_all_3.yaml").write_text("keep me\n")
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "2", "0", "4", "explist")
    assert result.exit_code == 1
    assert result.stderr == error_line(
        "tmpl_all_3.yaml already exists", "use --force to overwrite it, or --output-dir to write elsewhere"
    )
    assert result.stderr == error_line(
        command.FILE_EXISTS.format(path="tmpl_all_3.yaml"), command.FILE_EXISTS_HINT
    )
    # Groups 1 and 2 come first but were not written either.
    assert generated(inputs) == ["tmpl_all_3.yaml"]
    assert (inputs / "tmpl_all_3.yaml").read_text() == "keep me\n"


def test_failed_write_leaves_no_file(inputs: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def full_disk(path: Path, mode: str) -> Any:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        return open(path, mode)

    monkeypatch.setattr(command, "open", full_disk, raising=False)
    result = run_cli("make-prod-groups", "tmpl.yaml", "all", "2", "0", "4", "explist")
    assert result.exit_code == 1
    assert result.stderr == error_line(
        command.CANNOT_WRITE.format(path=calls[1], reason="No space left on device")
    )
    assert generated(inputs) == []  # neither the first file nor any temporary file


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tmpl.yaml", "Z", "3", "0", "1", "explist"], "Invalid value for 'BAND'"),
        (
            ["tmpl.yaml", "x", "3", "0", "1", "explist"],
            "'x' is not one of 'all', 'f', 'u', 'g', 'r', 'i', 'z', 'y'",
        ),
        (
            ["tmpl.yaml", "all", "3.5", "0", "1", "explist"],
            "Invalid value for 'GROUPSIZE': '3.5' is not a valid integer",
        ),
        (["tmpl.yaml", "all", "3", "one", "1", "explist"], "Invalid value for 'SKIPGROUPS'"),
        (["tmpl.yaml", "all", "3", "0", "1", "explist", "--forse"], "unexpected extra argument (--forse)"),
        (["tmpl.yaml", "all", "3", "0", "1"], "Missing argument 'EXPLIST'"),
    ],
)
def test_usage_errors_exit_2(inputs: Path, run_cli: Run, args: list[str], fragment: str) -> None:
    result = run_cli("make-prod-groups", *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert generated(inputs) == []


# --- light imports -------------------------------------------------------------------------


def test_command_imports_no_pandas_butler_or_jira(inputs: Path, prodstat_env: Path) -> None:
    script = (
        "import sys\n"
        "from lsst.prodstatus.cli.main import main\n"
        "try:\n"
        "    main(['make-prod-groups', 'tmpl.yaml', 'all', '3', '0', '3', 'explist'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = ('pandas', 'jira', 'lsst.daf.butler', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=inputs,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    assert len(generated(inputs)) == 3


# --- the real DP0.2 step1 files --------------------------------------------------------------


@pytest.fixture
def dp02(shared_data: Path) -> Path:
    path = shared_data / "dp02" / "production-step1"
    if not (path / "explist").is_file():
        pytest.skip(f"{path} has no explist")
    return path


def test_dp02_step1_groups(dp02: Path, chdir_tmp: Path, run_cli: Run) -> None:
    template = dp02 / "step1_detectors0_62.yaml"
    result = run_cli(
        "--json", "make-prod-groups", str(template), "all", "1500", "0", "14", str(dp02 / "explist")
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert (data["written"], data["not_written"], data["groups_total"], data["ids"]) == (14, 0, 14, 19852)
    files = data["files"]
    assert [f["path"] for f in files] == [f"step1_detectors0_62_all_{n}.yaml" for n in range(1, 15)]
    assert (files[0]["low"], files[0]["high"], files[0]["count"]) == (1472, 206020, 1500)
    assert [f["count"] for f in files] == [1500] * 13 + [352]

    # Independent oracle: the ids straight from the file, sorted, cut by hand.
    ids = sorted(int(line.split()[1]) for line in (dp02 / "explist").read_text().splitlines() if line.strip())
    assert [(f["low"], f["high"]) for f in files] == [
        (ids[k * 1500], ids[min(k * 1500 + 1499, len(ids) - 1)]) for k in range(14)
    ]

    original = template.read_bytes()
    placeholder_lines = [i for i, line in enumerate(original.splitlines(keepends=True)) if b"LOWEXP" in line]
    assert len(placeholder_lines) == 1
    for entry in files:
        written = (chdir_tmp / entry["path"]).read_bytes()
        # Byte for byte the template, apart from the two placeholders.
        low, high = str(entry["low"]).encode(), str(entry["high"]).encode()
        assert written == original.replace(b"LOWEXP", low).replace(b"HIGHEXP", high)
        changed = [
            i
            for i, (a, b) in enumerate(
                zip(original.splitlines(keepends=True), written.splitlines(keepends=True), strict=True)
            )
            if a != b
        ]
        assert changed == placeholder_lines
        line = written.splitlines()[changed[0]]
        assert line.endswith(b"exposure >=" + low + b" and exposure <= " + high + b'"')


def test_dp02_band_window_and_refusal(dp02: Path, chdir_tmp: Path, run_cli: Run) -> None:
    args = [
        "make-prod-groups",
        str(dp02 / "step1_detectors63_125.yaml"),
        "z",
        "1000",
        "2",
        "3",
        str(dp02 / "explist"),
    ]
    result = run_cli(*args, "--output-dir", "z")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (chdir_tmp / "z").iterdir()) == [
        "step1_detectors63_125_z_3.yaml",
        "step1_detectors63_125_z_4.yaml",
    ]
    # 3097 z exposures: 4 groups, so of the 3 requested (3, 4, 5) group 5 does not exist.
    assert result.stderr == (
        # The z ranges also hold the other bands' exposures taken in between (the DP0.2 list
        # interleaves bands): said, with the exact alternative.
        "prodstat: "
        + command.OTHER_BANDS_WARNING.format(
            band="z", groups=2, number=3, count=1000, low=806385, high=1215368, extra=6643
        )
        + "\n"
        "prodstat: 1 of the 3 requested groups not written: the list ends with group 4 (3097 ids of band z)\n"
    )
    assert "group 4: 97 ids," in result.stdout
    again = run_cli(*args, "--output-dir", "z")
    assert again.exit_code == 1
    assert "z/step1_detectors63_125_z_3.yaml already exists" in again.stderr


def test_one_band_ranges_that_cover_other_bands_are_reported(run_cli: Any, chdir_tmp: Path) -> None:
    (chdir_tmp / "t.yaml").write_text("dataQuery: exposure >= LOWEXP and exposure <= HIGHEXP\n")
    # z and i exposures alternate: a z range covers the i exposures in between.
    (chdir_tmp / "explist").write_text("".join(f"{'z' if n % 2 else 'i'} {n}\n" for n in range(1, 21)))
    result = run_cli("make-prod-groups", "t.yaml", "z", "5", "0", "2", "explist")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "prodstat: "
        + command.OTHER_BANDS_WARNING.format(band="z", groups=2, number=1, count=5, low=1, high=9, extra=4)
        + "\n"
    )
    # The exact alternative: IDLIST lists the group's own ids, and no warning.
    (chdir_tmp / "u.yaml").write_text("dataQuery: exposure IN (IDLIST)\n")
    exact = run_cli("make-prod-groups", "u.yaml", "z", "5", "0", "1", "explist")
    assert exact.exit_code == 0 and "warning" not in exact.stderr
    assert (chdir_tmp / "u_z_1.yaml").read_text() == "dataQuery: exposure IN (1, 3, 5, 7, 9)\n"
    (chdir_tmp / "v.yaml").write_text(
        "dataQuery: band='BAND' and exposure >= LOWEXP and exposure <= HIGHEXP\n"
    )
    narrowed = run_cli("make-prod-groups", "v.yaml", "z", "5", "0", "1", "explist")
    assert narrowed.exit_code == 0 and "warning" not in narrowed.stderr
