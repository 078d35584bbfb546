#!/usr/bin/env bash
# Smoke test of the one-file executable on Linux and macOS: what the Windows
# job's smoke test in .github/workflows/exe.yml checks, in sh.  Run from the
# folder it may fill (the workspace on GitHub):
#
#     bash .github/scripts/smoke-test.sh dist/SessionRescue
#
# It writes version.txt, demo-data/, backups/, scan/rebuild/adopt/repair.json,
# status.txt, usage.txt and window.png there.  The autostart entry goes to a
# home folder of its own, never the real one.  tests/test_exe.py runs it on the
# executable it builds, so its numbers keep following the demo data.  Written
# for the bash of macOS too (3.2).
set -euo pipefail

exe=$1
case $exe in /*) ;; *) exe="$PWD/$exe" ;; esac
export QT_QPA_PLATFORM=offscreen

"$exe" --version > version.txt
cat version.txt
grep -q '^session-rescue ' version.txt
# Self-check: the SHA-256 the program shows is its own file's.
if command -v sha256sum > /dev/null; then sum=$(sha256sum "$exe"); else sum=$(shasum -a 256 "$exe"); fi
sum=${sum%% *}
grep -qF ": $sum" version.txt || { echo "version.txt does not show the file's SHA-256 $sum" >&2; exit 1; }

"$exe" demo demo-data
"$exe" scan --json --data-dir demo-data > scan.json
grep -qF '"orphaned": 14' scan.json
grep -qF '"transcript-only": 5' scan.json
"$exe" rebuild --data-dir demo-data --backup-dir backups --json --yes > rebuild.json
grep -qF '"done": 5' rebuild.json
"$exe" adopt --data-dir demo-data --backup-dir backups --json --yes > adopt.json
grep -qF '"done": 2' adopt.json
"$exe" undo --last --backup-dir backups --yes
"$exe" undo --last --backup-dir backups --yes
"$exe" repair --data-dir demo-data --backup-dir backups --json > repair.json
grep -qF '"done": 10' repair.json
"$exe" gui --data-dir demo-data --screenshot window.png
test -s window.png

# Autostart: the entry made, seen and removed (an XDG autostart entry on
# Linux, a LaunchAgent on macOS), in a home folder of its own.
home=$(mktemp -d)
if [ "$(uname)" = Darwin ]; then
  entry="$home/Library/LaunchAgents/com.session-rescue.watch.plist"
else
  entry="$home/.config/autostart/session-rescue-watch.desktop"
fi
HOME="$home" XDG_CONFIG_HOME="$home/.config" "$exe" autostart enable
test -f "$entry"
HOME="$home" XDG_CONFIG_HOME="$home/.config" "$exe" autostart status > status.txt
grep -q 'Autostart is on' status.txt
HOME="$home" XDG_CONFIG_HOME="$home/.config" "$exe" autostart disable
test ! -e "$entry"
rm -rf "$home"

# A usage error must say so with exit code 2.
code=0
"$exe" undo 2> usage.txt || code=$?
cat usage.txt
test "$code" -eq 2
echo "smoke test passed: $exe"
