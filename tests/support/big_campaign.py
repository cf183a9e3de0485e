"""A campaign at production size: 7 steps, hundreds or thousands of submitted workflows.

`write_big_campaign` writes each step's ``workflow_base`` (bps submit yamls and one
``submit/`` run each, see `~tests.support.submit_trees.make_submit_tree`) and the
campaign yaml; `seed_workflow_issues` puts on a tracker what ``update-issue … DRP0``
leaves there for every workflow (summary, BPS block, production section, labels),
written directly rather than through ``update-issue`` so that 1,000 workflows are set
up in seconds. The campaign and step issues are left to ``update-campaign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lsst.prodstatus.core.bps import render_bps_block
from lsst.prodstatus.core.ids import production_label
from lsst.prodstatus.core.markup import replace_sections
from lsst.prodstatus.core.workflow import PRODUCTION_SECTION, panda_tasks_link, production_section_text
from lsst.prodstatus.services.submit import find_run
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.support.jira import JiraEmulator
from tests.support.submit_trees import make_submit_tree

__all__ = ["BigCampaign", "seed_workflow_issues", "step_sizes", "write_big_campaign"]

PRODUCTION_KEY = "PREOPS-1248"
PANDAMON_URL = "https://panda-doma.cern.ch/"
START = datetime(2022, 7, 1, tzinfo=UTC)
"""Run timestamp of the first workflow; each next one is a minute later."""


@dataclass
class BigCampaign:
    """A generated campaign: its yaml and each step's bps yamls, in natural order."""

    root: Path
    name: str
    campaign_yaml: Path
    steps: dict[str, list[Path]] = field(default_factory=dict)
    """Step name → its bps submit yamls."""

    @property
    def workflows(self) -> list[Path]:
        """Every bps yaml, step by step."""
        return [path for paths in self.steps.values() for path in paths]


def step_sizes(n_steps: int, n_workflows: int) -> list[int]:
    """Workflows per step: ``n_workflows`` spread as evenly as possible, earlier steps first."""
    base, extra = divmod(n_workflows, n_steps)
    return [base + (1 if n < extra else 0) for n in range(n_steps)]


def write_big_campaign(
    root: Path, *, n_steps: int = 7, n_workflows: int = 1000, name: str = "bigcampaign"
) -> BigCampaign:
    """Write the campaign's submit trees under ``root/<step>`` and ``root/<name>.yaml``.

    Every workflow has its own ``payloadName`` (so its own output and run) and a run
    timestamp of its own, one minute after the previous workflow's.
    """
    campaign = BigCampaign(root, name, root / f"{name}.yaml")
    minute = 0
    lines = ["issue: null", f"name: {name}", "steps:"]
    for n, size in enumerate(step_sizes(n_steps, n_workflows), start=1):
        step = f"step{n}"
        base = root / step
        paths: list[Path] = []
        for i in range(1, size + 1):
            stamp = (START + timedelta(minutes=minute)).strftime("%Y%m%dT%H%M%SZ")
            minute += 1
            tree = make_submit_tree(
                base,
                f"{step}_{i}.yaml",
                payload_name=f"2.2i/runs/big/{step}_{i}",
                step=step,
                timestamps=[stamp],
                data_query=f"instrument='LSSTCam-imSim' and skymap='DC2' and tract = {3000 + i}",
                n_quanta=100 + i,
                exec_butler=False,
                unresolved_includes=(),
            )
            paths.append(tree.yaml_path)
        campaign.steps[step] = paths
        lines += [
            "- campaign_issue: null",
            "  issue_name: ''",
            f"  name: {step}",
            "  split_bands: false",
            f"  workflow_base: '{base}'",
        ]
    campaign.campaign_yaml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return campaign


def _workflow_issue(path: Path) -> tuple[str, str, list[str]]:
    """Summary, description and labels that ``update-issue <yaml> PREOPS-1248 DRP0`` writes."""
    run = find_run(str(path))
    wid = run.workflow_id
    head = render_bps_block(line for _name, line in run.keywords)
    production = production_section_text(PRODUCTION_KEY, panda_tasks_link(PANDAMON_URL, run.timestamp), None)
    description = replace_sections("", {PRODUCTION_SECTION: production}, head=head)
    return wid.summary, description, [*wid.labels, production_label(PRODUCTION_KEY)]


def seed_workflow_issues(
    campaign: BigCampaign,
    *,
    emulator: JiraEmulator | None = None,
    home: Path | None = None,
    project: str = "DRP",
) -> list[str]:
    """Record every workflow of ``campaign`` as ``update-issue`` would: DRP-1, DRP-2, ….

    On the Jira ``emulator`` the issues are seeded directly (no HTTP); on the local
    tracker in ``home`` they are created in one transaction. Returns the keys in the
    order of `BigCampaign.workflows`.
    """
    issues = [_workflow_issue(path) for path in campaign.workflows]
    if emulator is not None:
        keys = [f"{project}-{n}" for n in range(1, len(issues) + 1)]
        for key, (summary, description, labels) in zip(keys, issues, strict=True):
            emulator.seed_issue(key, summary, description, labels)
        return keys
    if home is None:
        raise ValueError("give the Jira emulator or the local tracker's home")
    home.mkdir(parents=True, exist_ok=True)
    tracker = LocalTracker(home, project=project)
    try:
        with tracker.batch():
            return [
                tracker.create_issue(summary, description, labels=labels).key
                for summary, description, labels in issues
            ]
    finally:
        tracker.close()
