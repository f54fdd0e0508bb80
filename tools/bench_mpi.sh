#!/bin/sh
# make bench-mpi: teacher training on data/ETTh1.csv (the tool's default
# teacher, LSTM 2x64, batch 32) on 1 rank and on 2 ranks of build/kdts-mpi
# at the same global batch, in alternating runs on the same machine; the
# medians of the training times (the tool's own "... s", without MPI start
# up) and of the whole runs, and their ratios. A benchmark, not a test.
#   RUNS=5 STEPS=270 (one epoch of the 8521 training windows at batch 32
#   and 4 steps of the next; validation after each, in shares on 2 ranks).
#   KDTS_MPI_CPU makes rank 0 print each rank's processor time in training:
#   the processor-time ratio is the speed-up with a free core per rank.
set -u
B=${BUILD:-build}
RUNS=${RUNS:-5}
STEPS=${STEPS:-270}
W=$B/mpi-bench
mkdir -p "$W"
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_mpi_yield_when_idle=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_btl OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_mpi_yield_when_idle
RUN="${MPIRUN:-mpirun} --oversubscribe --bind-to none"
ARGS="train --csv data/ETTh1.csv --target OT --steps $STEPS --patience 0 --out $W/t.kdts"

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
# one run: prints "training-seconds wall-seconds busiest-rank-cpu-seconds"
one() {
  t0=$(now)
  KDTS_MPI_CPU=1 $RUN -np "$1" "$B/kdts-mpi" $ARGS 2> "$W/err-$1.log" || { cat "$W/err-$1.log"; exit 1; }
  t1=$(now)
  tr=$(sed -n 's/^wrote .*, \([0-9.]*\) s$/\1/p' "$W/err-$1.log")
  cpu=$(sed -n 's/^kdts-mpi: processor seconds in training per rank: //p' "$W/err-$1.log" |
        awk '{m = 0; for (i = 1; i <= NF; ++i) if ($i > m) m = $i; print m}')
  echo "$tr $(awk "BEGIN {print $t1 - $t0}") $cpu"
}

echo "kdts-mpi teacher training, ETTh1 OT, LSTM 2x64, global batch 32, $STEPS steps; $RUNS runs each, alternating"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)"
: > "$W/r1"
: > "$W/r2"
i=0
while [ $i -lt "$RUNS" ]; do
  r1=$(one 1); r2=$(one 2)
  echo "$r1" >> "$W/r1"
  echo "$r2" >> "$W/r2"
  echo "  run $((i + 1)): 1 rank $(echo "$r1" | cut -d' ' -f1) s training ($(echo "$r1" | cut -d' ' -f2 | cut -c1-5) s run, $(echo "$r1" | cut -d' ' -f3) s cpu), 2 ranks $(echo "$r2" | cut -d' ' -f1) s ($(echo "$r2" | cut -d' ' -f2 | cut -c1-5) s run, busiest rank $(echo "$r2" | cut -d' ' -f3) s cpu)  load $(cut -d' ' -f1 /proc/loadavg)"
  i=$((i + 1))
done
m1=$(cut -d' ' -f1 "$W/r1" | median); m2=$(cut -d' ' -f1 "$W/r2" | median)
w1=$(cut -d' ' -f2 "$W/r1" | median); w2=$(cut -d' ' -f2 "$W/r2" | median)
c1=$(cut -d' ' -f3 "$W/r1" | median); c2=$(cut -d' ' -f3 "$W/r2" | median)
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf "median training time: 1 rank %.2f s, 2 ranks %.2f s: speed-up %.2fx (target >= 1.7x)\n" "$m1" "$m2" "$(awk "BEGIN {print $m1 / $m2}")"
printf "median whole run:     1 rank %.2f s, 2 ranks %.2f s: speed-up %.2fx\n" "$w1" "$w2" "$(awk "BEGIN {print $w1 / $w2}")"
printf "median processor time in training: 1 rank %.2f s, busiest of 2 ranks %.2f s: ratio %.2fx\n" "$c1" "$c2" "$(awk "BEGIN {print $c1 / $c2}")"
echo "(the processor-time ratio is the speed-up when each rank has a core of its own; the wall-clock"
echo " speed-up is what this machine gave under the load shown)"
