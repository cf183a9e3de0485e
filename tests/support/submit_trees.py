"""Synthetic bps submit trees: a submit yaml and the ``submit/`` run directories of it.

Written to look like what ``bps submit`` leaves behind in ``submit/<output>/<timestamp>/``: a copy
of the submit yaml, ``<uniq>_config.yaml``, ``<uniq>.qgraph`` (2022 layout, with an
execution butler ``EXEC_REPO-<uniq>/gen3.sqlite3``) or ``<uniq>.qg`` (2025 layout, no
execution butler), and ``quantumGraphGeneration.out``. The yaml content is modelled on
the DP0.2 submit yamls of ``data/dp02/test-med-1-PREOPS-1248``.

Everything is deterministic: big files are sparse (exact sizes, no data written) and
every mtime is set from the run's timestamp plus fixed offsets, so the minute metrics
of the BPS block are known in advance.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_MTIMES",
    "FILE_KINDS",
    "RunFiles",
    "SubmitTree",
    "make_sample_campaign",
    "make_submit_tree",
    "submit_yaml_content",
]

FILE_KINDS = frozenset({"yaml_copy", "config", "qgraph", "out", "exec_butler"})
"""Kinds of run files that ``missing=`` can leave out."""

DEFAULT_MTIMES: Mapping[str, float] = {
    "yaml_copy": 0.0,
    "config": 3.0,
    "qgraph": 93.0,
    "out": 93.0,
    "exec_butler": 213.0,
}
"""Seconds after the run timestamp: timeConstructQGraph 1.5 min, timeToFillExecButlerDB 2.0 min."""

DEFAULT_QUERY = "instrument='LSSTCam-imSim' and skymap='DC2' and tract in (3828, 3829)"


@dataclass
class RunFiles:
    """The files of one generated run (paths exist unless listed in ``missing``)."""

    timestamp: str
    run_dir: Path
    uniq: str
    yaml_copy: Path
    config: Path
    qgraph: Path
    out: Path
    exec_butler: Path | None


@dataclass
class SubmitTree:
    """A generated submit yaml and its runs."""

    workdir: Path
    yaml_path: Path
    output: str
    runs: dict[str, RunFiles] = field(default_factory=dict)
    includes: list[Path] = field(default_factory=list)


def _epoch(timestamp: str) -> float:
    return float(calendar.timegm(time.strptime(timestamp, "%Y%m%dT%H%M%SZ")))


def _write_sized(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.truncate(size)


def _dump(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")


def _drop(data: dict[str, Any], dotted: str) -> None:
    head, _, rest = dotted.partition(".")
    if rest and isinstance(data.get(head), dict):
        _drop(data[head], rest)
    else:
        data.pop(head, None)


def submit_yaml_content(
    *,
    payload_name: str,
    campaign: str,
    step: str,
    data_query: str = DEFAULT_QUERY,
    output: str = "{payloadName}/{campaign}",
    include_configs: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
    payload_extra: Mapping[str, Any] | None = None,
    omit: Iterable[str] = (),
) -> dict[str, Any]:
    """Return the mapping of a DP0.2-style bps submit yaml (key order as in the real files).

    ``omit`` drops keys, dotted for payload keys (``"payload.output"``).
    """
    data: dict[str, Any] = {}
    includes = list(include_configs)
    if includes:
        data["includeConfigs"] = includes
    data["project"] = "dp02"
    data["campaign"] = campaign
    data["pipelineYaml"] = (
        f"${{DRP_PIPE_DIR}}/ingredients/LSSTCam-imSim/DRP.yaml#{step}"
        if step
        else ("${DRP_PIPE_DIR}/ingredients/LSSTCam-imSim/DRP.yaml")
    )
    data["payload"] = {
        "payloadName": payload_name,
        "output": output,
        "butlerConfig": "s3://butler-us-central1-panda-dev/dc2/butler-external-cache-600.yaml",
        "inCollection": "2.2i/defaults/test-med-1",
        "dataQuery": data_query,
        "sw_image": "lsstsqre/centos:7-stack-lsst_distrib-w_2022_27",
        **dict(payload_extra or {}),
    }
    data.update(extra or {})
    for key in omit:
        _drop(data, key)
    return data


def _expanded_config(
    yaml_data: Mapping[str, Any],
    include_data: Iterable[Mapping[str, Any]],
    *,
    timestamp: str,
    uniq: str,
    run_dir: Path,
    output: str,
    operator: str,
    layout: str,
    queue: str | None,
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for inc in include_data:
        merged.update(inc)
    merged.update({k: v for k, v in yaml_data.items() if k != "includeConfigs"})
    payload = dict(merged.get("payload", {}))
    payload["outputRun"] = "{output}/{timestamp}"
    merged["payload"] = payload
    merged["bps_defined"] = {
        "operator": operator,
        "submitPath": str(run_dir),
        "timestamp": timestamp,
        "uniqProcName": uniq,
    }
    merged.setdefault(
        "cluster",
        {"visit_detector_1": {"dimensions": "visit,detector", "pipetasks": "isr,calibrate"}},
    )
    if layout == "qgraph":
        merged["computeSite"] = "LSST"
        merged["executionButler"] = {"queue": "DOMA_LSST_GOOGLE_MERGE", "whenCreate": "SUBMIT"}
        merged["qgraphFileTemplate"] = "{uniqProcName}.qgraph"
    else:
        merged["computeSite"] = "SLAC"
        merged["qgraphFileTemplate"] = "{uniqProcName}.qg"
    if queue is not None:
        merged["queue"] = queue
    # bps dumps the expanded config with sorted keys.
    return dict(sorted(merged.items()))


def _qgraph_log(output: str, timestamp: str, n_quanta: int, n_tasks: int, layout: str) -> str:
    cmd = (
        f"pipetask --long-log --log-level=VERBOSE qgraph -o {output} --output-run {output}/{timestamp}\n\n\n"
    )
    if layout == "qgraph":
        return cmd + (
            "INFO 2022-01-27T20:51:30.357+00:00 ctrl.mpexec.cmdLineFwk ()(cmdLineFwk.py:580) - "
            f"QuantumGraph contains {n_quanta} quanta for {n_tasks} tasks, graph ID: '1643316690.06-2358'\n"
        )
    quanta = "quantum" if n_quanta == 1 else "quanta"
    tasks = "task" if n_tasks == 1 else "tasks"
    return cmd + (
        "INFO 2025-09-02T10:00:00.000+00:00 lsst.ctrl.mpexec.cmdLineFwk ()(cmdLineFwk.py:640) - "
        f"QuantumGraph contains {n_quanta} {quanta} for {n_tasks} {tasks}, graph ID: '1756807200.0-42'\n"
        "Quanta Tasks\n------ -----\n"
        f"{n_quanta:>6} isr\n"
    )


def make_submit_tree(
    root: Path,
    yaml_name: str = "step1_1248.yaml",
    *,
    payload_name: str = "2.2i/runs/test-med-1",
    campaign: str = "w_2022_27/PREOPS-1248",
    step: str = "step1",
    timestamps: Iterable[str] = ("20220728T192631Z",),
    layout: str = "qgraph",
    exec_butler: bool = True,
    missing: Iterable[str] = (),
    n_quanta: int = 1050,
    n_tasks: int = 5,
    qgraph_bytes: int = 2_906_272,
    exec_butler_bytes: int = 6_672_384,
    mtimes: Mapping[str, float] | None = None,
    includes: Mapping[str, Mapping[str, Any]] | None = None,
    unresolved_includes: Iterable[str] = ("${CTRL_BPS_PANDA_DIR}/config/bps_idf.yaml",),
    data_query: str = DEFAULT_QUERY,
    output_template: str = "{payloadName}/{campaign}",
    extra: Mapping[str, Any] | None = None,
    payload_extra: Mapping[str, Any] | None = None,
    omit: Iterable[str] = (),
    operator: str = "testop",
    uniq: str | None = None,
    queue: str | None = None,
    extra_dirs: Iterable[str] = (),
) -> SubmitTree:
    """Write a bps submit yaml into ``root`` and one run directory per timestamp.

    Parameters
    ----------
    root : `~pathlib.Path`
        Directory holding the yaml (where ``bps submit`` "was run").
    yaml_name : `str`
        File name of the submit yaml.
    payload_name, campaign, step : `str`
        ``payload.payloadName``, ``campaign`` and the ``#step`` of ``pipelineYaml``.
    timestamps : iterable of `str`
        One run per timestamp (none: the yaml only, no ``submit/``).
    layout : {"qgraph", "qg"}
        2022 ``.qgraph`` files and log wording, or the 2025 ``.qg`` layout.
    exec_butler : `bool`
        Write ``EXEC_REPO-<uniq>/gen3.sqlite3`` (only meaningful with ``qgraph``).
    missing : iterable of `str`
        File kinds of `FILE_KINDS` to leave out of every run.
    n_quanta, n_tasks : `int`
        Numbers written into ``quantumGraphGeneration.out``.
    qgraph_bytes, exec_butler_bytes : `int`
        Exact sizes of the (sparse) quantum graph and execution butler files.
    mtimes : mapping, optional
        Seconds after the run timestamp per file kind (defaults `DEFAULT_MTIMES`).
    includes : mapping, optional
        File name → content of include files written next to the yaml and listed in
        ``includeConfigs`` (after ``unresolved_includes``, which are listed only).
    data_query, output_template : `str`
        ``payload.dataQuery`` and ``payload.output``.
    extra, payload_extra : mapping, optional
        More top-level / payload keys of the yaml.
    omit : iterable of `str`
        Keys to leave out of the yaml (dotted for payload keys).
    operator : `str`
        ``bps_defined.operator`` of the expanded config.
    uniq : `str`, optional
        ``bps_defined.uniqProcName`` to write instead of bps's default.
    queue : `str`, optional
        A top-level ``queue`` in the expanded config.
    extra_dirs : iterable of `str`
        Other directory names to create next to the runs (e.g. not timestamps).

    Returns
    -------
    tree : `SubmitTree`
        Paths of what was written.
    """
    if layout not in ("qgraph", "qg"):
        raise ValueError(f"layout must be 'qgraph' or 'qg', not {layout!r}")
    missing_set = frozenset(missing)
    if unknown := missing_set - FILE_KINDS:
        raise ValueError(f"unknown file kinds {sorted(unknown)}")
    offsets = {**DEFAULT_MTIMES, **dict(mtimes or {})}
    root.mkdir(parents=True, exist_ok=True)

    include_files = dict(includes or {})
    include_entries = [*unresolved_includes, *include_files]
    yaml_data = submit_yaml_content(
        payload_name=payload_name,
        campaign=campaign,
        step=step,
        data_query=data_query,
        output=output_template,
        include_configs=include_entries,
        extra=extra,
        payload_extra=payload_extra,
        omit=omit,
    )
    yaml_path = root / yaml_name
    _dump(yaml_path, yaml_data)
    tree = SubmitTree(workdir=root, yaml_path=yaml_path, output="")
    for name, content in include_files.items():
        _dump(root / name, content)
        tree.includes.append(root / name)

    merged_payload = {
        **{k: v for inc in include_files.values() for k, v in inc.get("payload", {}).items()},
        **yaml_data.get("payload", {}),
    }
    values = {**{k: v for inc in include_files.values() for k, v in inc.items()}, **yaml_data}
    # One level of {key} substitution (payload first) is all these trees need; an
    # unknown key stays literal so bad-placeholder yamls can still be written.
    output = re.sub(
        r"\{(\w+)\}",
        lambda m: str(merged_payload.get(m.group(1), values.get(m.group(1), m.group(0)))),
        output_template,
    )
    tree.output = output
    out_root = root / "submit" / output
    for name in extra_dirs:
        (out_root / name).mkdir(parents=True, exist_ok=True)

    for ts in timestamps:
        run_dir = out_root / ts
        run_dir.mkdir(parents=True, exist_ok=True)
        run_uniq = uniq or f"{output}_{ts}".replace("/", "_")
        files = RunFiles(
            timestamp=ts,
            run_dir=run_dir,
            uniq=run_uniq,
            yaml_copy=run_dir / yaml_name,
            config=run_dir / f"{run_uniq}_config.yaml",
            qgraph=run_dir / f"{run_uniq}.{layout}",
            out=run_dir / "quantumGraphGeneration.out",
            exec_butler=(run_dir / f"EXEC_REPO-{run_uniq}" / "gen3.sqlite3")
            if exec_butler and layout == "qgraph"
            else None,
        )
        if "yaml_copy" not in missing_set:
            files.yaml_copy.write_text(yaml_path.read_text(encoding="utf-8"), encoding="utf-8")
        if "config" not in missing_set:
            _dump(
                files.config,
                _expanded_config(
                    yaml_data,
                    include_files.values(),
                    timestamp=ts,
                    uniq=run_uniq,
                    run_dir=run_dir,
                    output=output,
                    operator=operator,
                    layout=layout,
                    queue=queue,
                ),
            )
        if "qgraph" not in missing_set:
            _write_sized(files.qgraph, qgraph_bytes)
        if "out" not in missing_set:
            files.out.write_text(_qgraph_log(output, ts, n_quanta, n_tasks, layout), encoding="utf-8")
        if files.exec_butler is not None and "exec_butler" not in missing_set:
            _write_sized(files.exec_butler, exec_butler_bytes)
            (files.exec_butler.parent / "butler.yaml").write_text("datastore: {}\n", encoding="utf-8")
        base = _epoch(ts)
        for kind in ("yaml_copy", "config", "qgraph", "out", "exec_butler"):
            path = getattr(files, kind)
            if path is not None and path.exists():
                stamp = base + offsets[kind]
                os.utime(path, (stamp, stamp))
        tree.runs[ts] = files
    return tree


def make_sample_campaign(
    root: Path, butler_configs: Mapping[str, str] | None = None
) -> dict[str, SubmitTree]:
    """Write the seed's sample campaign (``doc/sample-campaign.rst``) under ``root/work``.

    ``work/step1`` holds ``step1_1248.yaml`` (run 20220728T192631Z) and
    ``step1_1248_b.yaml`` (run 20220729T001725Z), both with the same output;
    ``work/step2`` holds ``step2_1248.yaml`` (run 20220729T142653Z).

    ``butler_configs`` (yaml stem → repo) replaces the yamls' s3 ``butlerConfig``, so that
    ``update-stat`` can read a local repository (``make demo``).

    Returns
    -------
    trees : `dict` [`str`, `SubmitTree`]
        Keyed by yaml stem (``step1_1248``, ``step1_1248_b``, ``step2_1248``).
    """
    configs = dict(butler_configs or {})

    def butler(stem: str) -> dict[str, str]:
        return {"butlerConfig": configs[stem]} if stem in configs else {}

    work = root / "work"
    detectors = "instrument='LSSTCam-imSim' and skymap='DC2' and (detector>={lo} and detector<={hi})"
    exposures = " and exposure >=1472 and exposure <= 1474"
    return {
        "step1_1248": make_submit_tree(
            work / "step1",
            "step1_1248.yaml",
            step="step1",
            timestamps=["20220728T192631Z"],
            data_query=detectors.format(lo=0, hi=3) + exposures,
            payload_extra=butler("step1_1248"),
            n_quanta=28,
            n_tasks=5,
        ),
        "step1_1248_b": make_submit_tree(
            work / "step1",
            "step1_1248_b.yaml",
            step="step1",
            timestamps=["20220729T001725Z"],
            data_query=detectors.format(lo=4, hi=6) + exposures,
            payload_extra=butler("step1_1248_b"),
            n_quanta=21,
            n_tasks=5,
        ),
        "step2_1248": make_submit_tree(
            work / "step2",
            "step2_1248.yaml",
            step="step2",
            timestamps=["20220729T142653Z"],
            data_query="instrument='LSSTCam-imSim' and skymap='DC2' and exposure >=1472 and exposure <= 1474",
            payload_extra=butler("step2_1248"),
            n_quanta=9,
            n_tasks=5,
        ),
    }
