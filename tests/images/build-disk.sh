#!/bin/sh
# build-disk.sh - a BIOS-bootable GRUB hard disk image for system tests.
#
# From the kernel and initramfs of build.sh (run first when missing) and
# Debian's GRUB (grub-pc-bin, grub-common), builds without root and without
# loop devices:
#   cache/disk.img    raw disk, MBR partition table, partition 1 (ext2,
#                     active, from sector 2048) holding /boot/vmlinuz,
#                     /boot/initrd.gz and /boot/grub/grub.cfg; GRUB's
#                     boot.img in the MBR, core.img in the post-MBR gap
#   cache/disk.qcow2  the same disk converted by qemu-img (qemu-utils)
# grub.cfg uses the serial console (COM1, 115200), prints the marker line
# NESTEMU-GRUB-BOOTING and boots "linux /boot/vmlinuz console=ttyS0" with
# the initramfs after a one-second timeout. Boot it with:
#   qemu-system-x86_64 -accel tcg -nographic -m 512 -hda tests/images/cache/disk.img
#
# What grub-bios-setup would patch, done here by hand (GRUB 2.06,
# util/setup.c and boot/i386/pc/{boot,diskboot}.S):
#   boot.img 0x5C  u64  LBA of core.img's first sector: 1 (the default)
#   boot.img 0x64  u8   boot drive, 0xFF = the drive in DL (the default)
#   boot.img 0x66  2 B  "jmp" over the DL sanity check, replaced by two NOPs
#                       for a hard disk (buggy BIOSes pass DL < 0x80)
#   boot.img 0x1B8-0x1FF  disk signature and partition table: kept from
#                       the MBR sfdisk wrote
#   core.img 0x1F4 (last 12 bytes of diskboot.img) blocklist {u64 start,
#                       u16 sectors, u16 segment}: start 2 (the default, the
#                       sector after diskboot), sectors filled in by
#                       grub-mkimage, segment 0x820; the entry before it is
#                       zero, the terminator.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache="$here/cache"
grubdir=${GRUB_I386_PC_DIR:-/usr/lib/grub/i386-pc}
PATH="$PATH:/usr/sbin:/sbin"

die() { echo "build-disk.sh: $*" >&2; exit 1; }
for tool in grub-mkimage mke2fs sfdisk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (./configure --install-deps installs grub-common, grub-pc-bin, e2fsprogs and fdisk)"
done
[ -f "$grubdir/boot.img" ] || die "$grubdir/boot.img is missing (apt-get install grub-pc-bin)"

if [ ! -s "$cache/vmlinuz" ] || [ ! -s "$cache/initrd.gz" ]; then
	sh "$here/build.sh"
fi
cd "$cache"
rm -rf disk-x
mkdir -p disk-x/root/boot/grub

# Geometry: 1 MiB before the partition (MBR + core.img), 31 MiB of ext2.
part_start=2048
part_sectors=63488
disk_sectors=$((part_start + part_sectors))

cp vmlinuz initrd.gz disk-x/root/boot/
cat > disk-x/root/boot/grub/grub.cfg <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
set default=0
menuentry 'Debian Linux, busybox initramfs (nestemu test image)' {
	echo 'NESTEMU-GRUB-BOOTING'
	linux /boot/vmlinuz console=ttyS0
	initrd /boot/initrd.gz
}
CFG

# The filesystem, populated from the staging tree (no mount).
mke2fs -q -F -t ext2 -L nestemu-boot -U 6e657374-656d-7520-6772-756264697363 \
	-E root_owner=0:0 -d disk-x/root disk-x/part.img "$((part_sectors / 2))k" >/dev/null \
	|| die "mke2fs failed"

# The MBR partition table on a sparse file of the disk's size.
rm -f disk-x/disk.img
dd if=/dev/zero of=disk-x/disk.img bs=512 count=0 seek="$disk_sectors" 2>/dev/null
printf 'label: dos\nlabel-id: 0x6e657374\nstart=%d, size=%d, type=83, bootable\n' \
	"$part_start" "$part_sectors" | sfdisk -q disk-x/disk.img >/dev/null \
	|| die "sfdisk failed"
dd if=disk-x/part.img of=disk-x/disk.img bs=512 seek="$part_start" conv=notrunc,sparse 2>/dev/null

# core.img: everything grub.cfg needs is built in, so no module is read
# from the disk; the prefix names the partition explicitly.
grub-mkimage -O i386-pc -d "$grubdir" -o disk-x/core.img -p '(hd0,msdos1)/boot/grub' \
	biosdisk part_msdos ext2 normal linux serial terminal echo \
	|| die "grub-mkimage failed"
core_sectors=$(( ($(wc -c < disk-x/core.img) + 511) / 512 ))
[ "$core_sectors" -lt "$part_start" ] || die "core.img ($core_sectors sectors) does not fit before the partition"
# diskboot's blocklist must load the rest of core.img from LBA 2 to
# segment 0x820, and the entry before it must be the terminator.
field() { od -A n -t "$1" -j "$2" -N "$3" "$4" | tr -d ' '; }
[ "$(field u8 500 8 disk-x/core.img)" -eq 2 ] || die "core.img's blocklist does not start at LBA 2"
bl_len=$(field u2 508 2 disk-x/core.img)
[ "$bl_len" -eq "$((core_sectors - 1))" ] || die "core.img's blocklist says $bl_len sectors, expected $((core_sectors - 1))"
[ "$(field x2 510 2 disk-x/core.img)" = 0820 ] || die "core.img's blocklist segment is not 0x820"
[ "$(field u2 496 2 disk-x/core.img)" -eq 0 ] || die "core.img's blocklist has no terminator"
dd if=disk-x/core.img of=disk-x/disk.img bs=512 seek=1 conv=notrunc 2>/dev/null

# boot.img's code into the MBR, keeping sfdisk's table from 0x1B8 on.
dd if="$grubdir/boot.img" of=disk-x/disk.img bs=1 count=440 conv=notrunc 2>/dev/null
printf '\220\220' | dd of=disk-x/disk.img bs=1 seek=102 conv=notrunc 2>/dev/null
[ "$(field u8 92 8 disk-x/disk.img)" -eq 1 ] || die "boot.img's kernel sector is not 1"
[ "$(field x1 100 1 disk-x/disk.img)" = ff ] || die "boot.img's boot drive is not 0xFF"
[ "$(field x1 510 2 disk-x/disk.img)" = 55aa ] || die "the MBR has no boot signature"

mv disk-x/disk.img disk.img
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img convert -f raw -O qcow2 disk.img disk.qcow2 || die "qemu-img convert failed"
else
	die "qemu-img is missing (apt-get install qemu-utils) for disk.qcow2"
fi
rm -rf disk-x
echo "built $cache/disk.img and $cache/disk.qcow2 (GRUB, ext2, $core_sectors-sector core.img)"
