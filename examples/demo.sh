#!/usr/bin/env bash
# The seed's sample session (seed/sample.rst) on the embedded local tracker.
# `bps submit` needs a PanDA site, so its submit trees are generated instead.
# Commands of the seed that are not implemented yet are listed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${DEMO_DIR:-$here/demo-work}
rm -rf "$demo"
mkdir -p "$demo"
export PRODSTAT_HOME="$demo/home" PRODSTAT_TRACKER=local
unset PRODSTAT_CONFIG PRODSTAT_JIRA_URL
export XDG_CONFIG_HOME="$demo/config" NETRC="$demo/no-netrc"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

say "python examples/make_sample_campaign.py $demo   # stands in for the three 'bps submit's"
python "$here/examples/make_sample_campaign.py" "$demo"

cd "$demo/work/step1"
run prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0
run prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0 --ts 20220728T192631Z
run prodstat update-issue step1_1248_b.yaml PREOPS-1248 DRP0 --ts 20220729T001725Z
cd ../step2
run prodstat update-issue step2_1248.yaml PREOPS-1248 DRP0 --ts 20220729T142653Z
run prodstat show DRP-1

cat <<'NOTE'

The seed goes on with update-stat, create-campaign-yaml, update-campaign and
map-drp-steps; those commands are not implemented yet in this version.
The local tracker of this demo is in demo-work/home/tracker.sqlite3:
  PRODSTAT_HOME=demo-work/home prodstat show DRP-2
NOTE
