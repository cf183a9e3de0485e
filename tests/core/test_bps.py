"""Tests of the pure bps helpers: names, placeholders, the original tool's BPS block and its parsers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsst.prodstatus.core.bps import (
    BPS_TIMESTAMP_RE,
    MAX_EXPANDED_LENGTH,
    MSG_EXPANSION_OVERFLOW,
    MSG_PLACEHOLDER_UNRESOLVED,
    ExpansionTooLongError,
    UnresolvedPlaceholderError,
    expand_placeholders,
    is_bps_timestamp,
    keyword_line,
    parse_bps_block,
    parse_data_range,
    parse_summary,
    render_bps_block,
    split_pipeline_yaml,
    uniq_proc_name,
    workflow_label,
    workflow_summary,
)

# The BPS block as the original tool wrote it for the real run PREOPS-973/20220127T205042Z:
# ": " after top-level keys, ":" after payload keys and metrics (its cluster line was a
# Python repr).
REF_BLOCK_LINES = [
    "project: dp02",
    "campaign: v23_0_0_rc5/PREOPS-973",
    "pipelineYaml: ${OBS_LSST_DIR}/pipelines/imsim/DRP.yaml#step1",
    "payloadName:2.2i/all_band_1",
    "butlerConfig:s3://butler-us-central1-panda-dev/dc2/butler-external.yaml",
    "dataQuery:instrument='LSSTCam-imSim' and skymap='DC2' and exposure >=1472 and exposure <= 1502",
    "inCollection:2.2i/defaults",
    "sw_image:lsstsqre/centos:7-stack-lsst_distrib-v23_0_0_rc5",
    "output:{payloadName}/{campaign}",
    "bps_submit_yaml_file: clusttest_all_1.yaml",
    "operator:ehneilsen",
    "uniqProcName:2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z",
    "cluster: {'association': {'dimensions': 'tract,patch', 'pipetasks': 'drpAssociation'}}",
    "computeSite: LSST",
    "queue:DOMA_LSST_GOOGLE_MERGE",
    "qgraphsize:2.9MB",
    "nTotalQuanta:1050",
    "nTotalPanDATasks:5",
    "execbutlersize:6.7MB",
    "timeConstructQGraph:0.0min",
    "timeToFillExecButlerDB:0.0min",
    "pipelineYamlSteps: step1",
]

# A whole description after the original's update-stat: the BPS block, an empty line
# (no Butler table), the PanDA link, the PanDA statistics table and the Status line.
ORIGINAL_DESCRIPTION = (
    "BPS Submit Keywords:\n{code}\n"
    + "".join(f"{line}\n" for line in REF_BLOCK_LINES)
    + "{code}\n"
    + "\n"
    + "PanDA link:https://panda-doma.cern.ch/tasks/?taskname=*20220127t205042z*&date_from=01-01-2022"
    "&days=62&sortby=time-ascending\n"
    " Panda campaign statistics PREOPS-973\n"
    "pandaStat\n"
    "| Workflow Task ||nQuanta||starttime||wallclock||cpu sec/job||cpu-hours||est. parallel jobs||\n"
    "|20220127t205042z_pipetaskInit_777|1.0|2022-01-27 20:57:26|0:02:14|94.0|0:01:34|1|\n"
    "|Campaign|212.0|2026-11-24 08:08:27|0:38:42|-|13:32:35|21|\n"
    "||\n"
    "Status:finished nTasks:3 nFiles:212 nRemain:0 nProc: nFinish:3 nFail:0 nSubFinish:0\n"
)


@pytest.mark.parametrize("text", ["20220127T205042Z", "20991231T235959Z"])
def test_timestamp_accepts(text: str) -> None:
    assert is_bps_timestamp(text)
    assert BPS_TIMESTAMP_RE.match(text)


@pytest.mark.parametrize(
    "text",
    ["20220127t205042z", "2022012T205042Z", "20220127T205042", "x20220127T205042Z", "20220127T205042Z/"],
)
def test_timestamp_rejects(text: str) -> None:
    assert not is_bps_timestamp(text)


def test_expand_placeholders_bps_output() -> None:
    lookup = {"payloadName": "2.2i/all_band_1", "campaign": "v23_0_0_rc5/PREOPS-973"}
    assert expand_placeholders("{payloadName}/{campaign}", lookup) == "2.2i/all_band_1/v23_0_0_rc5/PREOPS-973"


def test_expand_placeholders_recursive_and_callable() -> None:
    values = {"a": "{b}-x", "b": "{c}", "c": 7}
    assert expand_placeholders("<{a}>", values.get) == "<7-x>"


def test_expand_placeholders_leaves_env_vars() -> None:
    assert expand_placeholders("${HOME}/{a}/$USER", {"a": "x"}) == "${HOME}/x/$USER"


def test_expand_placeholders_missing_names_it() -> None:
    with pytest.raises(UnresolvedPlaceholderError) as info:
        expand_placeholders("{payloadName}/{operator}", {"payloadName": "p"})
    assert info.value.name == "operator"
    assert "{operator}" in str(info.value)
    assert str(info.value) == MSG_PLACEHOLDER_UNRESOLVED.format(
        name="operator", template="{payloadName}/{operator}"
    )


def test_expand_placeholders_cycle() -> None:
    with pytest.raises(UnresolvedPlaceholderError) as info:
        expand_placeholders("{a}", {"a": "{b}", "b": "{a}"})
    assert info.value.name == "a"


@given(st.text(alphabet=st.characters(blacklist_characters="{}")))
def test_expand_placeholders_plain_text_unchanged(text: str) -> None:
    assert expand_placeholders(text, {}) == text


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=10),
        min_size=1,
    )
)
def test_expand_placeholders_every_key(values: dict[str, str]) -> None:
    template = "/".join(f"{{{key}}}" for key in values)
    assert expand_placeholders(template, values) == "/".join(values.values())


def test_names() -> None:
    assert (
        uniq_proc_name("2.2i/all_band_1/v23_0_0_rc5/PREOPS-973", "20220127T205042Z")
        == "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"
    )
    assert (
        workflow_summary("step1", "v23_0_0_rc5/PREOPS-973", "20220127t205042z")
        == "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z"
    )
    assert workflow_label("20220127T205042Z") == "prodstat_20220127T205042Z"
    assert " " not in workflow_label("20220127T205042Z")


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        (
            "${OBS_LSST_DIR}/pipelines/imsim/DRP.yaml#step1",
            ("${OBS_LSST_DIR}/pipelines/imsim/DRP.yaml", "step1"),
        ),
        ("a.yaml#b#isr,calibrate", ("a.yaml#b", "isr,calibrate")),
        ("DRP.yaml", ("DRP.yaml", "")),
        ("DRP.yaml#", ("DRP.yaml", "")),
    ],
)
def test_split_pipeline_yaml(pipeline: str, expected: tuple[str, str]) -> None:
    assert split_pipeline_yaml(pipeline) == expected


def test_keyword_line_separators_and_one_line() -> None:
    assert keyword_line("project", "dp02", ": ") == "project: dp02"
    assert keyword_line("payloadName", "2.2i/x") == "payloadName:2.2i/x"
    assert keyword_line("dataQuery", "a and\n  b\n") == "dataQuery:a and b"
    assert keyword_line("pipelineYamlSteps", "", ": ") == "pipelineYamlSteps:"


def test_render_bps_block_exact() -> None:
    assert render_bps_block(["project: dp02", "payloadName:x"]) == (
        "BPS Submit Keywords:\n{code}\nproject: dp02\npayloadName:x\n{code}\n"
    )
    assert render_bps_block([]) == "BPS Submit Keywords:\n{code}\n{code}\n"


def test_parse_summary_ref() -> None:
    assert parse_summary("step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z") == (
        "step1",
        "v23_0_0_rc5/PREOPS-973",
        "20220127T205042Z",
    )


def test_parse_summary_variants() -> None:
    assert parse_summary("step1#w_2022_27/PREOPS-1248/20220728t192631z") == (
        "step1",
        "w_2022_27/PREOPS-1248",
        "20220728T192631Z",
    )
    # The original wrote an empty step cut as "#campaign/TS".
    assert parse_summary("#c/20220728T192631Z") == ("", "c", "20220728T192631Z")
    assert parse_summary("isr,calibrate#c/20220728T192631Z extra") == (
        "isr,calibrate",
        "c",
        "20220728T192631Z",
    )
    assert parse_summary("a new issue") is None
    assert parse_summary("step1#campaign") is None


@given(
    st.from_regex(r"[a-z0-9,_]{0,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_.\-]{1,8}(/[A-Za-z0-9_.\-]{1,8}){0,2}", fullmatch=True),
    st.from_regex(r"20\d{6}T\d{6}Z", fullmatch=True),
)
def test_summary_round_trip(step: str, campaign: str, ts: str) -> None:
    assert parse_summary(workflow_summary(step, campaign, ts)) == (step, campaign, ts)


def test_parse_bps_block_original_description() -> None:
    keywords = parse_bps_block(ORIGINAL_DESCRIPTION)
    assert list(keywords)[:3] == ["project", "campaign", "pipelineYaml"]
    assert keywords["campaign"] == "v23_0_0_rc5/PREOPS-973"
    assert keywords["pipelineYaml"] == "${OBS_LSST_DIR}/pipelines/imsim/DRP.yaml#step1"
    assert keywords["dataQuery"] == (
        "instrument='LSSTCam-imSim' and skymap='DC2' and exposure >=1472 and exposure <= 1502"
    )
    assert keywords["sw_image"] == "lsstsqre/centos:7-stack-lsst_distrib-v23_0_0_rc5"
    assert keywords["output"] == "{payloadName}/{campaign}"
    assert keywords["bps_submit_yaml_file"] == "clusttest_all_1.yaml"
    assert keywords["uniqProcName"] == "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"
    assert keywords["cluster"].startswith("{'association'")
    assert keywords["nTotalQuanta"] == "1050"
    assert keywords["pipelineYamlSteps"] == "step1"
    # Only the block: nothing from the PanDA link or Status line after it.
    assert "PanDA link" not in keywords and "Status" not in keywords
    assert len(keywords) == len(REF_BLOCK_LINES)


def test_parse_bps_block_edge_cases() -> None:
    assert parse_bps_block("no block here") == {}
    assert parse_bps_block("BPS Submit Keywords:\nno fence") == {}
    text = "intro {code}x{code}\nBPS Submit Keywords:\r\n{code}\r\na: 1\r\nno colon\r\nb:2\r\n"
    # Unclosed block: runs to the end; CRLF tolerated; lines without ":" skipped.
    assert parse_bps_block(text) == {"a": "1", "b": "2"}


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
            st.sampled_from([":", ": "]),
            st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=30).map(
                str.strip
            ),
        ),
        unique_by=lambda item: item[0],
        max_size=10,
    )
)
def test_block_round_trip(items: list[tuple[str, str, str]]) -> None:
    lines = [keyword_line(key, value, sep) for key, sep, value in items]
    # {code} inside a value would end the Jira block too; not a value bps produces.
    if any("{code}" in line for line in lines):
        return
    parsed = parse_bps_block("text before\n" + render_bps_block(lines) + "after: x\n")
    assert parsed == {key: value for key, _, value in items}


@pytest.mark.parametrize(
    ("line", "hilow"),
    [
        (
            "dataQuery:instrument='LSSTCam-imSim' and skymap='DC2' and exposure >=1472 and exposure <= 1502",
            "(1472,1502)",
        ),
        ("dataQuery:exposure>= 1472 and exposure<=1502", "(1472,1502)"),
        ("dataQuery:exposure >= 1472  AND  exposure <=  1502", "(1472,1502)"),
        ("dataQuery:instrument='LSSTCam-imSim' and skymap='DC2' and tract in (3828, 3829)", "(3828, 3829)"),
        ("dataQuery:skymap='DC2' and tract=3828", "(3828)"),
        ("dataQuery:skymap='DC2' and tract = 3828", "(3828)"),
        ("dataQuery:tract >=3828 and tract <= 3830", "(3828,3830)"),
        ("dataQuery:visit >= 10 and visit <= 20", "(10,20)"),
        (
            "dataQuery:(detector>=0 and detector<=62) and exposure >=1472 and exposure <= 2060",
            "(1472,2060)d0",
        ),
        (
            "dataQuery:(detector >= 4 and detector <= 6) and exposure >=1472 and exposure <= 1474",
            "(1472,1474)d4",
        ),
        ("dataQuery:instrument='LSSTCam-imSim'", "()"),
        ("dataQuery:subtract in (1)", "()"),
    ],
)
def test_parse_data_range(line: str, hilow: str) -> None:
    assert parse_data_range(f"BPS Submit Keywords:\n{{code}}\n{line}\n{{code}}\n") == hilow


def test_parse_data_range_original_description() -> None:
    assert parse_data_range(ORIGINAL_DESCRIPTION) == "(1472,1502)"
    assert parse_data_range("") == "()"


def test_parse_data_range_later_line_wins() -> None:
    assert parse_data_range("tract in (1, 2)\nexposure >=5 and exposure <=6\n") == "(5,6)"


def test_expand_placeholders_that_double_each_other() -> None:
    # a: "{b}{b}", b: "{c}{c}", ...: never a cycle, but 2**20 copies of the last value.
    values = {f"k{n}": f"{{k{n + 1}}}{{k{n + 1}}}" for n in range(20)} | {"k20": "xy"}
    with pytest.raises(ExpansionTooLongError) as info:
        expand_placeholders("{k0}", values)
    assert str(info.value) == MSG_EXPANSION_OVERFLOW.format(template="{k0}", limit=MAX_EXPANDED_LENGTH)
