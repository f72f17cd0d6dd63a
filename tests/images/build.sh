#!/bin/sh
# build.sh - builds the Debian test images for system tests.
#
# Fetches Debian's own kernel (linux-image-amd64, through its versioned
# dependency) and busybox-static with apt-get download into
# tests/images/cache/ (gitignored), then produces:
#   cache/vmlinuz    the bzImage
#   cache/initrd.gz  a busybox initramfs (cpio newc + gzip) whose /init
#                    mounts proc, sys and devtmpfs, prints the marker line
#                    NESTEMU-INITRD-READY and runs a shell on ttyS0;
#                    /bin/simdtest is simdtest.c (gcc -O2 -static).
#   cache/initrd.key the inputs' checksum: `build.sh --if-stale` rebuilds
#                    only when it differs (an edited simdtest.c or build.sh)
# Boot it with:
#   ./nestemu -m 512 -kernel tests/images/cache/vmlinuz \
#       -initrd tests/images/cache/initrd.gz -append "console=ttyS0" \
#       -display none -serial stdio
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache="$here/cache"
key=$(cat "$here/build.sh" "$here/simdtest.c" | cksum)
if [ "${1:-}" = "--if-stale" ] && [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ] &&
	[ "$(cat "$cache/initrd.key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi
mkdir -p "$cache"
cd "$cache"

# The metapackage depends on the versioned image package that holds vmlinuz.
if ! ls linux-image-[0-9]*_amd64.deb >/dev/null 2>&1; then
	real=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	[ -n "$real" ] || { echo "build.sh: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
	apt-get download linux-image-amd64 "$real"
fi
if ! ls busybox-static_*_amd64.deb >/dev/null 2>&1; then
	apt-get download busybox-static
fi

rm -rf kernel-x busybox-x root
mkdir kernel-x busybox-x
dpkg-deb -x "$(ls linux-image-[0-9]*_amd64.deb | head -n 1)" kernel-x
dpkg-deb -x "$(ls busybox-static_*_amd64.deb | head -n 1)" busybox-x
cp "$(ls kernel-x/boot/vmlinuz-* | head -n 1)" vmlinuz

mkdir -p root/bin root/sbin root/proc root/sys root/dev root/tmp root/etc
cp busybox-x/bin/busybox root/bin/busybox
for app in sh mount mkdir cat echo ls setsid cttyhack poweroff reboot uname dmesg head grep sleep; do
	ln -sf busybox "root/bin/$app"
done
gcc -O2 -static -o root/bin/simdtest "$here/simdtest.c" -lm ||
	{ echo "build.sh: cannot build simdtest.c (needs gcc and libc6-dev)" >&2; exit 1; }
cat > root/init <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo "NESTEMU-INITRD-READY $(/bin/busybox uname -r)"
exec /bin/busybox setsid /bin/busybox cttyhack /bin/sh
INIT
chmod 755 root/init
# cpio from the host, or busybox's own applet when cpio is not installed.
if command -v cpio >/dev/null 2>&1; then
	cpio="cpio"
else
	cpio="$cache/busybox-x/bin/busybox cpio"
fi
(cd root && find . | $cpio -o -H newc) > initrd.cpio
[ -s initrd.cpio ] || { echo "build.sh: building the cpio archive failed" >&2; exit 1; }
gzip -9 -n -c initrd.cpio > initrd.gz
rm -rf kernel-x busybox-x root initrd.cpio
printf '%s\n' "$key" > initrd.key
echo "built $cache/vmlinuz and $cache/initrd.gz"
