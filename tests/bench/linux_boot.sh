#!/bin/sh
# tests/bench/linux_boot.sh NESTEMU - wall time to boot Linux to a shell.
#
# Workload: Debian's kernel and busybox initramfs (tests/images/build.sh),
# command line "console=ttyS0", 512 MiB, one vCPU. A run starts the
# emulator, watches the serial console for the shell prompt "/ # " and
# kills the emulator there; its time is wall time from launch to the
# prompt, and its CPU time the user + system time the emulator process
# (all its threads) used until then, which a loaded host inflates less.
# Each figure is the median of several runs:
#   direct kernel boot (-kernel/-initrd/-append), BENCH_BOOT_RUNS runs
#   (default 3): nestemu, and qemu-system-x86_64 -accel tcg with the same
#   options (QEMU also runs SeaBIOS and its linuxboot ROM first);
#   the GRUB disk (tests/images/build-disk.sh: firmware, GRUB with a 1 s
#   menu timeout, then the same kernel, initramfs and command line):
#   Bochs (display-less, COM1 to a file, clock sync=none), which has no
#   direct Linux boot, BENCH_BOCHS_RUNS runs (default 1, Bochs is slow),
#   QEMU TCG for scale, and nestemu once it can boot a disk.
# Prints "bench NAME VALUE UNIT" lines only for figures measured:
#   linux_boot_nestemu_seconds, linux_boot_qemu_tcg_seconds,
#   linux_boot_ratio_vs_qemu_tcg            (nestemu / QEMU, direct boot)
#   linux_boot_bochs_seconds, linux_disk_boot_qemu_tcg_seconds,
#   linux_disk_boot_nestemu_seconds,
#   linux_boot_ratio_vs_bochs               (nestemu / Bochs, GRUB disk)
#   linux_boot_bochs_ratio_vs_qemu_tcg      (Bochs / QEMU, GRUB disk)
# each with its CPU-time twin (NAME_cpu_seconds, NAME_cpu_ratio_...).
# and, for a boot that did not reach the prompt, one "bench: ..." note
# naming the last stage the serial console showed. Exits 1 only when
# nestemu's direct boot fails.
set -u
nestemu=$1
here=$(cd "$(dirname "$0")" && pwd)
images="$here/../images/cache"
runs=${BENCH_BOOT_RUNS:-3}
limit=${BENCH_BOOT_LIMIT:-600}
bochs_runs=${BENCH_BOCHS_RUNS:-1}
bochs_limit=${BENCH_BOCHS_LIMIT:-1200}
seabios=/usr/share/seabios/bios.bin
append="console=ttyS0"
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

if [ ! -s "$images/vmlinuz" ] || [ ! -s "$images/initrd.gz" ]; then
	sh "$here/../images/build.sh" >"$tmp/build.log" 2>&1 ||
		{ echo "bench: building the Linux images failed: $(tail -n 1 "$tmp/build.log")" >&2; exit 1; }
fi
kernel="$images/vmlinuz"
initrd="$images/initrd.gz"

# stage LOG: the last boot stage the serial log shows.
stage() {
	if grep -aq 'NESTEMU-INITRD-READY' "$1"; then echo "the initramfs, not the prompt"
	elif grep -aq 'Run /init' "$1"; then echo "the kernel starting /init"
	elif grep -aq 'Linux version' "$1"; then
		echo "the kernel, last line: $(grep -a '^\[ *[0-9]' "$1" | tail -n 1 | tr -d '\r' | cut -c1-100)"
	elif grep -aq 'NESTEMU-GRUB-BOOTING' "$1"; then echo "GRUB loading the kernel (nothing from the kernel yet)"
	elif grep -aq 'GNU GRUB' "$1"; then echo "GRUB's menu"
	else echo "nothing on the serial console"
	fi
}

clk_tck=$(getconf CLK_TCK)

# boot_once LIMIT LOG CMD...: runs CMD with its standard output in
# $tmp/stdout until "/ # " appears in LOG (which may be $tmp/stdout);
# prints "WALL CPU", the seconds from launch to the prompt and the CPU
# seconds CMD used until then, or returns 1 when CMD exits first or LIMIT
# seconds pass (the reason is in $tmp/why).
boot_once() {
	blimit=$1
	log=$2
	shift 2
	rm -f "$tmp/in" "$tmp/stdout" "$tmp/stderr" "$log"
	: >"$log"
	mkfifo "$tmp/in"
	t0=$(date +%s.%N)
	deadline=$(( ${t0%.*} + blimit ))
	"$@" <"$tmp/in" >"$tmp/stdout" 2>"$tmp/stderr" &
	pid=$!
	exec 3>"$tmp/in"
	n=0
	status=0
	while ! grep -aq '/ # ' "$log"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			err=$(tail -n 1 "$tmp/stderr")
			echo "it exited${err:+ ($err)} after reaching $(stage "$log")" >"$tmp/why"
			status=1
			break
		fi
		n=$((n + 1))
		# The clock, not the poll count: a loaded host stretches each poll.
		if [ $((n % 20)) -eq 0 ] && [ "$(date +%s)" -ge "$deadline" ]; then
			echo "it reached only $(stage "$log") in $blimit s" >"$tmp/why"
			status=1
			break
		fi
		sleep 0.05
	done
	t1=$(date +%s.%N)
	# utime and stime, fields 14 and 15 of /proc/PID/stat (the command
	# name in field 2 has no blank for these emulators).
	ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	exec 3>&-
	[ "$status" -eq 0 ] || return 1
	awk -v a="$t0" -v b="$t1" -v t="${ticks:-0}" -v hz="$clk_tck" \
		'BEGIN { printf "%.3f %.2f\n", b - a, t / hz }'
}

