"""Tests of bps submit yaml reading and run discovery (services/submit.py)."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from lsst.prodstatus.core.bps import parse_bps_block, parse_data_range, parse_summary
from lsst.prodstatus.errors import EXIT_BAD_INPUT, InputError
from lsst.prodstatus.services import submit
from lsst.prodstatus.services.submit import (
    HINT_EXPANSION,
    HINT_MISSING_KEYS,
    HINT_NO_RUN,
    HINT_NO_SUBMIT_DIR,
    HINT_NOT_OWN_RUN,
    HINT_PLACEHOLDER,
    HINT_TS_NOT_FOUND,
    HINT_YAML_INVALID,
    HINT_YAML_NOT_FOUND,
    MSG_BAD_TIMESTAMP,
    MSG_EXPANSION_TOO_LONG,
    MSG_INCLUDE_INVALID,
    MSG_MISSING_KEYS,
    MSG_NO_RUN,
    MSG_NO_SUBMIT_DIR,
    MSG_NOT_MAPPING,
    MSG_NOT_OWN_RUN,
    MSG_PAYLOAD_NOT_MAPPING,
    MSG_PLACEHOLDER,
    MSG_TS_NOT_FOUND,
    MSG_YAML_INVALID,
    MSG_YAML_IS_DIR,
    MSG_YAML_NOT_FOUND,
    MSG_YAML_NOT_REGULAR,
    REASON_HOLDS,
    REASON_NOT_UTF8,
    REASON_YAML_AT,
    WARN_EXPANDED_NOT_MAPPING,
    WARN_EXPANDED_UNREADABLE,
    SubmitRun,
    find_run,
    load_submit_config,
)
from tests.core.test_bps import REF_BLOCK_LINES
from tests.services.messages import ANY, message_re
from tests.support.submit_trees import make_sample_campaign, make_submit_tree

REAL_TS = "20220127T205042Z"
REAL_UNIQ = "2.2i_all_band_1_v23_0_0_rc5_PREOPS-973_20220127T205042Z"
SAMPLE_OUTPUT = "2.2i/runs/test-med-1/w_2022_27/PREOPS-1248"


def lines(run: SubmitRun) -> dict[str, str]:
    """Keyword name → line."""
    return dict(run.keywords)


def raises(match: str) -> Any:
    """``pytest.raises(InputError, match=...)``: every bad input is an `InputError`."""
    return pytest.raises(InputError, match=match)


# --- the real submit tree of the original tool's tests -------------------------------


@pytest.fixture(scope="module")
def testdrp(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``testdrp.tgz`` extracted once; tests must not modify it."""
    root = tmp_path_factory.mktemp("testdrp")
    with tarfile.open(shared_data / "reference" / "testdrp.tgz") as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse unsafe members
            archive.extractall(root, filter="data")
        else:
            archive.extractall(root)
    return root / "testdrp"


def check_real_run(run: SubmitRun, testdrp: Path, given: str) -> None:
    assert run.timestamp == REAL_TS
    assert run.uniq_proc_name == REAL_UNIQ
    assert run.output == "2.2i/all_band_1/v23_0_0_rc5/PREOPS-973"
    assert run.run_dir == testdrp / "submit" / run.output / REAL_TS
    assert run.yaml_path == testdrp / "clusttest_all_1.yaml"
    assert run.given_path == given
    assert run.step == "step1"
    assert run.campaign == "v23_0_0_rc5/PREOPS-973"
    assert run.workflow_id.summary == "step1#v23_0_0_rc5/PREOPS-973/20220127T205042Z"
    assert run.workflow_id.labels[0] == "prodstat_20220127T205042Z"
    assert run.output_run == f"{run.output}/{REAL_TS}"
    assert run.warnings == []
    assert run.yaml_copy == run.run_dir / "clusttest_all_1.yaml"
    kw = lines(run)
    assert kw["nTotalQuanta"] == "nTotalQuanta:1050"
    assert kw["nTotalPanDATasks"] == "nTotalPanDATasks:5"
    assert kw["qgraphsize"] == "qgraphsize:2.9MB"
    assert kw["execbutlersize"] == "execbutlersize:6.7MB"
    assert kw["operator"] == "operator:ehneilsen"


