# tests/system/lib.sh - what the system test scripts share; sourced by
# run.sh, ata.sh and grub.sh after they set `here`.
#
# A script starts nestemu in the background with its serial console in
# $tmp/out (and stderr in $tmp/err), keeps its pid in $pid, and counts
# results with ok/bad; the EXIT trap removes $tmp and stops a guest still
# running. Results end with the line "N passed, N failed".

pass=0
fail=0
pid=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null' EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }

# bad NAME WHY: a failure, with the tail of nestemu's stderr and console.
bad() {
	echo "FAIL $1 ($2)"
	fail=$((fail + 1))
	[ -s "$tmp/err" ] && tail -n 5 "$tmp/err" | sed 's/^/    stderr| /'
	[ -f "$tmp/out" ] && tail -n 20 "$tmp/out" | sed 's/^/    | /'
}

# wait_for PATTERN SECONDS: polls the serial log until PATTERN appears;
# fails at once when nestemu has exited.
wait_for() {
	n=0
	while ! grep -aq "$1" "$tmp/out" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || return 1
		n=$((n + 1))
		[ "$n" -gt "$(( $2 * 5 ))" ] && return 1
		sleep 0.2
	done
	return 0
}

# stop_guest: a failed check ends the run (it would go on booting beside
# the next test until the script exits). Closes the console's fd 3.
stop_guest() {
	exec 3>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# poweroff_guest: types `poweroff -f`, waits up to 60 s for nestemu to
# exit and sets st to its exit status; a guest still running then is
# stopped, st is "none" and the function fails.
poweroff_guest() {
	printf 'poweroff -f\n' >&3
	n=0
	while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 300 ]; do
		sleep 0.2
		n=$((n + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		stop_guest
		st=none
		return 1
	fi
	exec 3>&-
	wait "$pid"
	st=$?
	pid=
}

# run_child NAME SCRIPT: runs another system test script, shows its lines
# and adds its counts to this script's.
run_child() {
	sh "$2" "$nestemu" >"$tmp/$1.log" 2>&1
	sed '$d' "$tmp/$1.log"
	counts=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$tmp/$1.log")
	if [ -n "$counts" ]; then
		pass=$((pass + ${counts% *}))
		fail=$((fail + ${counts#* }))
	else
		bad "$1" "$2 printed no result line"
	fi
}
