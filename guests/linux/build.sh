#!/bin/sh
# Builds the Linux guest from Debian packages: OUT/vmlinuz, Debian's stock
# kernel (the one linux-image-amd64 depends on), and OUT/initrd.img, a gzip
# newc cpio with busybox-static as init and shell, the kernel's own
# modules the guest needs, with their dependencies, and e2fsprogs' mkfs.ext4
# and e2fsck with the shared libraries they load (from Debian's packages of
# those libraries, not from the build machine), and blkbench (blkbench.c,
# the disk benchmark `make bench` runs in the guest), compiled static here.
#
# Usage: guests/linux/build.sh OUT_DIR   (`make linux`: OUT_DIR is build/linux)
#
# The .deb files are kept in OUT/cache: a second build downloads nothing,
# and one whose packages and recipe did not change rebuilds nothing.
# Root is not needed (cpio writes every file as owned by root).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
cache=$out/cache
kernel_meta=linux-image-amd64
busybox_pkg=busybox-static
# e2fsprogs and the packages of the libraries its mke2fs and e2fsck load:
# stage_e2fsprogs fails, naming it, on a library none of them has.
e2fs_pkgs="e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1 libc6"
e2fs_programs="sbin/mke2fs sbin/e2fsck"
# What the guest drives (button and evdev: the ACPI power button as an input
# event for acpid; virtio_console: hvc0, with `virtio_console = yes`); what
# they need comes from the kernel's modules.dep.
guest_modules="virtio_pci virtio_blk virtio_net virtio_console ext4 button evdev"

say() { echo "linux: $*"; }
die() { echo "linux: $*" >&2; exit 1; }

# apt-get update when it can run as root without asking for a password.
update_lists() {
	if [ "$(id -u)" -eq 0 ]; then
		as_root=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		as_root="sudo -n"
	else
		return 1
	fi
	say "updating the package lists (apt-get update)"
	$as_root apt-get -qq update >&2
}

# The kernel package linux-image-amd64 stands for, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
	apt-cache show --no-all-versions "$kernel_meta" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1
}

# "PACKAGE FILE" for each package named: the archive's file name of its
# candidate version (one apt-cache call: each costs a second here).
deb_names() {
	apt-cache show --no-all-versions "$@" 2>/dev/null |
		awk '/^Package:/ { p = $2 } /^Filename:/ { sub(/.*\//, "", $2); print p, $2 }'
}

# Puts PKG's .deb (archive file name NAME) in the cache unless it is there;
# prints its path. Fails, with apt's own words in $cache/apt.log, when it cannot.
fetch() {
	[ -n "$2" ] || { echo "no candidate version of $1 in the package lists" > "$cache/apt.log"; return 1; }
	if [ ! -f "$cache/$2" ]; then
		say "downloading $1 ($2)" >&2
		rm -rf "$cache/partial" && mkdir -p "$cache/partial"
		# As root, apt drops to the _apt user unless told not to, and that
		# user may not write here.
		(cd "$cache/partial" && apt-get -q download -o APT::Sandbox::User=root "$1") \
			> "$cache/apt.log" 2>&1 || return 1
		mv "$cache/partial/"*.deb "$cache/$2"
		rm -rf "$cache/partial"
	fi
	echo "$cache/$2"
}

# Sets kernel_deb, busybox_deb and e2fs_debs: from the cache when there, else downloaded.
fetch_packages() {
	failed=$kernel_meta
	kernel_pkg=$(kernel_package)
	[ -n "$kernel_pkg" ] || { echo "$kernel_meta is not in the package lists (or names no linux-image package)" > "$cache/apt.log"; return 1; }
	# shellcheck disable=SC2086 # one word per package
	names=$(deb_names "$kernel_pkg" "$busybox_pkg" $e2fs_pkgs)
	failed=$kernel_pkg
	kernel_deb=$(fetch_named "$kernel_pkg") || return 1
	failed=$busybox_pkg
	busybox_deb=$(fetch_named "$busybox_pkg") || return 1
	e2fs_debs=""
	for pkg in $e2fs_pkgs; do
		failed=$pkg
		e2fs_debs="$e2fs_debs $(fetch_named "$pkg")" || return 1
	done
}

# fetch for PKG, the archive's file name from $names.
fetch_named() {
	fetch "$1" "$(echo "$names" | awk -v p="$1" '$1 == p { print $2 }')"
}