def test_real_tree_relative(testdrp: Path) -> None:
    run = find_run("clusttest_all_1.yaml", cwd=testdrp)
    check_real_run(run, testdrp, "clusttest_all_1.yaml")


def test_real_tree_relative_from_process_cwd(testdrp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(testdrp)
    check_real_run(find_run("clusttest_all_1.yaml"), testdrp, "clusttest_all_1.yaml")


def test_real_tree_relative_from_parent(testdrp: Path) -> None:
    run = find_run("testdrp/clusttest_all_1.yaml", cwd=testdrp.parent)
    check_real_run(run, testdrp, "testdrp/clusttest_all_1.yaml")


def test_real_tree_absolute(testdrp: Path, tmp_path: Path) -> None:
    given = str(testdrp / "clusttest_all_1.yaml")
    run = find_run(given, cwd=tmp_path)  # cwd must not matter
    check_real_run(run, testdrp, given)
    # The file name, not the path as typed: the issue must not depend on where prodstat ran.
    assert lines(run)["bps_submit_yaml_file"] == "bps_submit_yaml_file: clusttest_all_1.yaml"


def test_real_tree_ts_any_case(testdrp: Path) -> None:
    assert find_run("clusttest_all_1.yaml", "20220127t205042z", cwd=testdrp).timestamp == REAL_TS


def test_real_tree_ref_block(testdrp: Path) -> None:
    run = find_run("clusttest_all_1.yaml", cwd=testdrp)
    got = run.keyword_lines
    # The original tool's lines first, in its order; then our additions.
    assert [name for name, _ in run.keywords][len(REF_BLOCK_LINES) :] == ["outputRun"]
    assert got[-1] == f"outputRun:2.2i/all_band_1/v23_0_0_rc5/PREOPS-973/{REAL_TS}"
    for ours, ref in zip(got, REF_BLOCK_LINES, strict=False):
        if ref.startswith("cluster: "):
            assert ours.startswith("cluster: {")
            assert "\n" not in ours
            # One line of flow yaml holding the whole cluster dict of the expanded config.
            assert run.expanded_config is not None
            assert yaml.safe_load(ours.removeprefix("cluster: ")) == run.expanded_config["cluster"]
        else:
            assert ours == ref
    block = run.bps_block
    assert block.startswith("BPS Submit Keywords:\n{code}\nproject: dp02\n")
    assert block.endswith("{code}\n")
    parsed = parse_bps_block(block)
    assert parsed["uniqProcName"] == REAL_UNIQ
    assert parsed["queue"] == "DOMA_LSST_GOOGLE_MERGE"
    assert parse_data_range(block) == "(1472,1502)"
    assert parse_summary(run.workflow_id.summary) == ("step1", "v23_0_0_rc5/PREOPS-973", REAL_TS)


def test_real_tree_no_includes_found(testdrp: Path) -> None:
    # clusttest_all_1.yaml includes ${CTRL_BPS_DIR}/config/bps_idf.yaml (unset here),
    # requestMemory.yaml and clustering.yaml (both next to it).
    run = find_run("clusttest_all_1.yaml", cwd=testdrp)
    assert run.config["clusterAlgorithm"].endswith("dimension_clustering")
    assert "visit_detector_1" in run.config["cluster"]
    assert run.config["pipetask"]["makeWarp"]["requestMemory"] == 8192


def test_real_tree_other_yaml_has_no_run(testdrp: Path) -> None:
    with raises(message_re(MSG_NO_RUN, HINT_NO_RUN, given="clusttest_all_2.yaml", found="none")) as info:
        find_run("clusttest_all_2.yaml", cwd=testdrp)
    assert "all_band_2" in info.value.message


def test_real_tree_wrong_ts(testdrp: Path) -> None:
    with raises(
        message_re(
            MSG_TS_NOT_FOUND,
            HINT_TS_NOT_FOUND,
            ts="20220101T000000Z",
            given="clusttest_all_1.yaml",
            found=REAL_TS,
        )
    ):
        find_run("clusttest_all_1.yaml", "20220101T000000Z", cwd=testdrp)


# --- the real DP0.2 submit yamls -------------------------------------------------------


def test_dp02_yamls(shared_data: Path, tmp_path: Path) -> None:
    dp02 = shared_data / "dp02"
    work = tmp_path / "med"
    shutil.copytree(dp02 / "test-med-1-PREOPS-1248", work)
    # step1.yaml includes ./step1/requestMemory.yaml, which does not exist: skipped.
    raw, merged = load_submit_config(work / "step1.yaml")
    assert "pipetask" not in merged
    assert raw["campaign"] == merged["campaign"] == "w_2022_27/PREOPS-1248"
    with raises(
        message_re(MSG_NO_SUBMIT_DIR, HINT_NO_SUBMIT_DIR, given="step1.yaml", searched=work / "submit")
    ):
        find_run("step1.yaml", cwd=work)
    (work / "step1").mkdir()
    shutil.copy(work / "requestMemory.yaml", work / "step1" / "requestMemory.yaml")
    _, merged = load_submit_config(work / "step1.yaml")
    assert merged["pipetask"]["TE1"]["requestMemory"] == 46000

    prod = tmp_path / "prod"
    shutil.copytree(dp02 / "production-step1", prod)
    _, merged = load_submit_config(prod / "step1_detectors0_62.yaml")
    assert "visit_focal_plane_1" in merged["cluster"]
    assert merged["saveClusteredQgraph"] is True


# --- generated trees: run discovery ----------------------------------------------------


def test_newest_run_and_ts(tmp_path: Path) -> None:
    tss = ["20220728T192631Z", "20220801T000000Z", "20220729T001725Z"]
    make_submit_tree(tmp_path, timestamps=tss, extra_dirs=["latest", "2099", "20991231T000000Z.bak"])
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.timestamp == "20220801T000000Z"
    assert run.timestamps == sorted(tss)
    assert run.searched == [str(tmp_path / "submit" / SAMPLE_OUTPUT)]
    assert find_run("step1_1248.yaml", "20220728t192631z", cwd=tmp_path).timestamp == "20220728T192631Z"
    assert find_run("step1_1248.yaml", " 20220729T001725Z ", cwd=tmp_path).timestamp == "20220729T001725Z"


def test_shared_output_prefers_own_run(tmp_path: Path) -> None:
    trees = make_sample_campaign(tmp_path)
    step1 = tmp_path / "work" / "step1"
    own = find_run("step1_1248.yaml", cwd=step1)
    # The newer run of step1_1248_b.yaml shares the output but is not this yaml's.
    assert own.timestamp == "20220728T192631Z"
    assert own.warnings == []
    assert own.run_dir == trees["step1_1248"].runs["20220728T192631Z"].run_dir
    assert own.timestamps == ["20220728T192631Z", "20220729T001725Z"]
    assert find_run("step1_1248_b.yaml", cwd=step1).timestamp == "20220729T001725Z"
    # --ts picks any run under the output, as in the original.
    assert find_run("step1_1248.yaml", "20220729T001725Z", cwd=step1).timestamp == "20220729T001725Z"


def test_a_run_without_a_copy_of_the_yaml_is_not_its_run(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, "a.yaml", timestamps=["20220728T192631Z"])
    make_submit_tree(tmp_path, "b.yaml", timestamps=["20220729T001725Z"], missing={"yaml_copy"})
    with pytest.raises(InputError) as info:
        find_run("b.yaml", cwd=tmp_path)
    assert info.value.message == MSG_NOT_OWN_RUN.format(
        yaml="b.yaml",
        root=tmp_path / "submit" / SAMPLE_OUTPUT,
        runs="20220728T192631Z (a.yaml), 20220729T001725Z (no submit yaml copy)",
    )
    assert info.value.hint == HINT_NOT_OWN_RUN.format(yaml="b.yaml")
    # --ts names the run: taken as given.
    run = find_run("b.yaml", "20220729T001725Z", cwd=tmp_path)
    assert run.timestamp == "20220729T001725Z" and run.yaml_copy is None
    # A yaml with no run of its own at all is refused the same way.
    make_submit_tree(tmp_path, "c.yaml", timestamps=[])
    with raises(message_re(MSG_NOT_OWN_RUN, HINT_NOT_OWN_RUN.format(yaml="c.yaml"), yaml="c.yaml")):
        find_run("c.yaml", cwd=tmp_path)


def test_sample_campaign(tmp_path: Path) -> None:
    make_sample_campaign(tmp_path)
    step1 = tmp_path / "work" / "step1"
    step2 = tmp_path / "work" / "step2"
    run = find_run("step1_1248.yaml", cwd=step1)
    assert run.workflow_id.summary == "step1#w_2022_27/PREOPS-1248/20220728T192631Z"
    assert run.uniq_proc_name == "2.2i_runs_test-med-1_w_2022_27_PREOPS-1248_20220728T192631Z"
    assert parse_data_range(run.bps_block) == "(1472,1474)d0"
    run_b = find_run("step1_1248_b.yaml", "20220729T001725Z", cwd=step1)
    assert parse_data_range(run_b.bps_block) == "(1472,1474)d4"
    assert lines(run_b)["nTotalQuanta"] == "nTotalQuanta:21"
    run2 = find_run("step2_1248.yaml", "20220729T142653Z", cwd=step2)
    assert run2.workflow_id.summary == "step2#w_2022_27/PREOPS-1248/20220729T142653Z"
    assert lines(run2)["pipelineYamlSteps"] == "pipelineYamlSteps: step2"
    # From work/, as a relative path with a directory part.
    assert find_run("step2/step2_1248.yaml", cwd=tmp_path / "work").run_dir == run2.run_dir


# --- generated trees: keywords -----------------------------------------------------------


def test_full_keywords_qgraph_layout(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, extra={"extraQgraphOptions": "--skip-existing-in x"}, operator="someone")
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert [name for name, _ in run.keywords] == [
        "project",
        "campaign",
        "pipelineYaml",
        "payloadName",
        "butlerConfig",
        "dataQuery",
        "inCollection",
        "sw_image",
        "output",
        "extraQgraphOptions",
        "bps_submit_yaml_file",
        "operator",
        "uniqProcName",
        "cluster",
        "computeSite",
        "queue",
        "qgraphsize",
        "nTotalQuanta",
        "nTotalPanDATasks",
        "execbutlersize",
        "timeConstructQGraph",
        "timeToFillExecButlerDB",
        "pipelineYamlSteps",
        "outputRun",
    ]
    kw = lines(run)
    assert kw["extraQgraphOptions"] == "extraQgraphOptions: --skip-existing-in x"
    assert kw["operator"] == "operator:someone"
    assert (
        kw["cluster"]
        == "cluster: {visit_detector_1: {dimensions: 'visit,detector', pipetasks: 'isr,calibrate'}}"
    )
    assert kw["computeSite"] == "computeSite: LSST"
    assert kw["queue"] == "queue:DOMA_LSST_GOOGLE_MERGE"
    assert kw["timeConstructQGraph"] == "timeConstructQGraph:1.5min"
    assert kw["timeToFillExecButlerDB"] == "timeToFillExecButlerDB:2.0min"
    assert (
        kw["dataQuery"] == "dataQuery:instrument='LSSTCam-imSim' and skymap='DC2' and tract in (3828, 3829)"
    )


def test_qg_layout_without_exec_butler(tmp_path: Path) -> None:
    make_submit_tree(
        tmp_path, layout="qg", exec_butler=False, n_quanta=1, n_tasks=1, qgraph_bytes=149_999, queue="milano"
    )
    kw = lines(find_run("step1_1248.yaml", cwd=tmp_path))
    assert kw["qgraphsize"] == "qgraphsize:0.1MB"
    assert kw["nTotalQuanta"] == "nTotalQuanta:1"
    assert kw["nTotalPanDATasks"] == "nTotalPanDATasks:1"
    assert kw["computeSite"] == "computeSite: SLAC"
    assert kw["queue"] == "queue:milano"
    assert "execbutlersize" not in kw and "timeToFillExecButlerDB" not in kw
    assert kw["timeConstructQGraph"] == "timeConstructQGraph:1.5min"


def test_qg_layout_plural_wording(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, layout="qg", exec_butler=False, n_quanta=123456, n_tasks=42)
    kw = lines(find_run("step1_1248.yaml", cwd=tmp_path))
    assert kw["nTotalQuanta"] == "nTotalQuanta:123456"
    assert kw["nTotalPanDATasks"] == "nTotalPanDATasks:42"


def test_time_falls_back_to_yaml_copy(tmp_path: Path) -> None:
    mtimes = {"yaml_copy": 0, "config": 30, "out": 150, "exec_butler": 150}
    make_submit_tree(tmp_path, "with.yaml", mtimes=mtimes)
    assert lines(find_run("with.yaml", cwd=tmp_path))["timeConstructQGraph"] == "timeConstructQGraph:2.0min"
    make_submit_tree(tmp_path / "other", "without.yaml", mtimes=mtimes, missing={"config"})
    kw = lines(find_run("without.yaml", cwd=tmp_path / "other"))
    assert kw["timeConstructQGraph"] == "timeConstructQGraph:2.5min"
    assert kw["timeToFillExecButlerDB"] == "timeToFillExecButlerDB:0.0min"


@pytest.mark.parametrize(
    ("missing", "absent"),
    [
        ({"config"}, {"operator", "cluster", "computeSite", "queue"}),
        ({"qgraph"}, {"qgraphsize"}),
        ({"out"}, {"nTotalQuanta", "nTotalPanDATasks", "timeConstructQGraph", "timeToFillExecButlerDB"}),
        ({"exec_butler"}, {"execbutlersize", "timeToFillExecButlerDB"}),
        ({"yaml_copy"}, set()),
        ({"config", "yaml_copy"}, {"operator", "cluster", "computeSite", "queue", "timeConstructQGraph"}),
        (
            {"config", "yaml_copy", "qgraph", "out", "exec_butler"},
            {
                "operator",
                "cluster",
                "computeSite",
                "queue",
                "qgraphsize",
                "nTotalQuanta",
                "nTotalPanDATasks",
                "execbutlersize",
                "timeConstructQGraph",
                "timeToFillExecButlerDB",
            },
        ),
    ],
)
def test_missing_optional_files(tmp_path: Path, missing: set[str], absent: set[str]) -> None:
    make_submit_tree(tmp_path, missing=missing)
    # Without its yaml copy a run is only this yaml's when --ts names it.
    run = find_run("step1_1248.yaml", "20220728T192631Z" if "yaml_copy" in missing else None, cwd=tmp_path)
    full = {
        "operator",
        "cluster",
        "computeSite",
        "queue",
        "qgraphsize",
        "nTotalQuanta",
        "nTotalPanDATasks",
        "execbutlersize",
        "timeConstructQGraph",
        "timeToFillExecButlerDB",
    }
    names = [name for name, _ in run.keywords]
    assert set(names) & full == full - absent
    # Always there: the submit keys, the identity and the step.
    for name in ("campaign", "output", "bps_submit_yaml_file", "uniqProcName", "pipelineYamlSteps"):
        assert name in names
    assert run.uniq_proc_name == f"{SAMPLE_OUTPUT}_20220728T192631Z".replace("/", "_")


def test_out_without_quanta_line(tmp_path: Path) -> None:
    tree = make_submit_tree(tmp_path)
    tree.runs["20220728T192631Z"].out.write_text("ERROR: qgraph failed\n", encoding="utf-8")
    kw = lines(find_run("step1_1248.yaml", cwd=tmp_path))
    assert "nTotalQuanta" not in kw and "nTotalPanDATasks" not in kw


def test_broken_expanded_config_is_a_warning(tmp_path: Path) -> None:
    tree = make_submit_tree(tmp_path)
    tree.runs["20220728T192631Z"].config.write_text("a: [unclosed\n", encoding="utf-8")
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.expanded_config is None
    assert "operator" not in lines(run)
    assert any("not read" in w for w in run.warnings)
    unreadable = WARN_EXPANDED_UNREADABLE.format(path=tree.runs["20220728T192631Z"].config, error="")
    assert any(w.startswith(unreadable) for w in run.warnings)


def test_uniq_proc_name_from_expanded_config(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, uniq="custom_name_20220728T192631Z")
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.uniq_proc_name == "custom_name_20220728T192631Z"
    kw = lines(run)
    assert kw["uniqProcName"] == "uniqProcName:custom_name_20220728T192631Z"
    assert kw["qgraphsize"] == "qgraphsize:2.9MB"
    assert kw["execbutlersize"] == "execbutlersize:6.7MB"


def test_missing_optional_payload_keys_omitted(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, omit={"payload.sw_image", "payload.inCollection", "project"})
    names = [name for name, _ in find_run("step1_1248.yaml", cwd=tmp_path).keywords]
    assert "sw_image" not in names and "inCollection" not in names and "project" not in names
    assert names[:4] == ["campaign", "pipelineYaml", "payloadName", "butlerConfig"]


def test_top_keys_in_file_order(tmp_path: Path) -> None:
    tree = make_submit_tree(tmp_path)
    data = yaml.safe_load(tree.yaml_path.read_text())
    reordered = {
        "payload": data["payload"],
        "pipelineYaml": data["pipelineYaml"],
        "campaign": data["campaign"],
    }
    tree.yaml_path.write_text(yaml.safe_dump(reordered, sort_keys=False))
    names = [name for name, _ in find_run("step1_1248.yaml", cwd=tmp_path).keywords]
    assert names[:8] == [
        "payloadName",
        "butlerConfig",
        "dataQuery",
        "inCollection",
        "sw_image",
        "output",
        "pipelineYaml",
        "campaign",
    ]


def test_empty_step_cut(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, step="")
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.step == ""
    assert run.workflow_id.summary == "#w_2022_27/PREOPS-1248/20220728T192631Z"
    assert lines(run)["pipelineYamlSteps"] == "pipelineYamlSteps:"


# --- generated trees: includes and placeholders ------------------------------------------


def test_key_only_in_include(tmp_path: Path) -> None:
    make_submit_tree(
        tmp_path,
        omit={"campaign", "payload.butlerConfig"},
        includes={
            "site.yaml": {"campaign": "w_2022_27/PREOPS-1248", "payload": {"butlerConfig": "/repo/main"}},
            "override.yaml": {"project": "ignored", "payload": {"payloadName": "ignored"}},
        },
    )
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.campaign == "w_2022_27/PREOPS-1248"
    assert run.output == SAMPLE_OUTPUT  # output used the include's campaign
    kw = lines(run)
    assert kw["butlerConfig"] == "butlerConfig:/repo/main"
    assert kw["project"] == "project: dp02"  # the yaml's own keys win
    assert kw["payloadName"] == "payloadName:2.2i/runs/test-med-1"
    names = [name for name, _ in run.keywords]
    # Keys defined only in includes follow the yaml's own keys.
    assert names.index("campaign") > names.index("output")


def test_include_env_var_and_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "bps_idf.yaml").write_text("includeConfigs: [nested.yaml]\ncomputeSite: LSST\n")
    (site / "nested.yaml").write_text("extraQgraphOptions: --nested\nincludeConfigs: [bps_idf.yaml]\n")
    work = tmp_path / "work"
    make_submit_tree(
        work, unresolved_includes=["${SITE_DIR}/bps_idf.yaml", "$SITE_DIR/nested.yaml", "nope.yaml"]
    )
    monkeypatch.delenv("SITE_DIR", raising=False)
    _, merged = load_submit_config(work / "step1_1248.yaml")
    assert "computeSite" not in merged  # unset variable: skipped silently
    monkeypatch.setenv("SITE_DIR", str(site))
    _, merged = load_submit_config(work / "step1_1248.yaml")
    assert merged["computeSite"] == "LSST"
    assert merged["extraQgraphOptions"] == "--nested"


