#!/bin/sh
# Runs every test program given on the command line, sums their
# "N passed, M failed" lines and ends with the total in the same form.
# Exits non-zero if any program fails or does not report.
# KT_RUN, when set, is a command prefix for every program (an emulator such as
# "qemu-aarch64 -L /usr/aarch64-linux-gnu", or "valgrind --error-exitcode=1").
total_p=0; total_f=0; status=0
for t in "$@"; do
  echo "== $t"
  out=$(${KT_RUN:-} "$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then
    echo "$t: no summary line (exit $rc)"; total_f=$((total_f + 1)); status=1; continue
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  total_p=$((total_p + p)); total_f=$((total_f + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then status=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then total_f=$((total_f + 1)); echo "$t: exit status $rc"; fi
done
echo "$total_p passed, $total_f failed"
exit $status
