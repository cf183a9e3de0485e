"""The error catalogue: every failure a user can meet, as data.

One source for two readers: ``tests/cli/test_error_catalogue.py`` runs each case through the
real CLI and checks its exit code and message, and ``doc/update_errors.py`` writes the
table of ``doc/errors.rst`` from it, so the documentation cannot drift from the code.

``message`` and ``fix`` are templates: ``{name}`` stands for a value of the run at hand
(a path, a key). Where the code keeps a message in a constant (``MSG_…``, ``HINT_…``)
the constant itself is used. ``message`` is the start of the stderr line after
``prodstat: error: `` (exit code 2: after click's ``Error: ``); ``fix`` is checked to be
in that line unless ``fix_shown`` is false (then it is advice of the catalogue only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lsst.prodstatus.config import (
    HINT_BAD_LOG_LEVEL,
    HINT_BAD_RETRIES,
    HINT_BAD_SECONDS,
    HINT_CONFIG_INVALID,
    HINT_CONFIG_NOT_MAPPING,
    HINT_DIR_NOT_WRITABLE,
    HINT_UNKNOWN_TRACKER,
    MSG_BAD_LOG_LEVEL,
    MSG_BAD_RETRIES,
    MSG_BAD_SECONDS,
    MSG_BAD_URL,
    MSG_CONFIG_INVALID,
    MSG_CONFIG_NOT_MAPPING,
    MSG_UNKNOWN_SETTING,
    MSG_UNKNOWN_TRACKER,
)
from lsst.prodstatus.core import campaign, groups
from lsst.prodstatus.core.ids import HINT_MALFORMED_KEY, MSG_MALFORMED_KEY
from lsst.prodstatus.core.yamlsafe import MSG_ALIAS_BOMB
from lsst.prodstatus.errors import (
    EXIT_BAD_INPUT,
    EXIT_SERVICE,
    EXIT_USAGE,
    HINT_ISSUE_NOT_FOUND,
    MSG_ISSUE_NOT_FOUND,
)
from lsst.prodstatus.script import discovery, param_stats, report, report_to_jira, summary, timing
from lsst.prodstatus.script import files as script_files
from lsst.prodstatus.script import maps as script_maps
from lsst.prodstatus.script.update_issue import (
    HINT_NOT_EMPTY,
    HINT_WORKFLOW_NOT_FOUND,
    HINT_WRONG_KIND,
    MSG_NOT_EMPTY,
    MSG_WRONG_KIND,
)
from lsst.prodstatus.services import panda
from lsst.prodstatus.services.submit import (
    HINT_EXPANSION,
    HINT_MISSING_KEYS,
    HINT_NOT_OWN_RUN,
    HINT_PLACEHOLDER,
    HINT_YAML_NOT_FOUND,
    MSG_BAD_TIMESTAMP,
    MSG_EXPANSION_TOO_LONG,
    MSG_MISSING_KEYS,
    MSG_NOT_MAPPING,
    MSG_NOT_OWN_RUN,
    MSG_PLACEHOLDER,
    MSG_YAML_INVALID,
    MSG_YAML_IS_DIR,
    MSG_YAML_NOT_FOUND,
    MSG_YAML_NOT_REGULAR,
)
from lsst.prodstatus.services.tracker import HINT_NO_JIRA_URL, MSG_NO_JIRA_URL
from lsst.prodstatus.services.tracker import jira as jira_tracker
from tests.services.messages import message_prefix

__all__ = ["BOTH", "CASES", "ErrorCase"]

BOTH = ("local", "jira")
"""Run the case on the local tracker and on Jira (the emulator)."""

NOT_FOUND = MSG_ISSUE_NOT_FOUND
NOT_FOUND_FIX = HINT_ISSUE_NOT_FOUND
MALFORMED_KEY = MSG_MALFORMED_KEY.format(what="issue key", key="{key}")
MALFORMED_KEY_FIX = HINT_MALFORMED_KEY
PARAM_KEYS_FIX = param_stats.HINT_PARAM_KEYS
PANDA_FIX = panda.HINT_FAILED
JIRA_DOWN_FIX = jira_tracker.HINT_UNREACHABLE


@dataclass(frozen=True)
class ErrorCase:
    """One failure: how to meet it and what prodstat says.

    Parameters
    ----------
    id : `str`
        Short unique name (the test id and the catalogue's anchor).
    command : `str`
        The command the case belongs to in the catalogue.
    args : `tuple` [`str`, ...]
        Arguments of ``prodstat`` (global options first).
    exit_code : `int`
        Expected exit code.
    message : `str`
        Template of the start of the error line.
    fix : `str`
        Template of what to do about it.
    when : `str`
        The situation, in words, for the catalogue.
    setup : `str`
        Name of the test's set-up step (files in the working directory, an issue, a fault).
    trackers : `tuple` [`str`, ...]
        Trackers the case is run on.
    env : `dict` [`str`, `str`]
        Extra environment; ``{panda}`` and ``{jira}`` stand for the emulators' URLs.
    fix_shown : `bool`
        Whether ``fix`` is part of the error line.
    """

    id: str
    command: str
    args: tuple[str, ...]
    exit_code: int
    message: str
    fix: str
    when: str
    setup: str = "files"
    trackers: tuple[str, ...] = ("local",)
    env: dict[str, str] = field(default_factory=dict)
    fix_shown: bool = True


def _case(
    id: str, command: str, args: str, exit_code: int, message: str, fix: str, when: str, **kw: object
) -> ErrorCase:
    return ErrorCase(id, command, tuple(args.split()), exit_code, message, fix, when, **kw)  # type: ignore[arg-type]


B, S, U = EXIT_BAD_INPUT, EXIT_SERVICE, EXIT_USAGE
PANDA_ENV = {"PANDAMON_URL": "{panda}", "PRODSTAT_PANDA_RETRIES": "1", "PRODSTAT_PANDA_TIMEOUT": "1"}
JIRA_ENV = {"PRODSTAT_JIRA_RETRIES": "1", "PRODSTAT_JIRA_TIMEOUT": "1"}
US = "update-stat DRP-1 --no-butler"

CASES: tuple[ErrorCase, ...] = (
    # -- update-issue ------------------------------------------------------------------------
    _case(
        "yaml-not-found",
        "update-issue",
        "update-issue missing.yaml PREOPS-1 DRP0",
        B,
        MSG_YAML_NOT_FOUND,
        HINT_YAML_NOT_FOUND,
        "the bps submit yaml does not exist",
    ),
    _case(
        "yaml-directory",
        "update-issue",
        "update-issue . PREOPS-1 DRP0",
        B,
        MSG_YAML_IS_DIR,
        "give the yaml file, not its directory",
        "a directory given as the yaml",
        fix_shown=False,
    ),
    _case(
        "yaml-not-regular",
        "update-issue",
        "update-issue fifo.yaml PREOPS-1 DRP0",
        B,
        MSG_YAML_NOT_REGULAR,
        HINT_YAML_NOT_FOUND,
        "a FIFO or device given as the yaml (refused at once)",
    ),
    _case(
        "yaml-alias-bomb",
        "update-issue",
        "update-issue laughs.yaml PREOPS-1 DRP0",
        B,
        "bps submit yaml {path} is not valid yaml: " + MSG_ALIAS_BOMB,
        "fix the file",
        "the bps yaml is a yaml alias bomb (billion laughs): refused before anything walks it",
    ),
    _case(
        "yaml-invalid",
        "update-issue",
        "update-issue bad.yaml PREOPS-1 DRP0",
        B,
        MSG_YAML_INVALID,
        "fix the yaml at the line named",
        "the yaml does not parse",
        fix_shown=False,
    ),
    _case(
        "yaml-not-utf8",
        "update-issue",
        "update-issue binary.yaml PREOPS-1 DRP0",
        B,
        MSG_YAML_INVALID,
        "save the yaml as UTF-8 text",
        "the yaml holds bytes that are not UTF-8",
        fix_shown=False,
    ),
    _case(
        "yaml-not-mapping",
        "update-issue",
        "update-issue list.yaml PREOPS-1 DRP0",
        B,
        MSG_NOT_MAPPING,
        "give the submit yaml (a mapping of bps keys)",
        "the yaml holds a list or a scalar",
        fix_shown=False,
    ),
    _case(
        "yaml-missing-keys",
        "update-issue",
        "update-issue nokeys.yaml PREOPS-1 DRP0",
        B,
        MSG_MISSING_KEYS,
        HINT_MISSING_KEYS,
        "payload.output, campaign or pipelineYaml is missing",
    ),
    _case(
        "yaml-placeholder",
        "update-issue",
        "update-issue placeholder.yaml PREOPS-1 DRP0",
        B,
        MSG_PLACEHOLDER,
        HINT_PLACEHOLDER,
        "payload.output uses a {key} defined nowhere",
    ),
    _case(
        "yaml-expansion-bomb",
        "update-issue",
        "update-issue bomb.yaml PREOPS-1 DRP0",
        B,
        MSG_EXPANSION_TOO_LONG,
        HINT_EXPANSION,
        "a {key} expansion of payload.output that grows without end",
    ),
    _case(
        "bad-timestamp",
        "update-issue",
        "update-issue step1_1248.yaml PREOPS-1248 DRP0 --ts yesterday",
        B,
        MSG_BAD_TIMESTAMP,
        "give --ts as YYYYMMDDTHHMMSSZ",
        "--ts is not a bps timestamp",
        setup="campaign",
        fix_shown=False,
    ),
    _case(
        "no-own-run",
        "update-issue",
        "update-issue step1_1248_c.yaml PREOPS-1248 DRP0",
        B,
        MSG_NOT_OWN_RUN,
        HINT_NOT_OWN_RUN,
        "a sibling yaml sharing payload.output was never submitted",
        setup="campaign",
    ),
    _case(
        "update-issue-unknown",
        "update-issue",
        "update-issue step1_1248.yaml PREOPS-1248 DRP-9",
        B,
        NOT_FOUND,
        HINT_WORKFLOW_NOT_FOUND,
        "the explicit DRP_ISSUE does not exist",
        setup="campaign",
        trackers=BOTH,
    ),
    _case(
        "update-issue-malformed",
        "update-issue",
        "update-issue step1_1248.yaml PREOPS-1248 DRP_9",
        B,
        "malformed workflow issue key (DRP_ISSUE; DRP0 creates a new issue) '{key}'",
        MALFORMED_KEY_FIX,
        "DRP_ISSUE is not a key (nor DRP0)",
        setup="campaign",
    ),
    _case(
        "update-issue-not-empty",
        "update-issue",
        "update-issue step1_1248.yaml PREOPS-1248 DRP-1",
        B,
        MSG_NOT_EMPTY,
        HINT_NOT_EMPTY,
        "DRP_ISSUE is about something else (a description of its own)",
        setup="campaign-other-issue",
        trackers=BOTH,
    ),
    _case(
        "update-issue-step-issue",
        "update-issue",
        "update-issue step1_1248.yaml PREOPS-1248 DRP-1",
        B,
        MSG_WRONG_KIND,
        HINT_WRONG_KIND,
        "DRP_ISSUE is a step or campaign issue",
        setup="campaign-step-issue",
        trackers=BOTH,
    ),
    # -- update-stat -------------------------------------------------------------------------
    _case(
        "update-stat-unknown",
        "update-stat",
        "update-stat DRP-9 --no-butler",
        B,
        NOT_FOUND,
        NOT_FOUND_FIX,
        "the issue does not exist",
        trackers=BOTH,
    ),
    _case(
        "update-stat-malformed",
        "update-stat",
        "update-stat PREOPS-1 bogus",
        B,
        MALFORMED_KEY,
        MALFORMED_KEY_FIX,
        "the issue key is malformed",
    ),
    _case(
        "update-stat-damaged",
        "update-stat",
        US,
        B,
        "managed section '{name}' of DRP-1 is damaged",
        "stand alone on a line around the section's text",
        "a person deleted a section's end marker",
        setup="damaged",
        trackers=BOTH,
    ),
    _case(
        "panda-refused",
        "update-stat",
        US,
        S,
        message_prefix(panda.MSG_FAILED, monitor="{url}")
        + panda.PROBLEM_CONNECT.format(reason="connection refused"),
        PANDA_FIX,
        "the PanDA monitor cannot be reached",
        setup="workflow",
        env={**PANDA_ENV, "PANDAMON_URL": "{closed}"},
    ),
    _case(
        "panda-timeout",
        "update-stat",
        US,
        S,
        message_prefix(panda.MSG_FAILED, monitor="{url}") + panda.PROBLEM_TIMEOUT.format(seconds=1),
        PANDA_FIX,
        "the monitor does not answer within panda_timeout",
        setup="panda-hang",
        env=PANDA_ENV,
    ),
    _case(
        "panda-5xx",
        "update-stat",
        US,
        S,
        "the PanDA monitor at {url} failed: HTTP 503 ({path}, 2 attempts over",
        PANDA_FIX,
        "the monitor answers 429 or 5xx after every retry",
        setup="panda-503",
        env=PANDA_ENV,
    ),
    _case(
        "panda-refused-token",
        "update-stat",
        US,
        S,
        panda.MSG_REFUSED.format(monitor="{url}", status=403),
        panda.HINT_REFUSED,
        "the monitor answers 401 or 403",
        setup="panda-403",
        env=PANDA_ENV,
    ),
    _case(
        "panda-404",
        "update-stat",
        US,
        S,
        panda.MSG_HTTP.format(monitor="{url}", status=404, path="{path}"),
        panda.HINT_HTTP,
        "the monitor answers 404 (a wrong PANDAMON_URL)",
        setup="panda-404",
        env=PANDA_ENV,
    ),
    _case(
        "panda-html",
        "update-stat",
        US,
        S,
        panda.MSG_HTML.format(monitor="{url}", url="{query}"),
        "check PANDAMON_URL (it must be the monitor",
        "a login page answers instead of the monitor",
        setup="panda-html",
        env=PANDA_ENV,
    ),
    _case(
        "panda-not-json",
        "update-stat",
        US,
        S,
        panda.MSG_NOT_JSON.format(monitor="{url}", url="{query}"),
        panda.HINT_NOT_JSON,
        "the monitor answers 200 with a body that is not JSON",
        setup="panda-garbage",
        env=PANDA_ENV,
    ),
    _case(
        "panda-no-workflow",
        "update-stat",
        US,
        B,
        "workflow {name} not found in the PanDA monitor {url}",
        "check the issue's uniqProcName and PANDAMON_URL",
        "PanDA knows no workflow of the issue's run",
        setup="workflow",
        env=PANDA_ENV,
    ),
    # -- make-prod-groups --------------------------------------------------------------------
    _case(
        "groups-template-missing",
        "make-prod-groups",
        "make-prod-groups missing.yaml all 100 0 1 exp.txt",
        B,
        "template {path} does not exist",
        "give the bps submit yaml to copy",
        "the template yaml does not exist",
    ),
    _case(
        "groups-explist-missing",
        "make-prod-groups",
        "make-prod-groups nokeys.yaml all 100 0 1 none.txt",
        B,
        "exposure list {path} does not exist",
        "give a file of '<band> <id>' lines",
        "the exposure list does not exist",
    ),
    _case(
        "groups-size-zero",
        "make-prod-groups",
        "make-prod-groups nokeys.yaml all 0 0 1 exp.txt",
        B,
        groups.GROUPSIZE_TOO_SMALL.format(value=0),
        "give a group size of 1 or more",
        "GROUPSIZE is 0",
        fix_shown=False,
    ),
    _case(
        "groups-bad-band",
        "make-prod-groups",
        "make-prod-groups nokeys.yaml zz 100 0 1 exp.txt",
        U,
        "Invalid value for 'BAND': 'zz' is not one of",
        "give all or one of f u g r i z y",
        "BAND is not a band",
        fix_shown=False,
    ),
    # -- create-campaign-yaml / update-campaign ----------------------------------------------
    _case(
        "campaign-yaml-unwritable",
        "create-campaign-yaml",
        "create-campaign-yaml c1 nodir/out.yaml",
        B,
        script_files.MSG_CANNOT_WRITE.format(path="{path}", reason="No such file or directory"),
        script_files.HINT_CANNOT_CREATE,
        "the output's directory does not exist",
    ),
    _case(
        "campaign-yaml-missing-arg",
        "create-campaign-yaml",
        "create-campaign-yaml",
        U,
        "Missing argument 'CAMPAIGN_NAME'",
        "see 'prodstat create-campaign-yaml --help'",
        "an argument is missing",
        fix_shown=False,
    ),
    _case(
        "campaign-not-found",
        "update-campaign",
        "update-campaign missing.yaml",
        B,
        "campaign yaml missing.yaml not found",
        "write one with 'prodstat create-campaign-yaml NAME",
        "the campaign yaml does not exist",
    ),
    _case(
        "campaign-invalid",
        "update-campaign",
        "update-campaign bad.yaml",
        B,
        script_files.MSG_NOT_YAML.format(what="campaign yaml", given="bad.yaml", problem="{error}"),
        script_files.HINT_NOT_YAML,
        "the campaign yaml does not parse",
    ),
    _case(
        "campaign-not-mapping",
        "update-campaign",
        "update-campaign list.yaml",
        B,
        campaign.MSG_NOT_MAPPING.format(source="campaign yaml list.yaml", kind="a list"),
        "a campaign yaml has the keys name and steps",
        "the campaign yaml holds a list",
    ),
    _case(
        "campaign-no-steps",
        "update-campaign",
        "update-campaign nosteps.yaml",
        B,
        campaign.MSG_NO_STEPS.format(source="campaign yaml nosteps.yaml"),
        "add a 'steps' list",
        "the campaign yaml lists no steps",
    ),
    # -- create-step-yaml / update-step ------------------------------------------------------
    _case(
        "step-base-missing",
        "create-step-yaml",
        "create-step-yaml s.yaml step1 nodir",
        B,
        discovery.MSG_WORKFLOW_BASE_NOT_DIR.format(workflow_base="{path}", step="step1"),
        discovery.HINT_WORKFLOW_BASE_NOT_DIR,
        "WORKFLOW_DIR does not exist",
    ),
    _case(
        "step-not-found",
        "update-step",
        "update-step missing.yaml",
        B,
        "step yaml missing.yaml not found",
        "write one with 'prodstat create-step-yaml",
        "the step yaml does not exist",
    ),
    _case(
        "step-invalid",
        "update-step",
        "update-step bad.yaml",
        B,
        script_files.MSG_NOT_YAML.format(what="step yaml", given="bad.yaml", problem="{error}"),
        script_files.HINT_NOT_YAML,
        "the step yaml does not parse",
    ),
    # -- map-drp-steps -----------------------------------------------------------------------
    _case(
        "map-alias-bomb",
        "map-drp-steps",
        "map-drp-steps laughs.yaml DRP-1 0",
        B,
        script_maps.MSG_MAP_NOT_YAML.format(
            path="laughs.yaml", reason="at line 1, column 1: " + MSG_ALIAS_BOMB
        ),
        script_maps.HINT_MAP_NOT_YAML,
        "the map yaml is a yaml alias bomb (billion laughs); every yaml reader refuses one",
    ),
    _case(
        "map-not-found",
        "map-drp-steps",
        "map-drp-steps missing.yaml DRP-1 1",
        B,
        script_maps.MSG_CANNOT_READ_MAP.format(path="missing.yaml", reason="No such file or directory"),
        script_maps.HINT_CANNOT_READ_MAP,
        "the map yaml does not exist",
    ),
    _case(
        "map-not-a-map",
        "map-drp-steps",
        "map-drp-steps list.yaml DRP-1 1",
        B,
        "list.yaml is not a campaign map",
        "e.g. {{step1: [DRP-489,",
        "the map yaml is not step: [...]",
    ),
    _case(
        "map-bad-flag",
        "map-drp-steps",
        "map-drp-steps list.yaml DRP-1 x",
        U,
        "Invalid value for 'CAMPAIGN_FLAG'",
        "give 0 (step map) or 1 (campaign map)",
        "CAMPAIGN_FLAG is not 0 or 1",
        fix_shown=False,
    ),
    # -- tree / show -------------------------------------------------------------------------
    _case(
        "tree-unknown",
        "tree",
        "tree DRP-9",
        B,
        NOT_FOUND,
        NOT_FOUND_FIX,
        "the issue does not exist",
        trackers=BOTH,
    ),
    _case(
        "show-unknown",
        "show",
        "show DRP-9",
        B,
        NOT_FOUND,
        NOT_FOUND_FIX,
        "the issue does not exist",
        trackers=BOTH,
    ),
    _case("show-malformed", "show", "show nonsense", B, MALFORMED_KEY, MALFORMED_KEY_FIX, "KEY is not a key"),
    _case(
        "jira-refused",
        "show",
        "--tracker jira show DRP-1",
        S,
        jira_tracker.MSG_UNREACHABLE.format(jira="{url}", what="connect", reason="connection refused"),
        JIRA_DOWN_FIX,
        "nothing listens at the Jira URL",
        env={"PRODSTAT_JIRA_URL": "{closed}", "PRODSTAT_JIRA_TOKEN": "t"},
    ),
    _case(
        "jira-no-token",
        "show",
        "--tracker jira show DRP-1",
        B,
        jira_tracker.MSG_NO_TOKEN.format(jira="{url}"),
        "set PRODSTAT_JIRA_TOKEN (and PRODSTAT_JIRA_USER for Jira Cloud)",
        "a Jira URL without a token or netrc entry",
        env={"PRODSTAT_JIRA_URL": "{closed}"},
    ),
    _case(
        "jira-no-url",
        "show",
        "--tracker jira show DRP-1",
        B,
        MSG_NO_JIRA_URL,
        HINT_NO_JIRA_URL,
        "--tracker jira without a Jira URL",
    ),
    _case(
        "jira-401",
        "show",
        "show DRP-1",
        S,
        jira_tracker.MSG_CREDENTIALS.format(jira="{url}", who="user {user}"),
        "Jira Cloud needs your e-mail as PRODSTAT_JIRA_USER and an API token as PRODSTAT_JIRA_TOKEN",
        "Jira answers 401 (a wrong or expired token)",
        setup="jira-401",
        trackers=("jira",),
        env=JIRA_ENV,
    ),
    _case(
        "jira-html",
        "show",
        "show DRP-1",
        S,
        "Jira at {url} answered with an HTML page (a login or proxy page?)",
        jira_tracker.HINT_HTML_REPLY,
        "an SSO or proxy login page answers with 200",
        setup="jira-html",
        trackers=("jira",),
        env=JIRA_ENV,
    ),
    _case(
        "jira-5xx",
        "show",
        "show DRP-1",
        S,
        "Jira at {url} is unavailable (HTTP 503, {what}) after 1 retry over",
        jira_tracker.HINT_RETRY_LATER,
        "Jira answers 5xx (or 429) after every retry",
        setup="jira-503",
        trackers=("jira",),
        env=JIRA_ENV,
    ),
    _case(
        "jira-timeout",
        "show",
        "show DRP-1",
        S,
        "Jira at {url} did not answer within 1 s ({what}) after 1 retry over",
        jira_tracker.HINT_TIMEOUT,
        "Jira does not answer within jira_timeout",
        setup="jira-hang",
        trackers=("jira",),
        env=JIRA_ENV,
    ),
    # -- config and global options -----------------------------------------------------------
    _case(
        "setting-timeout",
        "config",
        "config",
        B,
        MSG_BAD_SECONDS.format(name="jira_timeout", value="abc", source="env PRODSTAT_JIRA_TIMEOUT"),
        HINT_BAD_SECONDS,
        "a timeout that is not a positive number",
        env={"PRODSTAT_JIRA_TIMEOUT": "abc"},
    ),
    _case(
        "setting-retries",
        "config",
        "config",
        B,
        MSG_BAD_RETRIES.format(name="jira_retries", value="-1", source="env PRODSTAT_JIRA_RETRIES"),
        HINT_BAD_RETRIES,
        "a retry count that is not a whole number",
        env={"PRODSTAT_JIRA_RETRIES": "-1"},
    ),
    _case(
        "setting-log-level",
        "config",
        "config",
        B,
        MSG_BAD_LOG_LEVEL.format(value="LOUD", source="env PRODSTAT_LOG_LEVEL"),
        HINT_BAD_LOG_LEVEL,
        "an unknown log level",
        env={"PRODSTAT_LOG_LEVEL": "LOUD"},
    ),
    _case(
        "setting-tracker",
        "config",
        "config",
        B,
        MSG_UNKNOWN_TRACKER.format(value="nope", source="env PRODSTAT_TRACKER"),
        HINT_UNKNOWN_TRACKER,
        "an unknown tracker",
        env={"PRODSTAT_TRACKER": "nope"},
    ),
    _case(
        "setting-url",
        "config",
        "config",
        B,
        MSG_BAD_URL.format(name="pandamon_url", value="ftp://x", source="env PANDAMON_URL"),
        "give e.g. https://",
        "a service URL that is not http(s)",
        env={"PANDAMON_URL": "ftp://x"},
    ),
    _case(
        "config-invalid",
        "config",
        "config",
        B,
        MSG_CONFIG_INVALID.format(path="{path}", where=" at line 2"),
        HINT_CONFIG_INVALID,
        "the config file does not parse",
        env={"PRODSTAT_CONFIG": "bad.yaml"},
    ),
    _case(
        "config-unknown-setting",
        "config",
        "config",
        B,
        MSG_UNKNOWN_SETTING.format(path="{path}", names="bogus_key"),
        "known settings are:",
        "the config file names a setting that does not exist",
        env={"PRODSTAT_CONFIG": "unknown.yaml"},
    ),
    _case(
        "config-not-mapping",
        "config",
        "config",
        B,
        MSG_CONFIG_NOT_MAPPING.format(path="{path}", kind="list"),
        HINT_CONFIG_NOT_MAPPING,
        "the config file holds a list",
        env={"PRODSTAT_CONFIG": "list.yaml"},
    ),
    _case(
        "home-unwritable",
        "config",
        "--home /proc/prodstat show DRP-1",
        B,
        "cannot create prodstat home /proc/prodstat",
        HINT_DIR_NOT_WRITABLE,
        "--home cannot be created",
    ),
    _case(
        "home-is-file",
        "config",
        "--home afile show DRP-1",
        U,
        "Invalid value for '--home': Directory 'afile' is a file",
        "give a directory",
        "--home names a file",
        fix_shown=False,
    ),
    # -- parameter-file commands -------------------------------------------------------------
    _case(
        "param-missing",
        "get-panda-stat",
        "get-panda-stat missing.yaml",
        B,
        script_files.MSG_NO_PARAM_FILE.format(given="missing.yaml"),
        PARAM_KEYS_FIX,
        "the parameter file does not exist",
    ),
    _case(
        "param-invalid",
        "get-panda-stat",
        "get-panda-stat bad.yaml",
        B,
        script_files.MSG_PARAM_NOT_YAML.format(path="bad.yaml", reason="at line 2, column 1: {problem}"),
        PARAM_KEYS_FIX,
        "the parameter file does not parse",
    ),
    _case(
        "param-alias-bomb",
        "get-panda-stat",
        "get-panda-stat laughs.yaml",
        B,
        script_files.MSG_PARAM_NOT_YAML.format(
            path="laughs.yaml", reason="at line 1, column 1: " + MSG_ALIAS_BOMB
        ),
        PARAM_KEYS_FIX,
        "the parameter file is a yaml alias bomb",
    ),
    _case(
        "param-lacks-keys",
        "get-panda-stat",
        "get-panda-stat p.yaml",
        B,
        script_files.MSG_PARAM_LACKS.format(path="p.yaml", missing="Jira, collTypes, start_date, stop_date"),
        PARAM_KEYS_FIX,
        "required keys are missing",
    ),
    _case(
        "param-bad-date",
        "get-panda-stat",
        "get-panda-stat baddate.yaml",
        B,
        param_stats.MSG_NOT_A_DATE.format(name="start_date", path="baddate.yaml", value="bad"),
        "give start_date as YYYY-MM-DD",
        "a date that is not YYYY-MM-DD",
        fix_shown=False,
    ),
    _case(
        "butler-param-lacks-keys",
        "get-butler-stat",
        "get-butler-stat p.yaml",
        B,
        script_files.MSG_PARAM_LACKS.format(
            path="p.yaml", missing="Jira, collTypes, start_date, stop_date, Butler"
        ),
        PARAM_KEYS_FIX,
        "required keys are missing",
    ),
    _case(
        "report-to-jira-lacks-keys",
        "report-to-jira",
        "report-to-jira p.yaml",
        B,
        script_files.MSG_PARAM_LACKS.format(path="p.yaml", missing="Jira, comments or attachments"),
        PARAM_KEYS_FIX,
        "required keys are missing",
    ),
    _case(
        "report-to-jira-not-lists",
        "report-to-jira",
        "report-to-jira notlists.yaml",
        B,
        report_to_jira.MSG_NOT_LISTS.format(path="notlists.yaml"),
        PARAM_KEYS_FIX,
        "comments or attachments is not a list",
    ),
    _case(
        "timing-lacks-keys",
        "prep-timing-data",
        "prep-timing-data p.yaml",
        B,
        script_files.MSG_PARAM_LACKS.format(
            path="p.yaml", missing="Jira, job_names, collType, start_date, stop_date"
        ),
        PARAM_KEYS_FIX,
        "required keys are missing",
    ),
    _case(
        "plot-lacks-keys",
        "plot-data",
        "plot-data p.yaml",
        B,
        script_files.MSG_PARAM_LACKS.format(path="p.yaml", missing="Jira, job_names, bin_width"),
        "see 'prodstat prep-timing-data --help'",
        "required keys are missing",
    ),
    _case(
        "plot-bad-bin-width",
        "plot-data",
        "plot-data badbin.yaml",
        B,
        timing.MSG_NOT_A_NUMBER.format(name="bin_width", path="badbin.yaml", positive="positive ", value="x"),
        "see 'prodstat prep-timing-data --help'",
        "bin_width is not a positive number",
    ),
    # -- add-job-to-summary / report / watch -------------------------------------------------
    _case(
        "summary-unknown",
        "add-job-to-summary",
        "add-job-to-summary PREOPS-1 DRP-9",
        B,
        NOT_FOUND,
        NOT_FOUND_FIX,
        "DRP_ISSUE does not exist",
    ),
    _case(
        "summary-not-configured",
        "add-job-to-summary",
        "add-job-to-summary PREOPS-1 DRP-9",
        B,
        summary.NOT_CONFIGURED[0],
        "set summary_issues to the keys of the all-workflows and the step1 summary issues",
        "Jira without the summary_issues setting",
        trackers=("jira",),
    ),
    _case(
        "summary-malformed",
        "add-job-to-summary",
        "add-job-to-summary PREOPS-1 nonsense",
        B,
        MALFORMED_KEY,
        MALFORMED_KEY_FIX,
        "DRP_ISSUE is malformed",
    ),
    _case(
        "report-unknown",
        "report",
        "report DRP-9 --html out.html",
        B,
        report.WHERE_NOT_IN_TRACKER.format(key="DRP-9", tracker="{tracker}")
        + " and "
        + report.NOT_A_REPORT_KEY,
        "give the key of a campaign, step or workflow issue",
        "the key is not an issue prodstat knows",
        trackers=BOTH,
    ),
    _case(
        "report-no-html",
        "report",
        "report DRP-9",
        U,
        "Missing option '--html'",
        "add --html FILE",
        "--html is missing",
        fix_shown=False,
    ),
    _case(
        "watch-unknown",
        "watch",
        "watch DRP-9",
        B,
        NOT_FOUND,
        NOT_FOUND_FIX,
        "the issue does not exist",
        trackers=BOTH,
    ),
    _case(
        "watch-interval",
        "watch",
        "watch DRP-1 --interval 0",
        U,
        "Invalid value for '--interval': 0.0 is not in the range x>=30.0",
        "give --interval of 30 s or more",
        "--interval below 30 s",
        fix_shown=False,
    ),
)