def test_include_invalid(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, includes={"bad.yaml": {"x": 1}})
    (tmp_path / "bad.yaml").write_text("- a list\n")
    bad, including = tmp_path / "bad.yaml", tmp_path / "step1_1248.yaml"
    with raises(
        message_re(MSG_INCLUDE_INVALID, include=bad, path=including, error=REASON_HOLDS.format(kind="list"))
    ):
        find_run("step1_1248.yaml", cwd=tmp_path)
    (tmp_path / "bad.yaml").write_text("a: [\n")
    at = REASON_YAML_AT.format(problem=ANY, line=2, column=1)
    with raises(message_re(MSG_INCLUDE_INVALID, include=bad, path=including, error=at)):
        find_run("step1_1248.yaml", cwd=tmp_path)


def test_output_placeholders_recursive(tmp_path: Path) -> None:
    make_submit_tree(
        tmp_path,
        output_template="{payloadName}/{stage}",
        payload_extra={"stage": "{campaign}/x"},
        timestamps=[],
    )
    root = tmp_path / "submit" / "2.2i/runs/test-med-1/w_2022_27/PREOPS-1248/x" / "20220728T192631Z"
    root.mkdir(parents=True)
    (root / "step1_1248.yaml").write_text((tmp_path / "step1_1248.yaml").read_text())
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.output == "2.2i/runs/test-med-1/w_2022_27/PREOPS-1248/x"
    assert lines(run)["output"] == "output:{payloadName}/{stage}"  # raw in the block
    assert lines(run)["outputRun"] == f"outputRun:{run.output}/20220728T192631Z"


