#!/bin/sh
# push-leads.sh: push the nightly export to Publitrac, one run at a time (cron, a systemd timer, or by hand).
#
# Every setting has a default for a server install and can be overridden from the environment:
#   LEADS_FILE              the export to push                       (/data/export/leads.csv)
#   LEADS_STATE_DIR         ledger, results, last-run.json, the lock  (systemd's $STATE_DIRECTORY, else /var/lib/leads)
#   PUBLITRAC               the command                              (/opt/leads/venv/bin/publitrac)
#   PUBLITRAC_API_KEY       the key; else read from PUBLITRAC_API_KEY_FILE
#                           (systemd's $CREDENTIALS_DIRECTORY/publitrac-key, else /run/secrets/publitrac-key)
#   PUBLITRAC_BASE_URL      the API                                  (https://your-publitrac-host/v2)
#   PUBLITRAC_LEDGER        the ledger                               ($LEADS_STATE_DIR/ledger.sqlite3)
#
# Exit status: publitrac's (0 all accepted or unchanged, 1 some rows not, 2 nothing could start, 130/143 stopped
# by a signal), or 75 when another run still holds the lock: this one sent nothing.
set -u

LEADS_FILE="${LEADS_FILE:-/data/export/leads.csv}"
STATE_DIR="${LEADS_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/leads}}"
PUBLITRAC="${PUBLITRAC:-/opt/leads/venv/bin/publitrac}"
KEY_FILE="${PUBLITRAC_API_KEY_FILE:-${CREDENTIALS_DIRECTORY:-/run/secrets}/publitrac-key}"

# One run at a time: the lock is held on file descriptor 9 until this script (and publitrac) ends.
exec 9>>"$STATE_DIR/push.lock"
if ! flock -n 9; then
    echo "push-leads: another run holds $STATE_DIR/push.lock: nothing sent" >&2
    exit 75
fi

# The key never goes on a command line (ps, shell history): from the environment or a file only.
if [ -z "${PUBLITRAC_API_KEY:-}" ]; then
    PUBLITRAC_API_KEY="$(cat "$KEY_FILE")" || exit 2
fi
export PUBLITRAC_API_KEY
export PUBLITRAC_BASE_URL="${PUBLITRAC_BASE_URL:-https://your-publitrac-host/v2}"
export PUBLITRAC_LEDGER="${PUBLITRAC_LEDGER:-$STATE_DIR/ledger.sqlite3}"

# The JSON document on stdout (kept as last-run.json), the human lines on stderr (the log).
"$PUBLITRAC" sync "$LEADS_FILE" --results "$STATE_DIR/results.csv" --timeout 60 --no-progress \
    --output json >"$STATE_DIR/last-run.json.tmp"
status=$?
mv -f "$STATE_DIR/last-run.json.tmp" "$STATE_DIR/last-run.json"
echo "push-leads: exit status $status; the run: $STATE_DIR/last-run.json" >&2
exit "$status"
