#!/bin/sh
# run-qemu.sh IMAGE: boots IMAGE (an .iso, else a raw disk) in QEMU with
# OVMF, the serial console on this terminal. Quit with Ctrl-A then X.
#
# ACCEL and CPU override the choice: KVM with the host CPU where /dev/kvm
# offers VT-x or AMD-V, else TCG emulating an AMD EPYC (AMD-V with NPT).
# MEM (MiB) and SMP size the machine; DISK, a raw image, becomes an NVMe
# disk; QEMU_EXTRA adds options.
set -eu
image=$1
code=/usr/share/OVMF/OVMF_CODE.fd
vars_template=/usr/share/OVMF/OVMF_VARS.fd

if [ -z "${ACCEL:-}" ]; then
	if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		ACCEL=kvm
	else
		ACCEL=tcg
	fi
fi
if [ -z "${CPU:-}" ]; then
	if [ "$ACCEL" = kvm ]; then
		CPU=host
	else
		# EPYC less the features TCG cannot emulate, which QEMU would warn about.
		CPU=EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
	fi
fi
vars=$(mktemp --suffix=.fd)
trap 'rm -f "$vars"' EXIT
trap 'exit 1' INT TERM HUP
cp "$vars_template" "$vars"

case "$image" in
*.iso) medium="-drive file=$image,media=cdrom,readonly=on,if=ide" ;;
*) medium="-drive file=$image,format=raw,if=ide" ;;
esac

disk=""
[ -z "${DISK:-}" ] || disk="-drive file=$DISK,format=raw,if=none,id=disk -device nvme,drive=disk,serial=hvdisk"

echo "run-qemu: $ACCEL, cpu $CPU; quit with Ctrl-A then X" >&2
# shellcheck disable=SC2086 # medium, disk and QEMU_EXTRA are option lists
qemu-system-x86_64 -machine q35 -accel "$ACCEL" -cpu "$CPU" \
	-smp "${SMP:-2}" -m "${MEM:-1024}" \
	-drive if=pflash,format=raw,readonly=on,file="$code" \
	-drive if=pflash,format=raw,file="$vars" \
	$medium $disk -display none -serial mon:stdio -no-reboot \
	${QEMU_EXTRA:-}