def test_output_operator_defaults_to_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submit.getpass, "getuser", lambda: "jdoe")
    make_submit_tree(tmp_path, output_template="u/{operator}/{payloadName}", timestamps=[])
    run_dir = tmp_path / "submit" / "u/jdoe/2.2i/runs/test-med-1" / "20220728T192631Z"
    run_dir.mkdir(parents=True)
    (run_dir / "step1_1248.yaml").write_text((tmp_path / "step1_1248.yaml").read_text())
    assert find_run("step1_1248.yaml", cwd=tmp_path).output == "u/jdoe/2.2i/runs/test-med-1"


def test_output_placeholder_unknown(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, output_template="{payloadName}/{nosuchkey}", timestamps=[])
    with raises(
        message_re(
            MSG_PLACEHOLDER,
            HINT_PLACEHOLDER.format(name="nosuchkey"),
            name="nosuchkey",
            template="{payloadName}/{nosuchkey}",
            path=tmp_path / "step1_1248.yaml",
        )
    ):
        find_run("step1_1248.yaml", cwd=tmp_path)


# --- bad input --------------------------------------------------------------------------


def test_yaml_not_found(tmp_path: Path) -> None:
    with raises(
        message_re(MSG_YAML_NOT_FOUND, HINT_YAML_NOT_FOUND, given="nope.yaml", path=tmp_path / "nope.yaml")
    ) as info:
        find_run("nope.yaml", cwd=tmp_path)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in str(info.value)


