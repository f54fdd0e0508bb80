#!/bin/sh
# Runs every test program given on the command line, sums their
# "N passed, M failed" lines and ends with the total in the same form.
# Exits non-zero if any program fails or does not report.
# KT_RUN, when set, is a command prefix for every program (an emulator such as
# "qemu-aarch64 -L /usr/aarch64-linux-gnu", or "valgrind --error-exitcode=1").
# KT_JOBS=N runs N programs at a time (default 1). Each program's output is
# kept in its own file and printed whole, in command-line order, with the
# program's run time; a one-line note is printed as each one finishes.
jobs=${KT_JOBS:-1}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kt_run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# one program: output in $tmp/N.out, exit status and seconds in $tmp/N.st
one() {
  i=$1; t=$2; t0=$(date +%s)
  ${KT_RUN:-} "$t" >"$tmp/$i.out" 2>&1; rc=$?
  echo "$rc $(( $(date +%s) - t0 ))" >"$tmp/$i.st"
  if [ "$jobs" -gt 1 ]; then
    echo "   finished $t (exit $rc, $(( $(date +%s) - t0 )) s)"
  fi
}

total_p=0; total_f=0; status=0

# print program N's output and add its summary line to the totals
report() {
  i=$1; t=$2
  read -r rc secs <"$tmp/$i.st"
  echo "== $t (${secs} s)"
  cat "$tmp/$i.out"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$tmp/$i.out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$t: no summary line (exit $rc)"; total_f=$((total_f + 1)); status=1; return
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  total_p=$((total_p + p)); total_f=$((total_f + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then status=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then total_f=$((total_f + 1)); echo "$t: exit status $rc"; fi
}

i=0
for t in "$@"; do
  i=$((i + 1))
  if [ "$jobs" -gt 1 ]; then
    # wait for a free slot: the running ones have no .st file yet
    while :; do
      run=0; k=1
      while [ $k -lt $i ]; do [ -f "$tmp/$k.st" ] || run=$((run + 1)); k=$((k + 1)); done
      [ $run -lt "$jobs" ] && break
      sleep 0.2
    done
    one $i "$t" &
  else
    one $i "$t"; report $i "$t"
  fi
done
if [ "$jobs" -gt 1 ]; then
  wait
  i=0
  for t in "$@"; do i=$((i + 1)); report $i "$t"; done
fi
echo "$total_p passed, $total_f failed"
exit $status
