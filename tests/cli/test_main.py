"""``lsst.prodstatus.cli.main`` in a real process: what Ctrl-C leaves on stderr."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from lsst.prodstatus.cli.main import INTERRUPTED
from lsst.prodstatus.services.tracker.local import LocalTracker
from tests.support.panda_emulator import PandaEmulator

PRODSTAT = [sys.executable, str(Path(__file__).resolve().parents[2] / "bin" / "prodstat")]
BLOCK = (
    "BPS Submit Keywords:\n{code}\n"
    "uniqProcName:2.2i_all_band_1_c_PREOPS-973_20220127T205042Z\n"
    "outputRun:2.2i/all_band_1/c/PREOPS-973/20220127T205042Z\n{code}\n"
)


def test_ctrl_c_while_panda_answers_slowly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tracker = LocalTracker(home, project="DRP")
    try:
        assert tracker.create_issue("step1#c/PREOPS-973/20220127T205042Z", BLOCK).key == "DRP-1"
    finally:
        tracker.close()
    with PandaEmulator(latency=60.0) as panda:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "PRODSTAT_HOME": str(home),
            "PRODSTAT_TRACKER": "local",
            "PANDAMON_URL": panda.url,
            "NETRC": str(tmp_path / "no-netrc"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        }
        proc = subprocess.Popen(
            [*PRODSTAT, "update-stat", "DRP-1", "--no-butler"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while panda.count() == 0 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert panda.count() > 0, "prodstat never asked PanDA"
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (proc.returncode, stdout, stderr) == (130, "", INTERRUPTED + "\n")
    assert time.monotonic() - started < 15  # not the minute PanDA would take