# median: the median of the numbers on standard input.
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# boot_median NAME RUNS LIMIT LOG CMD...: "WALL CPU", the medians of RUNS
# boot_once runs; prints nothing and a note on standard error when a run
# fails.
boot_median() {
	name=$1
	nruns=$2
	mlimit=$3
	mlog=$4
	shift 4
	: >"$tmp/times"
	i=0
	while [ "$i" -lt "$nruns" ]; do
		if ! t=$(boot_once "$mlimit" "$mlog" "$@"); then
			echo "bench: $name did not reach the shell prompt: $(cat "$tmp/why")" >&2
			return 1
		fi
		echo "$t" >>"$tmp/times"
		i=$((i + 1))
	done
	echo "$(cut -d' ' -f1 "$tmp/times" | median) $(cut -d' ' -f2 "$tmp/times" | median)"
}

# report NAME "WALL CPU": the two bench lines of one measured boot.
report() {
	echo "bench $1_seconds ${2% *} s"
	echo "bench $1_cpu_seconds ${2#* } s"
}

# ratios NAME "WALL CPU" "WALL CPU": the wall and CPU ratios of two boots.
ratios() {
	awk -v n="$1" -v a="${2% *}" -v b="${3% *}" 'BEGIN { printf "bench %s %.2f x\n", n, a / b }'
	awk -v n="$1" -v a="${2#* }" -v b="${3#* }" 'BEGIN { sub(/ratio/, "cpu_ratio", n); printf "bench %s %.2f x\n", n, a / b }'
}

have_qemu=no
command -v qemu-system-x86_64 >/dev/null 2>&1 && have_qemu=yes
rc=0

# Direct kernel boot: nestemu and QEMU TCG.
nest=$(boot_median "nestemu" "$runs" "$limit" "$tmp/stdout" \
	"$nestemu" -m 512 -smp 1 -kernel "$kernel" -initrd "$initrd" -append "$append" \
	-display none -serial stdio -no-reboot) || rc=1
[ -n "$nest" ] && report linux_boot_nestemu "$nest"
qemu=
if [ "$have_qemu" = yes ]; then
	qemu=$(boot_median "QEMU TCG" "$runs" "$limit" "$tmp/stdout" \
		qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append")
	[ -n "$qemu" ] && report linux_boot_qemu_tcg "$qemu"
	[ -n "$nest" ] && [ -n "$qemu" ] && ratios linux_boot_ratio_vs_qemu_tcg "$nest" "$qemu"
else
	echo "bench: qemu-system-x86_64 is not installed; skipping the QEMU TCG Linux boot (apt-get install qemu-system-x86)"
fi

# The GRUB disk: each emulator boots a sparse copy, so nothing it writes
# reaches the cached image.
if [ ! -s "$images/disk.img" ]; then
	sh "$here/../images/build-disk.sh" >"$tmp/build.log" 2>&1 || {
		echo "bench: building the GRUB disk image failed: $(tail -n 1 "$tmp/build.log"); skipping the disk boots" >&2
		exit "$rc"
	}
fi
cp --sparse=always "$images/disk.img" "$tmp/disk.img"

ndisk=
if [ -f "$seabios" ]; then
	ndisk=$(boot_median "nestemu (GRUB disk)" "$runs" "$limit" "$tmp/stdout" \
		"$nestemu" -m 512 -smp 1 -bios "$seabios" -hda "$tmp/disk.img" \
		-display none -serial stdio -no-reboot)
	[ -n "$ndisk" ] && report linux_disk_boot_nestemu "$ndisk"
fi
qdisk=
if [ "$have_qemu" = yes ]; then
	qdisk=$(boot_median "QEMU TCG (GRUB disk)" "$runs" "$limit" "$tmp/stdout" \
		qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
		-drive "file=$tmp/disk.img,format=raw,if=ide,snapshot=on")
	[ -n "$qdisk" ] && report linux_disk_boot_qemu_tcg "$qdisk"
fi

if ! command -v bochs >/dev/null 2>&1; then
	echo "bench: bochs is not installed; skipping the Bochs Linux boot (apt-get install bochs bochs-sdl bochsbios vgabios)"
	exit "$rc"
fi
# Debian's Bochs has no "nogui" display library: SDL2 with SDL's dummy
# video driver shows nothing. Its built-in debugger stops before the first
# instruction, so the -rc script says "continue".
cat >"$tmp/bochsrc" <<EOF
megs: 512
cpu: model=corei7_haswell_4770, count=1, ips=100000000, reset_on_triple_fault=0
clock: sync=none, time0=local
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=$tmp/disk.img, mode=flat
boot: disk
com1: enabled=1, mode=file, dev=$tmp/com1
display_library: sdl2
mouse: enabled=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: $tmp/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
echo c >"$tmp/bochs.rc"
bochs_s=$(boot_median "Bochs (GRUB disk)" "$bochs_runs" "$bochs_limit" "$tmp/com1" \
	env SDL_VIDEODRIVER=dummy bochs -q -f "$tmp/bochsrc" -rc "$tmp/bochs.rc")
if [ -n "$bochs_s" ]; then
	report linux_boot_bochs "$bochs_s"
	[ -n "$ndisk" ] && ratios linux_boot_ratio_vs_bochs "$ndisk" "$bochs_s"
	[ -n "$qdisk" ] && ratios linux_boot_bochs_ratio_vs_qemu_tcg "$bochs_s" "$qdisk"
fi
exit "$rc"
