"""Find a step's workflows: the bps yamls in its ``workflow_base`` and their issues.

Shared by ``update-campaign``/``update-step`` (which link steps to their workflows) and
``map-drp-steps --auto``/``tree`` (which build tables from them). One tracker search
finds the issues of all workflows of a step, by the ``prodstat_<uniqProcName>`` label
that ``update-issue`` puts on every workflow issue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.workflow import uniq_label
from ..errors import InputError
from ..services.submit import SubmitRun, find_run
from ..services.tracker.base import Issue, Tracker

__all__ = [
    "HINT_NO_WORKFLOW_BASE",
    "HINT_WORKFLOW_BASE_NOT_DIR",
    "MSG_NO_WORKFLOW_BASE",
    "MSG_WORKFLOW_BASE_NOT_DIR",
    "StepWorkflow",
    "find_workflow_issues",
    "load_yaml",
    "scan_workflow_base",
]


def load_yaml(data: str | bytes) -> Any:
    """``yaml.safe_load`` with libyaml's parser when PyYAML has it.

    A campaign's commands parse every bps yaml and a ``step.yaml`` listing hundreds of
    workflows per step; the pure-Python parser made that most of their time.
    """
    from ..core import yamlsafe

    return yamlsafe.load(data)


@dataclass
class StepWorkflow:
    """One bps submit yaml of a step, its newest run (if submitted) and its issue (if recorded)."""

    name: str
    """The yaml's name without ``.yaml`` (e.g. ``step1_1248``), the key of step maps."""
    bps_yaml: Path
    run: SubmitRun | None = None
    issue: Issue | None = None
    problem: str | None = None
    """Why ``run`` is `None` (not submitted yet, unreadable yaml), for the user."""


def _is_bps_submit_yaml(path: Path) -> bool:
    """Whether ``path`` holds a bps submit yaml (a mapping with ``payload`` or ``pipelineYaml``).

    A step directory also holds what the operator writes next to the submit yamls: the
    campaign yaml, step maps (``step1map.yaml``), notes. Only submit yamls are workflows.
    """
    import yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and ("payload" in data or "pipelineYaml" in data)


def _natural_key(path: Path) -> list[int | str]:
    # make-prod-groups numbers groups _1 … _14: _2 must come before _10.
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


MSG_NO_WORKFLOW_BASE = "step {step} has no workflow_base"
HINT_NO_WORKFLOW_BASE = "set it to the directory holding the step's bps submit yamls, or remove the step"
MSG_WORKFLOW_BASE_NOT_DIR = "workflow_base {workflow_base} of step {step} is not a directory"
HINT_WORKFLOW_BASE_NOT_DIR = "give the directory holding the step's bps submit yamls"


def scan_workflow_base(workflow_base: str | Path, step_name: str) -> list[Path]:
    """Return the bps submit yamls of a step: ``<workflow_base>/<step_name>*.yaml``, in natural order.

    Only files directly in ``workflow_base`` (bps's ``submit/`` tree holds copies that must
    not count) whose name starts with the step name, ends in ``.yaml`` and that hold a bps
    submit yaml (maps and campaign yamls kept in the same directory are not workflows).

    Raises
    ------
    InputError
        ``workflow_base`` is empty or is not a directory.
    """
    if not str(workflow_base).strip():
        raise InputError(
            MSG_NO_WORKFLOW_BASE.format(step=step_name),
            HINT_NO_WORKFLOW_BASE,
        )
    base = Path(workflow_base).expanduser()
    if not base.is_dir():
        raise InputError(
            MSG_WORKFLOW_BASE_NOT_DIR.format(workflow_base=workflow_base, step=step_name),
            HINT_WORKFLOW_BASE_NOT_DIR,
        )
    candidates = [
        p for p in base.iterdir() if p.is_file() and p.name.startswith(step_name) and p.suffix == ".yaml"
    ]
    return sorted((p for p in candidates if _is_bps_submit_yaml(p)), key=_natural_key)


def find_workflow_issues(
    tracker: Tracker, yamls: Sequence[Path], *, project: str | None = None
) -> list[StepWorkflow]:
    """Find each yaml's newest run and, with one tracker search, the issues recording them.

    A yaml that was not submitted (no run) or cannot be read gets ``problem`` set and no
    issue; it is not an error, since a step is often mapped before all its groups ran.
    """
    found: list[StepWorkflow] = []
    for path in yamls:
        workflow = StepWorkflow(
            path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.stem, path
        )
        try:
            run = find_run(str(path))
        except InputError as exc:
            workflow.problem = exc.one_line()
        else:
            # find_run takes only a run holding a copy of this yaml (another yaml's run under
            # a shared output is refused with its own message, kept as the problem above).
            workflow.run = run
        found.append(workflow)
    labels = {uniq_label(w.run.uniq_proc_name): w for w in found if w.run is not None}
    if not labels:
        return found
    issues = tracker.search(labels=sorted(labels), project=project)
    for issue in sorted(issues, key=lambda i: int(i.key.rsplit("-", 1)[1])):
        for label in issue.labels:
            owner = labels.get(label)
            if owner is not None and owner.issue is None:
                owner.issue = issue
    return found
