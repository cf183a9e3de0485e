"""Campaign and step yaml: schemas, validation, template, issue labels, summaries and text.

A *campaign yaml* is the operator's file, in the original tool's format::

    issue: null            # campaign issue key once created
    name: step12test
    steps:
    - campaign_issue: null
      issue_name: ''       # step issue key once created
      name: step1
      split_bands: false
      workflow_base: /home/username/work/step1

A *step yaml* (``step.yaml``, attached to each step issue) lists the step's workflows::

    name: step1
    issue_name: DRP-489
    campaign_issue: DRP-491
    campaign_name: step12test
    workflow_base: /abs/work/step1
    split_bands: false
    workflows:
      step1_1248: {name: step1_1248, bps_name: step1_1248.yaml, bps_dir: /abs/work/step1,
                   issue_name: DRP-486, band: all, step_name: step1, step_issue: DRP-489,
                   bps_sha256: 9f86d0…}

``bps_sha256`` (written by ``update-campaign``/``update-step``, optional on reading)
records the digest of the bps yaml attached next to it.

Pure functions and plain data, no I/O: reading files and talking to the tracker live in
`lsst.prodstatus.script.campaign`.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import InputError
from .ids import CAMPAIGN_LABEL_PREFIX, STEP_LABEL_PREFIX, issue_kind
from .markup import wiki_cell, wiki_table

__all__ = [
    "CAMPAIGN_ATTACHMENT",
    "CAMPAIGN_LABEL_PREFIX",
    "CAMPAIGN_SECTION",
    "HINT_BOOL",
    "HINT_CAMPAIGN_NOT_MAPPING",
    "HINT_CAMPAIGN_NO_NAME",
    "HINT_NOT_DIRECTORY",
    "HINT_NO_STEPS",
    "HINT_NO_WORKFLOW_BASE",
    "HINT_STEPS_NOT_LIST",
    "HINT_STEP_NOT_MAPPING",
    "HINT_STEP_NO_NAME",
    "HINT_STEP_TWICE",
    "HINT_STEP_YAML_NOT_MAPPING",
    "HINT_STEP_YAML_NO_NAME",
    "HINT_WORKFLOWS_NOT_MAPPING",
    "HINT_WORKFLOW_NOT_MAPPING",
    "HINT_WORKFLOW_NO_NAME",
    "HINT_WORKFLOW_TWICE",
    "MSG_BOOL",
    "MSG_NOT_DIRECTORY",
    "MSG_NOT_MAPPING",
    "MSG_NO_NAME",
    "MSG_NO_STEPS",
    "MSG_NO_WORKFLOW_BASE",
    "MSG_STEPS_EMPTY",
    "MSG_STEPS_NOT_LIST",
    "MSG_STEP_NOT_MAPPING",
    "MSG_STEP_NO_NAME",
    "MSG_STEP_TWICE",
    "MSG_WORKFLOWS_NOT_MAPPING",
    "MSG_WORKFLOW_NOT_MAPPING",
    "MSG_WORKFLOW_NO_NAME",
    "MSG_WORKFLOW_TWICE",
    "STEP_ATTACHMENT",
    "STEP_LABEL_PREFIX",
    "STEP_SECTION",
    "TEMPLATE_STEPS",
    "CampaignSpec",
    "StepDocument",
    "StepSpec",
    "WorkflowEntry",
    "campaign_document",
    "campaign_label",
    "campaign_name_from_summary",
    "campaign_section_text",
    "campaign_summary",
    "campaign_template",
    "dump_yaml",
    "issue_kind",
    "issue_link",
    "parse_campaign",
    "parse_step",
    "sanitize_name",
    "step_label",
    "step_section_text",
    "step_summary",
    "updated_campaign_yaml",
    "updated_step_yaml",
]

CAMPAIGN_SECTION = "campaign"
"""Managed description section of a campaign issue (its steps table)."""

STEP_SECTION = "step"
"""Managed description section of a step issue (campaign, workflow_base, workflows table)."""

CAMPAIGN_ATTACHMENT = "campaign.yaml"
"""Attachment of a campaign issue holding its campaign yaml (keys filled in)."""

STEP_ATTACHMENT = "step.yaml"
"""Attachment of a step issue holding its step yaml."""

TEMPLATE_STEPS = tuple(f"step{i}" for i in range(1, 8))
"""Steps of the campaign yaml template (as the original's: step1 … step7)."""

# User-facing messages (tests import them). ``source`` names the file (``campaign yaml
# c.yaml``); ``kind`` is what a value holds (``a list``, ``nothing``, ...).
MSG_BOOL = "{source}: {what} is {value!r}"
HINT_BOOL = "use true or false"
MSG_NOT_DIRECTORY = "{source}: {what} is {kind}, not a directory"
HINT_NOT_DIRECTORY = "give the directory holding the step's bps submit yamls"
MSG_NOT_MAPPING = "{source} is not a mapping (it holds {kind})"
HINT_CAMPAIGN_NOT_MAPPING = "a campaign yaml has the keys name and steps, see 'prodstat create-campaign-yaml'"
MSG_NO_NAME = "{source} has no name"
HINT_CAMPAIGN_NO_NAME = "add 'name: <campaign name>', or give --campaign_name"
MSG_NO_STEPS = "{source} has no steps"
HINT_NO_STEPS = "add a 'steps' list with one entry (name, workflow_base) per step"
MSG_STEPS_NOT_LIST = "{source}: steps is {kind}, not a list of steps"
HINT_STEPS_NOT_LIST = "give one entry (name, workflow_base) per step"
MSG_STEPS_EMPTY = "{source}: steps is empty"
MSG_STEP_NOT_MAPPING = "{source}: step {number} is not a mapping (it holds {kind})"
HINT_STEP_NOT_MAPPING = "each step needs the keys name and workflow_base"
MSG_STEP_NO_NAME = "{source}: step {number} has no name"
HINT_STEP_NO_NAME = "give every step a name, e.g. name: step1"
MSG_STEP_TWICE = "{source}: step {name} is listed twice (steps {first} and {number})"
HINT_STEP_TWICE = "list each step once"
MSG_WORKFLOW_NOT_MAPPING = "{source}: workflow {key} is not a mapping (it holds {kind})"
HINT_WORKFLOW_NOT_MAPPING = "each workflow needs at least name and bps_name"
MSG_WORKFLOW_NO_NAME = "{source}: a workflow has no name"
HINT_WORKFLOW_NO_NAME = "give each workflow a name (the bps yaml's stem)"
HINT_STEP_YAML_NOT_MAPPING = (
    "a step yaml has the keys name, workflow_base and workflows, see 'prodstat create-step-yaml'"
)
HINT_STEP_YAML_NO_NAME = "add 'name: <step name>', or give --step_name"
MSG_NO_WORKFLOW_BASE = "{source} has no workflow_base"
HINT_NO_WORKFLOW_BASE = "set it to the directory holding the step's bps submit yamls"
MSG_WORKFLOWS_NOT_MAPPING = "{source}: workflows is {kind}"
HINT_WORKFLOWS_NOT_MAPPING = "give a mapping of workflow name to workflow"
MSG_WORKFLOW_TWICE = "{source}: workflow {name} is listed twice"
HINT_WORKFLOW_TWICE = "list each workflow once"

_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")
# Jira labels hold at most 255 characters; keep room for the prefixes.
_MAX_NAME = 200


# -- names, labels, summaries -------------------------------------------------------------


def sanitize_name(name: str) -> str:
    """Return ``name`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_``."""
    return _UNSAFE_RE.sub("_", name)[:_MAX_NAME]


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def campaign_label(name: str) -> str:
    """Return the label of campaign ``name``'s issue.

    ``prodstat_campaign_<name>`` when ``name`` is a valid label part as it is; otherwise
    the sanitised name (see `sanitize_name`) and ``_<hash>``, the first 8 hex digits of
    the SHA-1 of the exact name, so that ``test run`` and ``test_run`` differ.
    """
    safe = sanitize_name(name)
    return CAMPAIGN_LABEL_PREFIX + (safe if safe == name else f"{safe}_{_digest(name)}")


def step_label(campaign: str, step: str) -> str:
    """Return the label of step ``step`` of ``campaign``.

    ``prodstat_step_<campaign>_<step>`` when neither name holds ``_`` or a character
    that sanitising replaces, and both fit (the usual ``step12test``/``step1``): the one ``_`` then
    tells where each name ends. Otherwise the sanitised names (shortened to fit Jira's
    255 characters) and ``_<hash>``, the first 8 hex digits of the SHA-1 of
    ``<campaign>\\0<step>``, since ``a`` + ``b_c`` and ``a_b`` + ``c`` would read alike.
    """
    safe_campaign, safe_step = sanitize_name(campaign), sanitize_name(step)
    plain = safe_campaign == campaign and safe_step == step and len(campaign + step) <= _MAX_NAME
    if plain and "_" not in campaign + step:
        return f"{STEP_LABEL_PREFIX}{campaign}_{step}"
    half = _MAX_NAME // 2
    digest = _digest(f"{campaign}\0{step}")
    return f"{STEP_LABEL_PREFIX}{safe_campaign[:half]}_{safe_step[:half]}_{digest}"


def campaign_summary(name: str) -> str:
    """Return the summary of a campaign issue (the original's): ``Campaign <name>``."""
    return f"Campaign {name}"


def step_summary(step: str) -> str:
    """Return the summary of a step issue (the original's): ``Step <name>``."""
    return f"Step {step}"


def campaign_name_from_summary(summary: str) -> str | None:
    """Return ``<name>`` of a ``Campaign <name>`` summary, or `None`."""
    text = summary.strip()
    if text.startswith("Campaign ") and text[len("Campaign ") :].strip():
        return text[len("Campaign ") :].strip()
    return None


# -- yaml values ---------------------------------------------------------------------------


def dump_yaml(data: Any) -> str:
    """Return ``data`` as yaml, keys in their given order (the format of every prodstat yaml)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _name_value(value: object) -> str | None:
    """Return a name given as a string (or a bare number), stripped; `None` if absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _key_value(value: object) -> str | None:
    """Return an issue key as written (stripped), `None` for null/empty; checked by the caller."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _bool_value(value: object, what: str, source: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise InputError(MSG_BOOL.format(source=source, what=what, value=value), HINT_BOOL)


def _path_value(value: object, what: str, source: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    raise InputError(
        MSG_NOT_DIRECTORY.format(source=source, what=what, kind=_kind(value)), HINT_NOT_DIRECTORY
    )


# -- campaign yaml -------------------------------------------------------------------------


@dataclass
class StepSpec:
    """One step of a campaign yaml."""

    name: str
    workflow_base: str
    """As written in the yaml (may be relative, or empty in a template)."""
    issue_name: str | None = None
    campaign_issue: str | None = None
    split_bands: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """Other keys the user wrote; carried along unchanged."""


@dataclass
class CampaignSpec:
    """A validated campaign yaml."""

    name: str
    steps: list[StepSpec]
    issue: str | None = None


_STEP_KEYS = ("name", "issue_name", "campaign_issue", "split_bands", "workflow_base")


def parse_campaign(data: object, source: str, *, name: str | None = None) -> CampaignSpec:
    """Validate a loaded campaign yaml and return it as a `CampaignSpec`.

    Parameters
    ----------
    data : `object`
        What ``yaml.safe_load`` returned.
    source : `str`
        How to name the file in messages (e.g. ``campaign yaml step12test.yaml``).
    name : `str`, optional
        Campaign name overriding the yaml's (``--campaign_name``); the yaml then needs none.

    Raises
    ------
    InputError
        Not a mapping; no name; no steps, or steps not a non-empty list; a step that
        is not a mapping or has no name; a step listed twice; a malformed value.
    """
    if not isinstance(data, dict):
        raise InputError(MSG_NOT_MAPPING.format(source=source, kind=_kind(data)), HINT_CAMPAIGN_NOT_MAPPING)
    campaign = _name_value(name) or _name_value(data.get("name"))
    if campaign is None:
        raise InputError(MSG_NO_NAME.format(source=source), HINT_CAMPAIGN_NO_NAME)
    if "steps" not in data or data["steps"] is None:
        raise InputError(MSG_NO_STEPS.format(source=source), HINT_NO_STEPS)
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list):
        raise InputError(MSG_STEPS_NOT_LIST.format(source=source, kind=_kind(raw_steps)), HINT_STEPS_NOT_LIST)
    if not raw_steps:
        raise InputError(MSG_STEPS_EMPTY.format(source=source), HINT_STEPS_NOT_LIST)
    steps: list[StepSpec] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_steps, start=1):
        if not isinstance(raw, dict):
            raise InputError(
                MSG_STEP_NOT_MAPPING.format(source=source, number=number, kind=_kind(raw)),
                HINT_STEP_NOT_MAPPING,
            )
        step_name = _name_value(raw.get("name"))
        if step_name is None:
            raise InputError(MSG_STEP_NO_NAME.format(source=source, number=number), HINT_STEP_NO_NAME)
        if step_name in seen:
            raise InputError(
                MSG_STEP_TWICE.format(source=source, name=step_name, first=seen[step_name], number=number),
                HINT_STEP_TWICE,
            )
        seen[step_name] = number
        steps.append(
            StepSpec(
                name=step_name,
                workflow_base=_path_value(
                    raw.get("workflow_base"), f"workflow_base of step {step_name}", source
                ),
                issue_name=_key_value(raw.get("issue_name")),
                campaign_issue=_key_value(raw.get("campaign_issue")),
                split_bands=_bool_value(raw.get("split_bands"), f"split_bands of step {step_name}", source),
                extra={k: v for k, v in raw.items() if k not in _STEP_KEYS},
            )
        )
    return CampaignSpec(name=campaign, steps=steps, issue=_key_value(data.get("issue")))


def campaign_template(name: str, steps: Sequence[str] = TEMPLATE_STEPS) -> dict[str, Any]:
    """Return the original tool's campaign yaml template: ``steps`` with empty ``workflow_base``.

    Keys are in alphabetical order (the original dumped them sorted), so the file reads
    the same as the seed's ``step12test.yaml``.
    """
    return {
        "issue": None,
        "name": name,
        "steps": [
            {
                "campaign_issue": None,
                "issue_name": "",
                "name": step,
                "split_bands": False,
                "workflow_base": "",
            }
            for step in steps
        ],
    }


def campaign_document(spec: CampaignSpec) -> dict[str, Any]:
    """Return the ``campaign.yaml`` attachment of a campaign: its keys filled in.

    ``{issue, name, steps: [{name, issue_name, campaign_issue, split_bands,
    workflow_base, <other keys the user wrote>}]}``.
    """
    return {
        "issue": spec.issue,
        "name": spec.name,
        "steps": [
            {
                "name": step.name,
                "issue_name": step.issue_name,
                "campaign_issue": step.campaign_issue,
                "split_bands": step.split_bands,
                "workflow_base": step.workflow_base,
                **copy.deepcopy(step.extra),
            }
            for step in spec.steps
        ],
    }


def updated_campaign_yaml(raw: Mapping[str, Any], spec: CampaignSpec) -> dict[str, Any]:
    """Return the user's campaign yaml with the keys prodstat found or made filled in.

    Sets ``issue``, ``name`` and each step's ``issue_name`` and ``campaign_issue``; every
    other key and the order of keys stay as the user wrote them (new keys go last).
    ``raw`` must be the mapping `parse_campaign` accepted for ``spec``.
    """
    data = copy.deepcopy(dict(raw))
    data["issue"] = spec.issue
    data["name"] = spec.name
    for raw_step, step in zip(data["steps"], spec.steps, strict=True):
        raw_step["issue_name"] = step.issue_name
        raw_step["campaign_issue"] = step.campaign_issue
    return data


# -- step yaml -----------------------------------------------------------------------------


@dataclass
class WorkflowEntry:
    """One workflow (bps submit yaml) of a step yaml."""

    name: str
    """The bps yaml's name without ``.yaml`` (the key in ``workflows``)."""
    bps_name: str
    """File name of the bps submit yaml."""
    bps_dir: str
    """Directory of the bps submit yaml."""
    issue_name: str | None = None
    band: str = "all"
    extra: dict[str, Any] = field(default_factory=dict)
    bps_sha256: str | None = None
    """SHA-256 of the bps yaml as attached to the step issue (in the ``step.yaml`` attachment
    only): a re-run compares digests instead of reading every attachment back."""


@dataclass
class StepDocument:
    """A step yaml: the step, its campaign and its workflows."""

    name: str
    workflow_base: str
    issue_name: str | None = None
    campaign_issue: str | None = None
    campaign_name: str | None = None
    split_bands: bool = False
    workflows: list[WorkflowEntry] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def workflows_dict(self) -> dict[str, Any]:
        """Return ``workflows`` as written in a step yaml (keyed by workflow name)."""
        return {
            wf.name: {
                "name": wf.name,
                "bps_name": wf.bps_name,
                "bps_dir": wf.bps_dir,
                "issue_name": wf.issue_name,
                "band": wf.band,
                "step_name": self.name,
                "step_issue": self.issue_name,
                **({"bps_sha256": wf.bps_sha256} if wf.bps_sha256 else {}),
                **copy.deepcopy(wf.extra),
            }
            for wf in self.workflows
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the step yaml (the ``step.yaml`` attachment)."""
        return {
            "name": self.name,
            "issue_name": self.issue_name,
            "campaign_issue": self.campaign_issue,
            "campaign_name": self.campaign_name,
            "workflow_base": self.workflow_base,
            "split_bands": self.split_bands,
            "workflows": self.workflows_dict(),
            **copy.deepcopy(self.extra),
        }


_DOC_KEYS = (
    "name",
    "issue_name",
    "campaign_issue",
    "campaign_name",
    "workflow_base",
    "split_bands",
    "workflows",
)
_WF_KEYS = (
    "name",
    "bps_name",
    "bps_dir",
    "issue_name",
    "band",
    "step_name",
    "step_issue",
    "issue",
    "bps_config",
    "bps_sha256",
)


def _workflow_entry(key: object, raw: object, workflow_base: str, source: str) -> WorkflowEntry:
    if not isinstance(raw, dict):
        raise InputError(
            MSG_WORKFLOW_NOT_MAPPING.format(source=source, key=key, kind=_kind(raw)),
            HINT_WORKFLOW_NOT_MAPPING,
        )
    name = _name_value(raw.get("name")) or _name_value(key)
    if name is None:
        raise InputError(MSG_WORKFLOW_NO_NAME.format(source=source), HINT_WORKFLOW_NO_NAME)
    bps_dir = _path_value(raw.get("bps_dir"), f"bps_dir of workflow {name}", source) or workflow_base
    bps_name = _name_value(raw.get("bps_name")) or ""
    if bps_dir.endswith(".yaml") and not bps_name:
        # The original create-step-yaml stored the file's path in bps_dir.
        bps_dir, _, bps_name = bps_dir.rpartition("/")
    if not bps_name:
        # The original update-step wrote bps_config (a path or a file name) instead.
        bps_name = str(raw.get("bps_config") or "").rpartition("/")[2] or f"{name}.yaml"
    band = _name_value(raw.get("band")) or "all"
    return WorkflowEntry(
        name=name,
        bps_name=bps_name,
        bps_dir=bps_dir,
        issue_name=_key_value(raw.get("issue_name", raw.get("issue"))),
        band=band,
        extra={k: v for k, v in raw.items() if k not in _WF_KEYS},
        bps_sha256=_digest_value(raw.get("bps_sha256")),
    )


def _digest_value(value: object) -> str | None:
    """A recorded SHA-256 (64 hex digits); anything else is no digest (the file is compared)."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def parse_step(data: object, source: str, *, name: str | None = None) -> StepDocument:
    """Validate a loaded step yaml and return it as a `StepDocument`.

    ``workflows`` may be a mapping (this format) or a list of mappings (the original
    tool's Step files); workflows written by the original (``bps_dir`` holding a file
    path, ``bps_config``, ``issue``) are read too.

    Parameters
    ----------
    data : `object`
        What ``yaml.safe_load`` returned.
    source : `str`
        How to name the file in messages (e.g. ``step yaml step1.yaml``).
    name : `str`, optional
        Step name overriding the yaml's (``--step_name``); the yaml then needs none.

    Raises
    ------
    InputError
        Not a mapping; no name; no workflow_base; malformed workflows or values.
    """
    if not isinstance(data, dict):
        raise InputError(MSG_NOT_MAPPING.format(source=source, kind=_kind(data)), HINT_STEP_YAML_NOT_MAPPING)
    step = _name_value(name) or _name_value(data.get("name"))
    if step is None:
        raise InputError(MSG_NO_NAME.format(source=source), HINT_STEP_YAML_NO_NAME)
    base = _path_value(data.get("workflow_base"), "workflow_base", source)
    if not base:
        raise InputError(MSG_NO_WORKFLOW_BASE.format(source=source), HINT_NO_WORKFLOW_BASE)
    raw_workflows = data.get("workflows") or {}
    if isinstance(raw_workflows, dict):
        items = list(raw_workflows.items())
    elif isinstance(raw_workflows, list):
        items = [(None, raw) for raw in raw_workflows]
    else:
        raise InputError(
            MSG_WORKFLOWS_NOT_MAPPING.format(source=source, kind=_kind(raw_workflows)),
            HINT_WORKFLOWS_NOT_MAPPING,
        )
    workflows: list[WorkflowEntry] = []
    seen: set[str] = set()
    for key, raw in items:
        entry = _workflow_entry(key, raw, base, source)
        if entry.name in seen:
            raise InputError(MSG_WORKFLOW_TWICE.format(source=source, name=entry.name), HINT_WORKFLOW_TWICE)
        seen.add(entry.name)
        workflows.append(entry)
    return StepDocument(
        name=step,
        workflow_base=base,
        issue_name=_key_value(data.get("issue_name")),
        campaign_issue=_key_value(data.get("campaign_issue")),
        campaign_name=_name_value(data.get("campaign_name")),
        split_bands=_bool_value(data.get("split_bands"), "split_bands", source),
        workflows=workflows,
        extra={k: v for k, v in data.items() if k not in _DOC_KEYS},
    )


def updated_step_yaml(raw: Mapping[str, Any], doc: StepDocument) -> dict[str, Any]:
    """Return the user's step yaml with what ``update-step`` found or made filled in.

    Sets ``name``, ``issue_name``, ``campaign_issue``, ``campaign_name`` and
    ``workflows`` (the computed list); other keys, and the user's ``workflow_base`` as
    written, stay in their order.
    """
    data = copy.deepcopy(dict(raw))
    data["name"] = doc.name
    data["issue_name"] = doc.issue_name
    data["campaign_issue"] = doc.campaign_issue
    data["campaign_name"] = doc.campaign_name
    data["workflows"] = doc.workflows_dict()
    return data


# -- issue text ----------------------------------------------------------------------------


def issue_link(key: str | None, urls: Mapping[str, str], missing: str = "(new issue)") -> str:
    """Return ``[KEY|url]`` wiki markup for ``key`` (``missing`` when there is no key yet)."""
    if not key:
        return missing
    url = urls.get(key)
    return f"[{key}|{url}]" if url else key


def step_section_text(doc: StepDocument, urls: Mapping[str, str]) -> str:
    """Return the ``step`` section of a step issue.

    The campaign (a link), the step's ``workflow_base``, and a ``||BPS yaml||Issue||``
    table of its workflows. ``urls`` maps issue keys to their browse URLs.
    """
    if doc.campaign_issue or doc.campaign_name:
        campaign = f"Campaign: {doc.campaign_name or ''} {issue_link(doc.campaign_issue, urls, '')}".rstrip()
    else:
        campaign = "Campaign: none"
    rows = [
        (wiki_cell(wf.bps_name), issue_link(wf.issue_name, urls, "(no issue)"))
        for wf in sorted(doc.workflows, key=lambda w: w.bps_name)
    ]
    lines = [
        f"Step {doc.name}",
        " ".join(campaign.split()),
        f"workflow_base: {doc.workflow_base}",
        wiki_table(["BPS yaml", "Issue"], rows, raw=True) if rows else "No bps submit yamls found.",
    ]
    return "\n".join(lines)


def campaign_section_text(spec: CampaignSpec, urls: Mapping[str, str]) -> str:
    """Return the ``campaign`` section of a campaign issue: its name and a steps table.

    ``||Step||Issue||workflow_base||``, one row per step in the yaml's order, the
    issue as a ``[KEY|url]`` link.
    """
    rows = [
        (wiki_cell(step.name), issue_link(step.issue_name, urls), wiki_cell(step.workflow_base))
        for step in spec.steps
    ]
    count = f"{len(spec.steps)} step" + ("" if len(spec.steps) == 1 else "s")
    return "\n".join(
        [f"Campaign {spec.name}: {count}", wiki_table(["Step", "Issue", "workflow_base"], rows, raw=True)]
    )