def test_yaml_is_directory(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with raises(message_re(MSG_YAML_IS_DIR, HINT_YAML_NOT_FOUND, given="d.yaml", path=tmp_path / "d.yaml")):
        find_run("d.yaml", cwd=tmp_path)


def test_yaml_invalid(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("payload: {output: [\n")
    at = REASON_YAML_AT.format(problem=ANY, line=2, column=1)
    with raises(
        message_re(MSG_YAML_INVALID, HINT_YAML_INVALID, path=tmp_path / "bad.yaml", error=at)
    ) as info:
        find_run("bad.yaml", cwd=tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "empty document")]
)
def test_yaml_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    (tmp_path / "x.yaml").write_text(text)
    with raises(message_re(MSG_NOT_MAPPING, path=tmp_path / "x.yaml", kind=kind)):
        find_run("x.yaml", cwd=tmp_path)


@pytest.mark.parametrize(
    ("omit", "keys"),
    [
        ({"payload.output"}, "payload.output"),
        ({"campaign"}, "campaign"),
        ({"pipelineYaml"}, "pipelineYaml"),
        ({"payload"}, "payload (with payload.output)"),
        ({"payload.output", "campaign", "pipelineYaml"}, "payload.output, campaign, pipelineYaml"),
    ],
)
def test_missing_required_keys(tmp_path: Path, omit: set[str], keys: str) -> None:
    make_submit_tree(tmp_path, omit=omit)
    with raises(
        message_re(MSG_MISSING_KEYS, HINT_MISSING_KEYS, path=tmp_path / "step1_1248.yaml", keys=keys)
    ):
        find_run("step1_1248.yaml", cwd=tmp_path)


