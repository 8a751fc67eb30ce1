#!/bin/sh
# Prints the OpenBLAS core type to run ND4J's products on when nothing chose one: Haswell's kernels where the CPU has
# AVX2 and FMA (all they need), else nothing (OpenBLAS's own choice). ND4J's OpenBLAS 0.3.19 does not know CPUs newer
# than it and falls back to slow generic kernels on them (2.6x slower products on an AMD EPYC, 3x on an Intel Xeon:
# docs/BENCHMARKS.md). `gpt blas` checks whether other kernels are correct and faster on a CPU (the Makefile's jobs
# use its choice: make openblas). Used by the Makefile and the Docker images' commands.
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  echo Haswell
fi
