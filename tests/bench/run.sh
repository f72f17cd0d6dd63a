#!/bin/sh
# tests/bench/run.sh NESTEMU GUESTDIR - the interpreter benchmark.
#
# Runs the CPU-bound guest bench_loop.bin (integer ALU, loads/stores,
# branches, calls, REP MOVSD) under nestemu -stats, which reports the
# exact number of instructions retired, and prints
#     bench interp_mips VALUE MIPS
#     bench interp_seconds VALUE s
# Wall time is the mean of several runs (hyperfine when installed, else a
# small loop). When qemu-system-x86_64 is installed the same guest runs
# there with -accel tcg for comparison.
#
# Then the Linux boot workload (tests/bench/linux_boot.sh): Debian's kernel
# and busybox initramfs to the shell prompt under nestemu, QEMU TCG and,
# from the GRUB disk image, Bochs (linux_boot_* lines, medians).
# BENCH_LINUX=0 skips it.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 NESTEMU GUEST_BIN_DIR" >&2
	exit 2
fi
nestemu=$1
guest=$2/bench_loop.bin
runs=${BENCH_RUNS:-3}
[ -f "$guest" ] || { echo "bench: $guest is missing (make guests)" >&2; exit 1; }

nest_cmd="$nestemu -display none -serial none -debugcon none -kernel $guest"

# One checked run: status 1 (guest code 0) and the instruction count.
set +e
stats=$($nest_cmd -stats 2>&1 >/dev/null)
st=$?
set -e
if [ "$st" -ne 1 ]; then
	echo "bench: the guest did not finish correctly under nestemu (exit status $st):" >&2
	printf '%s\n' "$stats" >&2
	exit 1
fi
insns=$(printf '%s\n' "$stats" | sed -n 's/^instructions: //p')

# mean_seconds CMD...: mean wall time of $runs runs.
mean_seconds() {
	if command -v hyperfine >/dev/null 2>&1; then
		json=$(mktemp)
		hyperfine --runs "$runs" --warmup 1 -N -i --export-json "$json" "$*" >/dev/null 2>&1
		sed -n 's/^ *"mean": *\([0-9.e+-]*\),*$/\1/p' "$json" | head -n 1
		rm -f "$json"
	else
		total=0
		i=0
		while [ "$i" -lt "$runs" ]; do
			t0=$(date +%s.%N)
			"$@" >/dev/null 2>&1 || true
			t1=$(date +%s.%N)
			total=$(awk -v t="$total" -v a="$t0" -v b="$t1" 'BEGIN { print t + b - a }')
			i=$((i + 1))
		done
		awk -v t="$total" -v n="$runs" 'BEGIN { print t / n }'
	fi
}

# shellcheck disable=SC2086
secs=$(mean_seconds $nest_cmd)
mips=$(awk -v n="$insns" -v s="$secs" 'BEGIN { printf "%.1f", n / s / 1e6 }')
echo "bench interp_instructions $insns insns"
echo "bench interp_mips $mips MIPS"
printf 'bench interp_seconds %.3f s\n' "$secs"

if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	qemu_cmd="qemu-system-x86_64 -accel tcg -display none -serial none -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $guest"
	# shellcheck disable=SC2086
	qsecs=$(mean_seconds $qemu_cmd)
	printf 'bench qemu_tcg_seconds %.3f s\n' "$qsecs"
	awk -v a="$secs" -v b="$qsecs" 'BEGIN { printf "bench ratio_vs_qemu_tcg %.2f x\n", a / b }'
else
	echo "bench: qemu-system-x86_64 is not installed; skipping the QEMU TCG comparison (apt-get install qemu-system-x86)"
fi

if [ "${BENCH_LINUX:-1}" != 0 ]; then
	sh "$(dirname "$0")/linux_boot.sh" "$nestemu"
fi
