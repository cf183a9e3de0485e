#!/usr/bin/env bash
# The seed's sample session (doc/sample-campaign.rst), start to end, on the embedded local tracker.
# `bps submit` needs a PanDA site: examples/demo_services.py writes the submit trees it would
# have made, a Butler repository per workflow, and serves the workflows from a loopback
# PanDA monitor emulator. Keys are taken from each command's `issue:KEY` line, as an
# operator's script would (a fresh tracker numbers them DRP-1, DRP-2, ... not DRP-486 ...).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${DEMO_DIR:-$here/demo-work}
rm -rf "$demo"
mkdir -p "$demo"
export PRODSTAT_HOME="$demo/home" PRODSTAT_TRACKER=local
unset PRODSTAT_CONFIG PRODSTAT_JIRA_URL PANDABASEURL
export XDG_CONFIG_HOME="$demo/config" NETRC="$demo/no-netrc"
# An XDG_CONFIG_HOME that does not exist makes astropy (under the Butler) warn on every run.
mkdir -p "$XDG_CONFIG_HOME"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }
# run a command, show its output, and remember its issue key in $KEY
keyed() { say "$*"; local out; out=$("$@"); printf '%s\n' "$out"; KEY=$(printf '%s\n' "$out" | sed -n 's/^issue://p'); }

say "python examples/demo_services.py $demo &   # stands in for bps submit, PanDA and the Butler"
python "$here/examples/demo_services.py" "$demo" > "$demo/services.log" 2>&1 &
services=$!
trap 'kill $services 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do [ -s "$demo/pandamon-url" ] && break; sleep 0.5; done
[ -s "$demo/pandamon-url" ] || { cat "$demo/services.log"; echo "demo services did not start" >&2; exit 1; }
export PANDAMON_URL=$(cat "$demo/pandamon-url")
cat "$demo/services.log"

cd "$demo/work/step1"
keyed prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0
run prodstat update-issue step1_1248.yaml PREOPS-1248 DRP0 --ts 20220728T192631Z
wf1=$KEY
run prodstat update-stat PREOPS-1248 "$wf1"
keyed prodstat update-issue step1_1248_b.yaml PREOPS-1248 DRP0 --ts 20220729T001725Z
wf2=$KEY
run prodstat update-stat PREOPS-1248 "$wf2"
cd ../step2
keyed prodstat update-issue step2_1248.yaml PREOPS-1248 DRP0 --ts 20220729T142653Z
wf3=$KEY
run prodstat update-stat PREOPS-1248 "$wf3"

# The seed stays in work/step2 from here on: the campaign yaml and the maps are written
# next to step2's submit yaml (prodstat tells them apart from bps submit yamls).
say "cat > step12test.yaml   # the seed's campaign description"
cat > step12test.yaml <<EOF
issue: null
name: step12test
steps:
- campaign_issue: null
  issue_name: ''
  name: step1
  split_bands: false
  workflow_base: '$demo/work/step1'
- campaign_issue: null
  issue_name: ''
  name: step2
  split_bands: false
  workflow_base: '$demo/work/step2'
EOF
cat step12test.yaml
run prodstat create-campaign-yaml step12test step12test.yaml
keyed prodstat update-campaign step12test.yaml
campaign=$KEY
step1=$(python -c "import yaml; print(yaml.safe_load(open('step12test.yaml'))['steps'][0]['issue_name'])")
step2=$(python -c "import yaml; print(yaml.safe_load(open('step12test.yaml'))['steps'][1]['issue_name'])")

printf '{\nstep1_1248 : %s,\nstep1_1248_b : %s\n}\n' "$wf1" "$wf2" > step1map.yaml
printf '{\nstep2_1248 : %s\n}\n' "$wf3" > step2map.yaml
printf "{\nstep1 : [%s,'2022-07-27','2022-07-28',100,Complete],\nstep2 : [%s,'2022-07-28','2022-07-28',100,Complete]\n}\n" \
  "$step1" "$step2" > campmap.yaml
run prodstat map-drp-steps step1map.yaml "$step1" 0
run prodstat map-drp-steps step2map.yaml "$step2" 0
run prodstat map-drp-steps campmap.yaml "$campaign" 1
say "# beyond the original: the campaign table computed from the workflows' statistics"
run prodstat map-drp-steps --auto "$campaign"
run prodstat tree "$campaign"
run prodstat show "$step1"
say "# the campaign as a page to share: self-contained HTML (tables, charts, links)"
run prodstat report "$campaign" --html "$demo/report-$campaign.html"

cat <<NOTE

The local tracker of this demo is $demo/home/tracker.sqlite3; look around with
  PRODSTAT_HOME=$demo/home prodstat show $campaign
The campaign report: $demo/report-$campaign.html
NOTE