def test_payload_not_mapping(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("campaign: c\npipelineYaml: p#s\npayload: [1, 2]\n")
    with raises(message_re(MSG_PAYLOAD_NOT_MAPPING, path=tmp_path / "p.yaml", kind="list")):
        find_run("p.yaml", cwd=tmp_path)


@pytest.mark.parametrize(
    "ts", ["0", "2022-07-28T19:26:31Z", "20220728T192631", "20220728T1926310Z", "latest"]
)
def test_malformed_ts(tmp_path: Path, ts: str) -> None:
    make_submit_tree(tmp_path)
    with raises(message_re(MSG_BAD_TIMESTAMP, ts=ts)):
        find_run("step1_1248.yaml", ts, cwd=tmp_path)


def test_no_submit_dir(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, timestamps=[])
    with raises(
        message_re(
            MSG_NO_SUBMIT_DIR, HINT_NO_SUBMIT_DIR, given="step1_1248.yaml", searched=tmp_path / "submit"
        )
    ):
        find_run("step1_1248.yaml", cwd=tmp_path)


def test_no_run_at_all(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, timestamps=[], extra_dirs=["not-a-run"])
    searched = tmp_path / "submit" / SAMPLE_OUTPUT
    with raises(
        message_re(MSG_NO_RUN, HINT_NO_RUN, given="step1_1248.yaml", searched=searched, found="none")
    ):
        find_run("step1_1248.yaml", cwd=tmp_path)


def test_ts_not_found_lists_timestamps(tmp_path: Path) -> None:
    make_submit_tree(tmp_path, timestamps=["20220728T192631Z", "20220729T001725Z"])
    with raises(
        message_re(
            MSG_TS_NOT_FOUND,
            HINT_TS_NOT_FOUND,
            ts="20220101T000000Z",
            given="step1_1248.yaml",
            searched=tmp_path / "submit" / SAMPLE_OUTPUT,
            found="20220728T192631Z, 20220729T001725Z",
        )
    ):
        find_run("step1_1248.yaml", "20220101t000000z", cwd=tmp_path)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = make_submit_tree(tmp_path / "a")
    b = make_submit_tree(tmp_path / "b")
    ra, rb = a.runs["20220728T192631Z"], b.runs["20220728T192631Z"]
    for kind in ("yaml_copy", "config", "qgraph", "out"):
        pa, pb = getattr(ra, kind), getattr(rb, kind)
        assert os.stat(pa).st_mtime == os.stat(pb).st_mtime
        assert pa.read_bytes().replace(b"/a/", b"/b/") == pb.read_bytes()


def test_hostile_submit_yamls_fail_fast(tmp_path: Path) -> None:
    import os

    make_submit_tree(tmp_path)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with raises(message_re(MSG_YAML_NOT_REGULAR, HINT_YAML_NOT_FOUND, given="pipe.yaml", path=fifo)):
        find_run("pipe.yaml", cwd=tmp_path)
    # Keys that double each other: refused at once, not after filling the disk's name limit.
    levels = {f"k{i}": f"{{k{i + 1}}}{{k{i + 1}}}" for i in range(40)}
    levels["k40"] = "x"
    make_submit_tree(tmp_path / "bomb", output_template="{k0}", payload_extra=levels, timestamps=[])
    bomb = message_re(
        MSG_EXPANSION_TOO_LONG, HINT_EXPANSION, template="{k0}", path=tmp_path / "bomb" / "step1_1248.yaml"
    )
    with raises(bomb):
        find_run("step1_1248.yaml", cwd=tmp_path / "bomb")
    levels["k40"] = ""  # doubling down to nothing: bounded by the number of substitutions
    make_submit_tree(tmp_path / "empty", output_template="{k0}", payload_extra=levels, timestamps=[])
    with raises(
        message_re(
            MSG_EXPANSION_TOO_LONG,
            HINT_EXPANSION,
            template="{k0}",
            path=tmp_path / "empty" / "step1_1248.yaml",
        )
    ):
        find_run("step1_1248.yaml", cwd=tmp_path / "empty")


def test_expanded_config_that_is_not_a_mapping_is_a_warning(tmp_path: Path) -> None:
    tree = make_submit_tree(tmp_path)
    config = tree.runs["20220728T192631Z"].config
    config.write_text("- a list\n- not a config\n", encoding="utf-8")
    run = find_run("step1_1248.yaml", cwd=tmp_path)
    assert run.expanded_config is None
    assert WARN_EXPANDED_NOT_MAPPING.format(path=config) in run.warnings


def test_yaml_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"payload:\n  payloadName: caf\xe9\n")
    not_utf8 = REASON_NOT_UTF8.format(byte=len(b"payload:\n  payloadName: caf"))
    with raises(
        message_re(MSG_YAML_INVALID, HINT_YAML_INVALID, path=tmp_path / "latin1.yaml", error=not_utf8)
    ):
        find_run("latin1.yaml", cwd=tmp_path)
