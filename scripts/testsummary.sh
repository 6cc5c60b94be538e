#!/usr/bin/env bash
# testsummary.sh passes `go test -v` output through, then prints how many tests passed, failed
# and were skipped, and fails when any failed or none ran.
set -uo pipefail
pass=0 fail=0 skip=0
while IFS= read -r line; do
  printf '%s\n' "$line"
  case $line in
  "--- PASS: "*) pass=$((pass + 1)) ;;
  "--- FAIL: "*) fail=$((fail + 1)) ;;
  "--- SKIP: "*) skip=$((skip + 1)) ;;
  FAIL*) fail=$((fail > 0 ? fail : 1)) ;;
  esac
done
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0 && pass > 0))