# Older versions go: only what this build uses stays in the cache.
prune_cache() {
	for f in "$cache"/*.deb; do
		case " $kernel_deb $busybox_deb $e2fs_debs " in
		*" $f "*) ;;
		*) rm -f "$f" ;;
		esac
	done
}

# Everything the images are made of: the packages and this recipe.
recipe_key() {
	{ for deb in $kernel_deb $busybox_deb $e2fs_debs; do basename "$deb"; done
	  echo "$guest_modules $e2fs_programs"
	  find "$here" -type f | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1
}

# The kernel package's vmlinuz and modules, with the modules.dep,
# modules.softdep and modules.alias that its postinst would make (the
# package ships none).
extract_kernel() {
	mkdir -p "$work/kernel"
	dpkg-deb --fsys-tarfile "$kernel_deb" |
		tar -x -C "$work/kernel" --wildcards './boot/vmlinuz-*' './lib/modules/*'
	release=$(ls "$work/kernel/lib/modules")
	depmod -b "$work/kernel" "$release"
}

# busybox as every applet it has, and as /init.
stage_busybox() {
	mkdir -p "$work/busybox" "$root/bin"
	dpkg-deb -x "$busybox_deb" "$work/busybox"
	cp "$work/busybox/bin/busybox" "$root/bin/busybox"
	applets=$("$root/bin/busybox" --list-full | grep -v '^bin/busybox$')
	# One process a link: this loop is most of a build's forks.
	(cd "$root" && echo "$applets" | sed -n 's|/[^/]*$||p' | sort -u | xargs mkdir -p)
	for applet in $applets; do
		ln -s /bin/busybox "$root/$applet"
	done
	ln -s /sbin/init "$root/init"
}

stage_modules() {
	kmods=$work/kernel/lib/modules/$release
	mods=$root/lib/modules/$release
	mkdir -p "$mods"
	awk -v roots="$guest_modules" -f "$here/load-order.awk" \
		"$kmods/modules.dep" "$kmods/modules.softdep" "$kmods/modules.alias" > "$mods/modules.load"
	while read -r path _; do
		mkdir -p "$mods/$(dirname "$path")"
		cp "$kmods/$path" "$mods/$path"
	done < "$mods/modules.load"
}

# ELF file FILE's program interpreter (PT_INTERP), a path.
interpreter() {
	readelf -lW "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'
}

# The ELF objects FILE loads: its program interpreter and DT_NEEDED names.
needed() {
	interpreter "$1" | xargs -r -n1 basename
	readelf -dW "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'
}

# e2fsprogs' programs (over busybox's mke2fs applet) as Debian ships them,
# mkfs.ext4 and the rest of mke2fs' names included, with /etc/mke2fs.conf
# and every library they load, found by name in the unpacked library
# packages, one level at a time until nothing new is needed.
stage_e2fsprogs() {
	e2fs=$work/e2fs
	mkdir -p "$e2fs" "$root/lib/x86_64-linux-gnu" "$root/lib64"
	for deb in $e2fs_debs; do dpkg-deb -x "$deb" "$e2fs"; done
	for program in $e2fs_programs; do
		rm -f "$root/$program"
		cp "$e2fs/$program" "$root/$program"
	done
	for link in mkfs.ext2 mkfs.ext3 mkfs.ext4 fsck.ext2 fsck.ext3 fsck.ext4; do
		target=$(readlink "$e2fs/sbin/$link") || die "e2fsprogs has no /sbin/$link"
		rm -f "$root/sbin/$link"
		ln -s "$target" "$root/sbin/$link"
	done
	cp "$e2fs/etc/mke2fs.conf" "$root/etc/mke2fs.conf"
	libs=$root/lib/x86_64-linux-gnu
	todo=$(for program in $e2fs_programs; do needed "$root/$program"; done | sort -u)
	while [ -n "$todo" ]; do
		for lib in $todo; do
			found=$(find "$e2fs/lib" "$e2fs/usr/lib" -name "$lib" | head -n 1)
			[ -n "$found" ] || die "no package of $e2fs_pkgs has $lib, which e2fsprogs needs"
			cp -L "$found" "$libs/$lib"
		done
		todo=$(for lib in $todo; do needed "$libs/$lib"; done | sort -u | while read -r lib; do
			[ -f "$libs/$lib" ] || echo "$lib"; done)
	done
	# The loader where the programs' PT_INTERP names it.
	interp=$(interpreter "$root/sbin/mke2fs")
	[ -e "$root$interp" ] || ln -s "/lib/x86_64-linux-gnu/$(basename "$interp")" "$root$interp"
}

# Static, so it needs none of the libraries in the initramfs; libc.a is the build machine's (libc6-dev).
stage_blkbench() {
	${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$root/bin/blkbench" "$here/blkbench.c" ||
		die "cannot compile $here/blkbench.c statically (is libc6-dev installed?)"
}

make_initrd() {
	root=$work/root
	mkdir -p "$root"
	cp -R "$here/rootfs/." "$root/"
	mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/mnt" "$root/var/log" "$root/var/run"
	stage_busybox
	stage_modules
	stage_e2fsprogs
	stage_blkbench
	# /dev/console is not needed here: the kernel's built-in initramfs
	# (usr/default_cpio_list) has it, and this archive unpacks over it.
	# The same packages and recipe give the same bytes: every file dated
	# 1970-01-01, inode numbers given in order (--reproducible).
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
		gzip -9n > "$out/initrd.img.new"
}

mkdir -p "$cache"
if ! fetch_packages; then
	if update_lists && fetch_packages; then :; else
		tail -n 4 "$cache/apt.log" | sed 's/^/  /' >&2
		die "cannot fetch $failed from Debian's archive (apt's words above);" \
			"run \`sudo apt-get update\`, check the network, then \`make linux\`"
	fi
fi
rm -f "$cache/apt.log"
prune_cache

key=$(recipe_key)
if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$key" ]; then
	say "$out is up to date (kernel $(cat "$out/kernel.release"))"
	exit 0
fi

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP  # the unpacked kernel goes on Ctrl-C too
extract_kernel
make_initrd
cp "$work/kernel/boot/vmlinuz-$release" "$out/vmlinuz.new"
mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$out/initrd.img.new" "$out/initrd.img"
echo "$release" > "$out/kernel.release"
cp "$root/lib/modules/$release/modules.load" "$out/modules.load"
echo "$key" > "$out/stamp"
say "kernel $release, $(wc -l < "$out/modules.load") modules, in $(($(date +%s) - start)) s:" \
	"$out/vmlinuz $(du -k "$out/vmlinuz" | cut -f1) KiB, $out/initrd.img $(du -k "$out/initrd.img" | cut -f1) KiB"
