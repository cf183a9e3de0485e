"""Read a bps submit yaml and the ``submit/`` run directory that ``bps submit`` made for it.

`find_run` gathers everything ``update-issue`` needs about one workflow: the submit
yaml merged over its ``includeConfigs``, the run directory
``<yaml dir>/submit/<output>/<timestamp>/`` (bps's ``submitPath: ${PWD}/submit/{outputRun}``
with ``outputRun: {output}/{timestamp}``; it holds a copy of the submit yaml, the
expanded ``<uniqProcName>_config.yaml``, the quantum graph and its log), the names bps
derived, and the ``BPS Submit Keywords:`` lines in the original tool's layout (``key: value``
for top-level keys, ``key:value`` for payload keys and run metrics).
Bad input raises `~lsst.prodstatus.errors.InputError` with one line naming the file,
key or path at fault; optional run files that are absent are simply left out.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core import yamlsafe
from ..core.bps import (
    ExpansionTooLongError,
    UnresolvedPlaceholderError,
    expand_placeholders,
    is_bps_timestamp,
    keyword_line,
    render_bps_block,
    split_pipeline_yaml,
    uniq_proc_name,
)
from ..core.ids import WorkflowId
from ..errors import InputError, redact_credentials

__all__ = [
    "HINT_EXPANSION",
    "HINT_MISSING_KEYS",
    "HINT_NOT_OWN_RUN",
    "HINT_NO_RUN",
    "HINT_NO_SUBMIT_DIR",
    "HINT_PLACEHOLDER",
    "HINT_TS_NOT_FOUND",
    "HINT_YAML_INVALID",
    "HINT_YAML_NOT_FOUND",
    "MSG_BAD_TIMESTAMP",
    "MSG_EXPANSION_TOO_LONG",
    "MSG_INCLUDE_INVALID",
    "MSG_MISSING_KEYS",
    "MSG_NOT_MAPPING",
    "MSG_NOT_OWN_RUN",
    "MSG_NO_RUN",
    "MSG_NO_SUBMIT_DIR",
    "MSG_PAYLOAD_NOT_MAPPING",
    "MSG_PLACEHOLDER",
    "MSG_TS_NOT_FOUND",
    "MSG_YAML_INVALID",
    "MSG_YAML_IS_DIR",
    "MSG_YAML_NOT_FOUND",
    "MSG_YAML_NOT_REGULAR",
    "PAYLOAD_KEYWORDS",
    "QUANTA_RE",
    "REASON_HOLDS",
    "REASON_NOT_UTF8",
    "REASON_YAML_AT",
    "TOP_KEYWORDS",
    "WARN_EXPANDED_NOT_MAPPING",
    "WARN_EXPANDED_UNREADABLE",
    "SubmitRun",
    "find_run",
    "load_submit_config",
]

_LOG = logging.getLogger(__name__)

# User-facing messages (tests import them).
MSG_YAML_NOT_FOUND = "bps submit yaml {given} not found (looked for {path})"
HINT_YAML_NOT_FOUND = "give the yaml passed to 'bps submit', relative to the current directory or absolute"
MSG_YAML_IS_DIR = "bps submit yaml {given} is a directory ({path}), not a yaml file"
MSG_YAML_INVALID = "bps submit yaml {path} is not valid yaml: {error}"
HINT_YAML_INVALID = "fix the file (bps would refuse it too), or give the yaml passed to 'bps submit'"
MSG_NOT_MAPPING = "bps submit yaml {path} is not a mapping of keys (it holds a {kind})"
MSG_INCLUDE_INVALID = "config {include} included by {path} is not a valid yaml mapping: {error}"
MSG_PAYLOAD_NOT_MAPPING = "key 'payload' of bps submit yaml {path} is not a mapping (it holds a {kind})"
MSG_MISSING_KEYS = "bps submit yaml {path} lacks required key(s) {keys} (also after its includeConfigs)"
HINT_MISSING_KEYS = "bps needs payload.output, campaign and pipelineYaml to name the run"
MSG_PLACEHOLDER = "cannot expand placeholder {{{name}}} in payload.output '{template}' of {path}"
HINT_PLACEHOLDER = "define '{name}' in the yaml (top level or under payload) or its includeConfigs"
MSG_BAD_TIMESTAMP = "malformed --ts '{ts}': expected a bps timestamp YYYYMMDDTHHMMSSZ, e.g. 20220127T205042Z"
MSG_NO_SUBMIT_DIR = "no bps submit directory for {given}: searched {searched}"
HINT_NO_SUBMIT_DIR = "bps writes submit/ in the directory it was run in: keep the yaml there"
MSG_NO_RUN = "no bps run found for {given}: searched {searched}; timestamps there: {found}"
HINT_NO_RUN = "check payload.output of the yaml, or that 'bps submit' made its submit directory"
MSG_EXPANSION_TOO_LONG = (
    "payload.output {template!r} of {path} does not expand to a usable name: its {{key}} values "
    "refer to each other so that it grows without bound"
)
HINT_EXPANSION = "check the payload keys that payload.output uses (each should be a plain name)"
MSG_YAML_NOT_REGULAR = "bps submit yaml {given} ({path}) is not a regular file (a pipe or a device?)"
MSG_TS_NOT_FOUND = "no bps run {ts} for {given}: searched {searched}; timestamps there: {found}"
MSG_NOT_OWN_RUN = (
    "no run of {yaml} under {root}: no run there holds a copy of {yaml} (several submit yamls can share "
    "one output); runs there: {runs}"
)
HINT_NOT_OWN_RUN = "submit {yaml} first, or give --ts TIMESTAMP if you know one of them is its run"
HINT_TS_NOT_FOUND = "give one of the timestamps listed, or leave off --ts to take the newest run"
REASON_NOT_UTF8 = "it is not UTF-8 text (byte {byte})"
"""The ``error`` of `MSG_YAML_INVALID` and `MSG_INCLUDE_INVALID` for a file that is not UTF-8."""
REASON_YAML_AT = "{problem} at line {line}, column {column}"
"""The ``error`` of `MSG_YAML_INVALID` and `MSG_INCLUDE_INVALID` for a yaml syntax error."""
REASON_HOLDS = "it holds a {kind}"
"""The ``error`` of `MSG_INCLUDE_INVALID` for an include that is not a mapping."""
WARN_EXPANDED_UNREADABLE = "expanded config {path} not read: {error}"
WARN_EXPANDED_NOT_MAPPING = "expanded config {path} is not a mapping; ignored"

TOP_KEYWORDS = ("campaign", "project", "payload", "pipelineYaml", "extraQgraphOptions")
"""Top-level submit keys of the BPS block (the original's), written in the order of the submit yaml."""

PAYLOAD_KEYWORDS = ("payloadName", "butlerConfig", "dataQuery", "inCollection", "sw_image", "output")
"""Payload keys of the BPS block (the original's), always in this order."""

QUANTA_RE = re.compile(r"QuantumGraph contains (\d+) quan(?:ta|tum) for (\d+) tasks?\b")
"""The qgraph log line: ctrl_mpexec 2022 says "1050 quanta for 5 tasks", later versions
also "1 quantum for 1 task" (followed by a task table)."""

_REQUIRED = ("payload.output", "campaign", "pipelineYaml")
_ENV_RE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_MB = 1e6


@dataclass
class SubmitRun:
    """Everything ``update-issue`` needs about one bps run.

    Attributes
    ----------
    given_path : `str`
        BPS_SUBMIT_FNAME exactly as given on the command line.
    yaml_path : `~pathlib.Path`
        Absolute path of the submit yaml.
    config : `dict`
        The submit yaml merged over its ``includeConfigs`` (its own keys win).
    output : `str`
        ``payload.output`` with its ``{key}`` placeholders expanded.
    timestamp : `str`
        Upper-case bps timestamp of the run, e.g. ``20220127T205042Z``.
    run_dir : `~pathlib.Path`
        ``<yaml dir>/submit/<output>/<timestamp>``.
    uniq_proc_name : `str`
        bps ``uniqProcName`` (from the expanded config when present).
    step : `str`
        The step cut: text after the last ``#`` of ``pipelineYaml`` (may be empty).
    campaign : `str`
        The ``campaign`` of the yaml.
    keywords : `list` [`tuple` [`str`, `str`]]
        Ordered (name, ``key<sep>value`` line) pairs of the BPS block.
    searched : `list` [`str`]
        Directories looked at to find the run.
    timestamps : `list` [`str`]
        All run timestamps found next to this one, oldest first.
    expanded_config : `dict` or `None`
        The ``<uniq>_config.yaml`` bps wrote, when present and readable.
    yaml_copy : `~pathlib.Path` or `None`
        bps's copy of the submit yaml in the run directory, when present.
    warnings : `list` [`str`]
        Things the caller may want to tell the user (never fatal).
    """

    given_path: str
    yaml_path: Path
    config: dict[str, Any]
    output: str
    timestamp: str
    run_dir: Path
    uniq_proc_name: str
    step: str
    campaign: str
    keywords: list[tuple[str, str]]
    searched: list[str]
    timestamps: list[str] = field(default_factory=list)
    expanded_config: dict[str, Any] | None = None
    yaml_copy: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def output_run(self) -> str:
        """The RUN collection bps wrote to: ``<output>/<timestamp>``."""
        return f"{self.output}/{self.timestamp}"

    @property
    def workflow_id(self) -> WorkflowId:
        """The workflow's identity (timestamp, output, uniqProcName, step, campaign)."""
        return WorkflowId(self.output, self.timestamp, self.uniq_proc_name, self.step, self.campaign)

    @property
    def keyword_lines(self) -> list[str]:
        """The ``key<sep>value`` lines of the BPS block, in order."""
        return [line for _, line in self.keywords]

    @property
    def bps_block(self) -> str:
        """The ``BPS Submit Keywords:`` ``{code}`` block (the original tool's layout)."""
        return render_bps_block(self.keyword_lines)


def _kind(value: object) -> str:
    return "empty document" if value is None else type(value).__name__


# libyaml's safe loader when PyYAML has it: a campaign's commands read three yamls per
# workflow (3,000 for 1,000 workflows), which the pure-Python loader takes seconds over.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yamlsafe.load(stream, _SafeLoader)


def _yaml_error(err: Exception) -> str:
    if isinstance(err, UnicodeDecodeError):
        return REASON_NOT_UTF8.format(byte=err.start)
    # PyYAML's messages span several lines with a source excerpt; keep the gist.
    problem = getattr(err, "problem", None)
    mark = getattr(err, "problem_mark", None)
    if problem and mark is not None:
        return REASON_YAML_AT.format(problem=problem, line=mark.line + 1, column=mark.column + 1)
    return " ".join(str(err).split())


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``over``, merging nested mappings as bps does."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _include_path(entry: str, base_dir: Path) -> Path | None:
    """Resolve one ``includeConfigs`` entry; `None` when an env var is unset."""
    missing: list[str] = []

    def env(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in os.environ:
            missing.append(name)
            return match.group(0)
        return os.environ[name]

    text = _ENV_RE.sub(env, entry)
    if missing:
        _LOG.debug("include %s skipped: %s not set", entry, ", ".join(missing))
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base_dir / path


def _with_includes(path: Path, data: dict[str, Any], seen: frozenset[Path]) -> dict[str, Any]:
    """Merge ``data`` (read from ``path``) over its ``includeConfigs``, recursively."""
    includes = data.get("includeConfigs") or []
    if isinstance(includes, str):
        includes = [includes]
    merged: dict[str, Any] = {}
    for entry in includes:
        inc = _include_path(str(entry), path.parent)
        if inc is None:
            continue
        inc = Path(os.path.abspath(inc))
        if not inc.is_file() or inc in seen:
            # Includes often name files of the submitting site or stack (bps_idf.yaml);
            # without them we still know every key the BPS block needs.
            _LOG.debug("include %s of %s skipped (absent or already included)", inc, path)
            continue
        try:
            inc_data = _read_yaml(inc)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise InputError(
                MSG_INCLUDE_INVALID.format(include=inc, path=path, error=_yaml_error(err))
            ) from err
        if inc_data is None:
            continue
        if not isinstance(inc_data, dict):
            raise InputError(
                MSG_INCLUDE_INVALID.format(
                    include=inc, path=path, error=REASON_HOLDS.format(kind=_kind(inc_data))
                )
            )
        merged = _merge(merged, _with_includes(inc, inc_data, seen | {inc}))
    return _merge(merged, data)


def load_submit_config(yaml_path: Path, given: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a bps submit yaml and merge it over its ``includeConfigs``.

    Includes are resolved relative to the including file's directory; ``${VAR}``
    entries are expanded from the environment, and entries whose variables are unset
    or whose files do not exist are skipped.

    Returns
    -------
    raw, merged : `dict`
        The yaml's own mapping (file order) and the merged configuration.

    Raises
    ------
    InputError
        The yaml is missing, unreadable, not yaml, or not a mapping.
    """
    given = given if given is not None else str(yaml_path)
    if yaml_path.is_dir():
        raise InputError(MSG_YAML_IS_DIR.format(given=given, path=yaml_path), HINT_YAML_NOT_FOUND)
    if yaml_path.exists() and not yaml_path.is_file():
        # A FIFO or a device would block the read forever.
        raise InputError(MSG_YAML_NOT_REGULAR.format(given=given, path=yaml_path), HINT_YAML_NOT_FOUND)
    try:
        raw = _read_yaml(yaml_path)
    except FileNotFoundError as err:
        raise InputError(MSG_YAML_NOT_FOUND.format(given=given, path=yaml_path), HINT_YAML_NOT_FOUND) from err
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(
            MSG_YAML_INVALID.format(path=yaml_path, error=_yaml_error(err)), HINT_YAML_INVALID
        ) from err
    if not isinstance(raw, dict):
        raise InputError(MSG_NOT_MAPPING.format(path=yaml_path, kind=_kind(raw)))
    return raw, _with_includes(yaml_path, raw, frozenset({yaml_path}))


def _check_required(config: Mapping[str, Any], yaml_path: Path) -> dict[str, Any]:
    payload = config.get("payload")
    if payload is not None and not isinstance(payload, Mapping):
        raise InputError(MSG_PAYLOAD_NOT_MAPPING.format(path=yaml_path, kind=_kind(payload)))
    payload = dict(payload or {})
    values = {"payload.output": payload.get("output"), **{k: config.get(k) for k in _REQUIRED[1:]}}
    missing = [key for key in _REQUIRED if values[key] is None or str(values[key]).strip() == ""]
    if payload == {} and "payload.output" in missing:
        missing[missing.index("payload.output")] = "payload (with payload.output)"
    if missing:
        raise InputError(MSG_MISSING_KEYS.format(path=yaml_path, keys=", ".join(missing)), HINT_MISSING_KEYS)
    return payload


def _expand_output(config: Mapping[str, Any], payload: Mapping[str, Any], yaml_path: Path) -> str:
    template = str(payload["output"])

    def lookup(name: str) -> object | None:
        # bps searches the payload section before the top level.
        for section in (payload, config):
            value = section.get(name)
            if value is not None and not isinstance(value, Mapping | list):
                return value
        # bps defines the operator (login name) itself when the yaml does not.
        return getpass.getuser() if name == "operator" else None

    try:
        output = expand_placeholders(template, lookup)
    except UnresolvedPlaceholderError as err:
        raise InputError(
            MSG_PLACEHOLDER.format(name=err.name, template=template, path=yaml_path),
            HINT_PLACEHOLDER.format(name=err.name),
        ) from err
    except ExpansionTooLongError as err:
        raise InputError(
            MSG_EXPANSION_TOO_LONG.format(template=template, path=yaml_path), HINT_EXPANSION
        ) from err
    # bps joins "${PWD}/submit/" and the output as text, so a leading "/" changes nothing.
    return output.strip().strip("/")


def _run_timestamps(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    # Fixed-width digits: sorting the names sorts the times.
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_bps_timestamp(p.name))


def _pick_run(
    root: Path, given: str, yaml_path: Path, timestamp: str | None, searched: list[str]
) -> tuple[str, list[str], list[str]]:
    """Return (timestamp, all timestamps, warnings) of the run to use."""
    yaml_name = yaml_path.name
    timestamps = _run_timestamps(root)
    found = ", ".join(timestamps) if timestamps else "none"
    if timestamp is not None:
        if timestamp not in timestamps:
            raise InputError(
                MSG_TS_NOT_FOUND.format(ts=timestamp, given=given, searched=root, found=found),
                HINT_TS_NOT_FOUND,
            )
        return timestamp, timestamps, []
    if not timestamps:
        raise InputError(
            MSG_NO_RUN.format(given=given, searched=", ".join(searched), found=found), HINT_NO_RUN
        )
    # Several submit yamls can share one output: only a run holding a copy of this yaml
    # (bps copies the submit yaml into its run directory) is this yaml's run.
    own = [ts for ts in timestamps if (root / ts / yaml_name).is_file()]
    if own:
        return own[-1], timestamps, []
    runs = ", ".join(f"{ts} ({_run_owner(root / ts, yaml_name)})" for ts in timestamps)
    raise InputError(
        MSG_NOT_OWN_RUN.format(yaml=yaml_name, root=root, runs=runs), HINT_NOT_OWN_RUN.format(yaml=yaml_name)
    )


def _run_owner(run_dir: Path, yaml_name: str) -> str:
    """Which submit yaml a run directory holds a copy of, in words."""
    copies = sorted(
        p.name for p in run_dir.glob("*.yaml") if p.name != yaml_name and not p.name.endswith("_config.yaml")
    )
    return ", ".join(copies) if copies else "no submit yaml copy"


def _flow(value: object) -> str:
    """Return a mapping or list as one line of flow-style yaml (JSON if yaml would wrap)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"), sort_keys=False).strip()
    if "\n" in text:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text


def _value_text(value: object) -> str:
    return _flow(value) if isinstance(value, Mapping | list) else str(value)


def _submit_keywords(
    raw: Mapping[str, Any], config: Mapping[str, Any], payload: Mapping[str, Any], given: str
) -> list[tuple[str, str]]:
    # The original's order: the submit yaml's own key order; keys that only includes define follow.
    order = [k for k in raw if k in TOP_KEYWORDS] + [k for k in TOP_KEYWORDS if k not in raw]
    keywords: list[tuple[str, str]] = []
    for key in order:
        if key == "payload":
            for sub in PAYLOAD_KEYWORDS:
                if payload.get(sub) is not None:
                    text = _value_text(payload[sub])
                    if sub == "butlerConfig":
                        # The issue is readable by many: a password in a repo URL stays out of it.
                        text = redact_credentials(text)
                    keywords.append((sub, keyword_line(sub, text)))
        elif config.get(key) is not None:
            keywords.append((key, keyword_line(key, _value_text(config[key]), ": ")))
    keywords.append(("bps_submit_yaml_file", keyword_line("bps_submit_yaml_file", given, ": ")))
    return keywords


def _find_expanded_config(run_dir: Path, default_uniq: str, yaml_name: str) -> Path | None:
    path = run_dir / f"{default_uniq}_config.yaml"
    if path.is_file():
        return path
    # A site config may set its own uniqProcName; bps still names the file after it.
    candidates = sorted(p for p in run_dir.glob("*_config.yaml") if p.name != yaml_name)
    return candidates[0] if len(candidates) == 1 else None


def _load_expanded(path: Path | None, warnings: list[str]) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = _read_yaml(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        warnings.append(WARN_EXPANDED_UNREADABLE.format(path=path, error=_yaml_error(err)))
        return None
    if not isinstance(data, dict):
        warnings.append(WARN_EXPANDED_NOT_MAPPING.format(path=path))
        return None
    return data


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _size_mb(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return f"{path.stat().st_size / _MB:.1f}MB"
    except OSError:
        return None


def _minutes(start: float, end: float) -> str:
    return f"{(end - start) / 60:.1f}min"


def _iter_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as stream:
        yield from stream


def _quanta(out_file: Path) -> tuple[int, int] | None:
    """Return (quanta, tasks) of the last qgraph summary line in the log, if any."""
    found = None
    try:
        for line in _iter_lines(out_file):
            if (match := QUANTA_RE.search(line)) is not None:
                found = (int(match.group(1)), int(match.group(2)))
    except OSError:
        return None
    return found


def _run_keywords(
    run_dir: Path,
    uniq: str,
    expanded: Mapping[str, Any] | None,
    expanded_path: Path | None,
    yaml_copy: Path | None,
) -> list[tuple[str, str]]:
    """Keywords read from the run directory, in the original's order; absent files give no line."""
    keywords: list[tuple[str, str]] = []
    defined = expanded.get("bps_defined") if expanded else None
    defined = defined if isinstance(defined, Mapping) else {}
    if defined.get("operator") is not None:
        keywords.append(("operator", keyword_line("operator", defined["operator"])))
    # uniqProcName names the workflow in PanDA, so it is written even without the config.
    keywords.append(("uniqProcName", keyword_line("uniqProcName", uniq)))
    if expanded:
        if expanded.get("cluster") is not None:
            keywords.append(("cluster", keyword_line("cluster", _value_text(expanded["cluster"]), ": ")))
        if expanded.get("computeSite") is not None:
            keywords.append(("computeSite", keyword_line("computeSite", expanded["computeSite"], ": ")))
        exec_butler = expanded.get("executionButler")
        queue = exec_butler.get("queue") if isinstance(exec_butler, Mapping) else None
        if queue is None:
            queue = expanded.get("queue")
        if queue is not None:
            keywords.append(("queue", keyword_line("queue", _value_text(queue))))

    for name in (f"{uniq}.qgraph", f"{uniq}.qg"):
        if (size := _size_mb(run_dir / name)) is not None:
            keywords.append(("qgraphsize", f"qgraphsize:{size}"))
            break

    out_file = run_dir / "quantumGraphGeneration.out"
    if (quanta := _quanta(out_file)) is not None:
        keywords.append(("nTotalQuanta", f"nTotalQuanta:{quanta[0]}"))
        keywords.append(("nTotalPanDATasks", f"nTotalPanDATasks:{quanta[1]}"))

    exec_db = run_dir / f"EXEC_REPO-{uniq}" / "gen3.sqlite3"
    if (size := _size_mb(exec_db)) is not None:
        keywords.append(("execbutlersize", f"execbutlersize:{size}"))

    out_time = _mtime(out_file)
    start = _mtime(expanded_path)
    if start is None:
        start = _mtime(yaml_copy)
    if out_time is not None and start is not None:
        keywords.append(("timeConstructQGraph", f"timeConstructQGraph:{_minutes(start, out_time)}"))
    exec_time = _mtime(exec_db)
    if exec_time is not None and out_time is not None:
        keywords.append(("timeToFillExecButlerDB", f"timeToFillExecButlerDB:{_minutes(out_time, exec_time)}"))
    return keywords


def find_run(bps_submit_fname: str, timestamp: str | None = None, cwd: Path | None = None) -> SubmitRun:
    """Read a bps submit yaml and find its run under ``<yaml dir>/submit/``.

    Parameters
    ----------
    bps_submit_fname : `str`
        The submit yaml, relative to ``cwd`` or absolute.
    timestamp : `str`, optional
        The run's bps timestamp (any case); default: the newest run, preferring one
        holding a copy of this yaml.
    cwd : `~pathlib.Path`, optional
        Directory relative paths start from (default: the current directory).

    Returns
    -------
    run : `SubmitRun`
        The run and its BPS keywords. The ``cluster`` keyword is written as one
        line of flow-style yaml (``cluster: {name: {pipetasks: ...}}``) where the
        original wrote a Python repr.

    Raises
    ------
    InputError
        Missing or invalid yaml, missing required keys, an output placeholder that
        cannot be expanded, a malformed ``timestamp``, or no matching run.
    """
    ts = None
    if timestamp is not None:
        ts = timestamp.strip().upper()
        if not is_bps_timestamp(ts):
            raise InputError(MSG_BAD_TIMESTAMP.format(ts=timestamp))
    base = Path.cwd() if cwd is None else Path(cwd)
    yaml_path = Path(os.path.abspath(base / Path(bps_submit_fname).expanduser()))
    raw, config = load_submit_config(yaml_path, bps_submit_fname)
    payload = _check_required(config, yaml_path)
    output = _expand_output(config, payload, yaml_path)

    submit_dir = yaml_path.parent / "submit"
    root = submit_dir / output if output else submit_dir
    searched = [str(root)]
    if not submit_dir.is_dir():
        raise InputError(
            MSG_NO_SUBMIT_DIR.format(given=bps_submit_fname, searched=submit_dir), HINT_NO_SUBMIT_DIR
        )
    ts, timestamps, warnings = _pick_run(root, bps_submit_fname, yaml_path, ts, searched)
    run_dir = root / ts

    default_uniq = uniq_proc_name(output, ts)
    expanded_path = _find_expanded_config(run_dir, default_uniq, yaml_path.name)
    expanded = _load_expanded(expanded_path, warnings)
    if expanded is None:
        expanded_path = None
    defined = expanded.get("bps_defined") if expanded else None
    uniq = default_uniq
    if isinstance(defined, Mapping) and defined.get("uniqProcName"):
        uniq = str(defined["uniqProcName"])
    yaml_copy = run_dir / yaml_path.name
    yaml_copy_found = yaml_copy if yaml_copy.is_file() else None

    step = split_pipeline_yaml(str(config["pipelineYaml"]))[1]
    # The file name, not the path as typed: the issue must not depend on where prodstat ran.
    keywords = _submit_keywords(raw, config, payload, yaml_path.name)
    keywords += _run_keywords(run_dir, uniq, expanded, expanded_path, yaml_copy_found)
    keywords.append(("pipelineYamlSteps", keyword_line("pipelineYamlSteps", step, ": ")))
    # Not in the original's block: the RUN collection, so update-stat needs no re-expansion.
    keywords.append(("outputRun", keyword_line("outputRun", f"{output}/{ts}")))

    return SubmitRun(
        given_path=bps_submit_fname,
        yaml_path=yaml_path,
        config=config,
        output=output,
        timestamp=ts,
        run_dir=run_dir,
        uniq_proc_name=uniq,
        step=step,
        campaign=str(config["campaign"]),
        keywords=keywords,
        searched=searched,
        timestamps=timestamps,
        expanded_config=expanded,
        yaml_copy=yaml_copy_found,
        warnings=warnings,
    )
