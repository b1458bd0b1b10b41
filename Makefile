# Build of the hypervisor, its UEFI loader, host tools, images and tests.
# `make help` lists the targets.

BUILD   ?= build
PYTHON  ?= /usr/bin/python3
VERSION := 0.1.0-$(shell git describe --always --dirty 2>/dev/null || echo unknown)

CC      ?= gcc
NASM    ?= nasm
LD      ?= ld
OBJCOPY ?= objcopy

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wvla -Wpointer-arith -Wundef \
            -Wstrict-prototypes -Wmissing-prototypes

# ---- the hypervisor: freestanding, position independent, no SSE, no red zone
HV_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -ffreestanding -fpie -fvisibility=hidden \
             -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
             -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
             -Ihv -Iarch/x86 -Idrivers -Iboot/efi -include $(BUILD)/version.h
HV_LDFLAGS := -static -pie --no-dynamic-linker -z text -z max-page-size=4096 \
              -z noexecstack -T arch/x86/hv.ld

HV_SRCS := hv/main.c hv/commands.c hv/command_table.c hv/config_print.c hv/config.c hv/kernel.c hv/bzimage.c hv/multiboot.c hv/console.c hv/line_edit.c hv/log.c hv/pmem.c hv/mm.c hv/partition.c \
           hv/lifecycle.c hv/part_clock.c hv/ratelimit.c hv/sched.c hv/scheduler.c arch/x86/lapic.c arch/x86/host_ioapic.c \
           hv/exits.c hv/vcpu_irq.c hv/pvclock.c hv/vdev/bus.c hv/vdev/irq.c hv/vdev/uart.c hv/vdev/vlapic.c hv/vdev/ioapic.c \
           hv/vdev/pci.c hv/vdev/pci_testdev.c hv/vdev/virtqueue.c hv/vdev/virtio_pci.c hv/vdev/virtio_blk.c \
           hv/vdev/virtio_net.c hv/vdev/virtio_console.c hv/vdev/aml.c hv/vdev/acpi_tables.c hv/vdev/acpi_pm.c \
           hv/vdev/reset.c hv/vdev/kbc.c hv/vdev/pic.c hv/vdev/pit.c hv/vdev/rtc.c hv/vdev/fw_cfg.c hv/vdev/debug_exit.c \
           hv/walltime.c hv/blk.c hv/disks.c hv/diskbench.c hv/diskbench_plan.c hv/vswitch.c hv/net.c hv/lib/gpt_disk.c hv/lib/crc32.c hv/lib/fmt.c \
           hv/lib/str.c hv/lib/mem.c hv/lib/date.c hv/lib/mc146818.c hv/lib/byte_ring.c hv/lib/lat_hist.c \
           arch/x86/cpu.c arch/x86/cpuinfo.c arch/x86/desc.c arch/x86/exceptions.c \
           arch/x86/paging.c arch/x86/gpt.c arch/x86/space.c arch/x86/tag_pool.c arch/x86/decode.c arch/x86/mmio_emul.c \
           arch/x86/guest_walk.c arch/x86/policy.c arch/x86/mitigations.c arch/x86/mitigate.c arch/x86/control_regs.c \
           arch/x86/guest_cpu.c arch/x86/guest_boot.c arch/x86/guest_mmio.c arch/x86/vcpu_select.c arch/x86/tsc.c arch/x86/tsc_rate.c arch/x86/smp.c \
           arch/x86/svm/svm.c arch/x86/svm/svm_event.c arch/x86/vmx/vmx.c arch/x86/vmx/controls.c \
           boot/efi/elf_load.c drivers/acpi.c drivers/ahci.c drivers/ata.c drivers/ata_cmd.c drivers/block.c \
           drivers/ramdisk.c drivers/cmos_rtc.c drivers/hpet.c drivers/host_power.c drivers/pci_host.c drivers/pci_msi.c drivers/blk_selftest.c \
           drivers/nvme.c drivers/nvme_prp.c drivers/uart16550.c drivers/virtio_blk_host.c \
           drivers/virtio_blk_host_queue.c
HV_ASMS := arch/x86/entry.asm arch/x86/trampoline.asm arch/x86/svm/svm_entry.asm arch/x86/vmx/vmx_entry.asm
HV_OBJS := $(HV_SRCS:%.c=$(BUILD)/hv/%.o) $(HV_ASMS:%.asm=$(BUILD)/hv/%.o)

# ---- the loader: a GNU-EFI application
EFI_INC   := /usr/include/efi
EFI_LIB   := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 $(WARNINGS) -Wno-strict-prototypes -Wno-missing-prototypes \
              -fpic -ffreestanding -fno-stack-protector -fno-strict-aliasing -fshort-wchar \
              -mno-red-zone -maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER \
              -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 -Ihv -Iboot/efi
EFI_SRCS := boot/efi/loader.c boot/efi/elf_load.c hv/config.c hv/lib/fmt.c hv/lib/str.c
EFI_OBJS := $(EFI_SRCS:%.c=$(BUILD)/efi/%.o)

# ---- host builds: tools and unit tests share the hypervisor's own sources
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS) -Ihv -Iboot/efi -Iarch/x86 -Idrivers -fsanitize=address,undefined \
               -fno-sanitize-recover=all
CONFIG_SRCS := hv/config.c hv/lib/fmt.c hv/lib/str.c

UNIT_TESTS := test_config test_pmem test_log test_elf_load test_console test_gpt test_decode test_policy test_mitigations \
              test_vmx_controls test_sched test_scheduler test_vuart test_lifecycle test_control_regs test_guest_walk test_space \
              test_tsc_rate test_tag_pool test_ratelimit test_line_edit test_bus test_mmio_emul test_pci \
              test_aml test_acpi_tables test_acpi_pm test_reset \
              test_vlapic test_ioapic test_bzimage test_walltime test_pic test_pit test_rtc test_multiboot \
              test_fw_cfg test_debug_exit test_pvclock test_pci_host test_nvme_prp test_nvme test_blk test_gpt_disk \
              test_virtqueue test_virtio_pci test_virtio_blk test_vswitch test_virtio_net test_virtio_console test_ata_cmd test_uart16550 \
              test_part_clock test_virtio_blk_host_queue test_virtio_blk_host test_byte_ring test_acpi_madt \
              test_diskbench_plan test_lat_hist test_ahci test_ata test_svm_event test_hpet
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/host/%)

test_config_SRCS   := tests/unit/test_config.c hv/config_print.c $(CONFIG_SRCS)
test_config_CFLAGS := -DREADME_PATH='"$(CURDIR)/README.md"'
test_pmem_SRCS     := tests/unit/test_pmem.c hv/pmem.c
test_log_SRCS      := tests/unit/test_log.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_elf_load_SRCS := tests/unit/test_elf_load.c boot/efi/elf_load.c
test_console_SRCS  := tests/unit/test_console.c hv/console.c hv/command_table.c hv/line_edit.c hv/lib/fmt.c hv/lib/str.c
test_line_edit_SRCS := tests/unit/test_line_edit.c tests/unit/vt_screen.c hv/line_edit.c hv/lib/fmt.c hv/lib/str.c
test_gpt_SRCS      := tests/unit/test_gpt.c arch/x86/gpt.c
test_decode_SRCS   := tests/unit/test_decode.c arch/x86/decode.c
test_guest_walk_SRCS := tests/unit/test_guest_walk.c arch/x86/guest_walk.c
test_space_SRCS    := tests/unit/test_space.c arch/x86/space.c arch/x86/gpt.c arch/x86/guest_walk.c arch/x86/tag_pool.c arch/x86/decode.c
test_mmio_emul_SRCS := tests/unit/test_mmio_emul.c arch/x86/mmio_emul.c arch/x86/decode.c arch/x86/guest_walk.c
test_policy_SRCS   := tests/unit/test_policy.c arch/x86/policy.c arch/x86/mitigations.c
test_mitigations_SRCS := tests/unit/test_mitigations.c arch/x86/mitigations.c
test_pvclock_SRCS  := tests/unit/test_pvclock.c hv/pvclock.c
test_vmx_controls_SRCS := tests/unit/test_vmx_controls.c arch/x86/vmx/controls.c
test_sched_SRCS    := tests/unit/test_sched.c hv/sched.c
test_sched_CFLAGS  := -pthread # its lost wake-up hunt races two threads
test_scheduler_SRCS := tests/unit/test_scheduler.c hv/scheduler.c hv/sched.c hv/vcpu_irq.c hv/vdev/vlapic.c hv/part_clock.c
test_scheduler_CFLAGS := -pthread # each CPU a thread
test_svm_event_SRCS := tests/unit/test_svm_event.c arch/x86/svm/svm_event.c hv/vcpu_irq.c hv/vdev/vlapic.c hv/vdev/pic.c \
                       hv/vdev/ioapic.c
test_vuart_SRCS    := tests/unit/test_vuart.c hv/vdev/uart.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_uart16550_SRCS := tests/unit/test_uart16550.c drivers/uart16550.c hv/lib/byte_ring.c
test_byte_ring_SRCS := tests/unit/test_byte_ring.c hv/lib/byte_ring.c
test_lat_hist_SRCS := tests/unit/test_lat_hist.c hv/lib/lat_hist.c
test_acpi_madt_SRCS := tests/unit/test_acpi_madt.c drivers/acpi.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_lifecycle_SRCS := tests/unit/test_lifecycle.c hv/lifecycle.c
test_control_regs_SRCS := tests/unit/test_control_regs.c arch/x86/control_regs.c
test_tsc_rate_SRCS := tests/unit/test_tsc_rate.c arch/x86/tsc_rate.c hv/lib/fmt.c hv/lib/str.c
test_hpet_SRCS     := tests/unit/test_hpet.c drivers/hpet.c drivers/acpi.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_tag_pool_SRCS := tests/unit/test_tag_pool.c arch/x86/tag_pool.c
test_ratelimit_SRCS := tests/unit/test_ratelimit.c hv/ratelimit.c
test_part_clock_SRCS := tests/unit/test_part_clock.c hv/part_clock.c hv/vdev/vlapic.c hv/vdev/pit.c
test_bus_SRCS      := tests/unit/test_bus.c hv/vdev/bus.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_bus_CFLAGS    := -pthread # vCPUs read the bus while one moves a range
test_pci_SRCS      := tests/unit/test_pci.c tests/unit/fake_pci_guest.c hv/vdev/pci.c hv/vdev/pci_testdev.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c \
                      hv/lib/fmt.c hv/lib/str.c
test_aml_SRCS      := tests/unit/test_aml.c hv/vdev/aml.c
test_acpi_tables_SRCS := tests/unit/test_acpi_tables.c hv/vdev/acpi_tables.c hv/vdev/aml.c
test_acpi_pm_SRCS  := tests/unit/test_acpi_pm.c hv/vdev/acpi_pm.c hv/part_clock.c
test_reset_SRCS    := tests/unit/test_reset.c hv/vdev/reset.c hv/vdev/kbc.c
test_vlapic_SRCS   := tests/unit/test_vlapic.c hv/vdev/vlapic.c
test_ioapic_SRCS   := tests/unit/test_ioapic.c hv/vdev/ioapic.c
test_bzimage_SRCS  := tests/unit/test_bzimage.c hv/bzimage.c arch/x86/guest_boot.c hv/lib/fmt.c hv/lib/str.c
test_walltime_SRCS := tests/unit/test_walltime.c hv/walltime.c hv/lib/date.c hv/lib/mc146818.c drivers/cmos_rtc.c
test_pic_SRCS      := tests/unit/test_pic.c hv/vdev/pic.c
test_pit_SRCS      := tests/unit/test_pit.c hv/vdev/pit.c
test_rtc_SRCS      := tests/unit/test_rtc.c hv/vdev/rtc.c hv/walltime.c hv/lib/date.c hv/lib/mc146818.c
test_multiboot_SRCS := tests/unit/test_multiboot.c hv/multiboot.c hv/kernel.c hv/bzimage.c boot/efi/elf_load.c \
                       arch/x86/guest_boot.c hv/lib/fmt.c hv/lib/str.c
test_fw_cfg_SRCS   := tests/unit/test_fw_cfg.c hv/vdev/fw_cfg.c
test_debug_exit_SRCS := tests/unit/test_debug_exit.c hv/vdev/debug_exit.c
test_pci_host_SRCS := tests/unit/test_pci_host.c drivers/pci_host.c drivers/pci_msi.c drivers/acpi.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_nvme_prp_SRCS := tests/unit/test_nvme_prp.c drivers/nvme_prp.c
test_nvme_SRCS := tests/unit/test_nvme.c tests/unit/fake_host_disk.c drivers/nvme.c drivers/nvme_prp.c drivers/block.c hv/log.c hv/lib/fmt.c \
                  hv/lib/str.c
test_virtqueue_SRCS := tests/unit/test_virtqueue.c hv/vdev/virtqueue.c
test_virtio_pci_SRCS := tests/unit/test_virtio_pci.c tests/unit/fake_pci_guest.c hv/vdev/virtio_pci.c hv/vdev/virtqueue.c hv/vdev/pci.c \
                        hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_virtio_blk_SRCS := tests/unit/test_virtio_blk.c tests/unit/fake_pci_guest.c hv/vdev/virtio_blk.c hv/vdev/virtio_pci.c hv/vdev/virtqueue.c \
                        hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_gpt_disk_SRCS := tests/unit/test_gpt_disk.c hv/lib/gpt_disk.c hv/lib/crc32.c hv/lib/fmt.c
test_blk_SRCS      := tests/unit/test_blk.c hv/blk.c hv/lib/lat_hist.c hv/disks.c hv/config.c drivers/block.c drivers/blk_selftest.c drivers/ramdisk.c hv/lib/gpt_disk.c \
                      hv/lib/crc32.c hv/lib/fmt.c hv/lib/str.c
test_blk_CFLAGS    := -DGPT_IMAGE='"$(CURDIR)/tests/fuzz/corpus/gpt_disk/two-parts"'
test_diskbench_plan_SRCS := tests/unit/test_diskbench_plan.c hv/diskbench_plan.c
test_vswitch_SRCS  := tests/unit/test_vswitch.c hv/vswitch.c hv/lib/str.c
test_virtio_net_SRCS := tests/unit/test_virtio_net.c hv/vdev/virtio_net.c hv/vswitch.c hv/vdev/virtio_pci.c \
                        hv/vdev/virtqueue.c hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_virtio_console_SRCS := tests/unit/test_virtio_console.c tests/unit/fake_pci_guest.c hv/vdev/virtio_console.c hv/vdev/uart.c hv/vdev/virtio_pci.c \
                            hv/vdev/virtqueue.c hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_ata_cmd_SRCS  := tests/unit/test_ata_cmd.c drivers/ata_cmd.c
test_virtio_blk_host_queue_SRCS := tests/unit/test_virtio_blk_host_queue.c drivers/virtio_blk_host_queue.c hv/lib/fmt.c
test_virtio_blk_host_SRCS := tests/unit/test_virtio_blk_host.c tests/unit/fake_host_disk.c drivers/virtio_blk_host.c drivers/virtio_blk_host_queue.c \
                             drivers/ata_cmd.c drivers/block.c hv/log.c hv/lib/fmt.c hv/lib/str.c
test_ahci_SRCS := tests/unit/test_ahci.c tests/unit/fake_host_disk.c drivers/ahci.c drivers/ata_cmd.c drivers/block.c hv/log.c \
                  hv/lib/fmt.c hv/lib/str.c
test_ata_SRCS := tests/unit/test_ata.c tests/unit/fake_host_disk.c drivers/ata.c drivers/ata_cmd.c drivers/block.c hv/log.c \
                 hv/lib/fmt.c hv/lib/str.c
test_ata_CFLAGS := -iquote tests/unit/port_io # its port I/O goes to the fake channels

# ---- guests: freestanding, linked where they run
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -ffreestanding -fno-pie -mno-red-zone \
                -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables -Ihv -Iguests
# What the self-test and the attack guest share: entry, runtime, the MMIO checks and hostile modes.
GUEST_COMMON_OBJS := $(addprefix $(BUILD)/guests/,common/entry.o common/runtime.o common/mmio.o hv/lib/fmt.o hv/lib/str.o)
SELFTEST_OBJS := $(GUEST_COMMON_OBJS) $(addprefix $(BUILD)/guests/,selftest/selftest.o selftest/modes.o \
                 selftest/modes_code.o selftest/apic.o selftest/echo.o selftest/clock.o selftest/isolation.o)
PLATFORM_OBJS := $(addprefix $(BUILD)/guests/,platform/entry.o platform/main.o platform/acpi.o platform/timing.o \
                 platform/lapic.o platform/smp.o platform/irq.o platform/pci.o platform/fwcfg.o platform/mmio.o \
                 hv/lib/fmt.o hv/lib/str.o hv/lib/mem.o)
ATTACK_OBJS := $(GUEST_COMMON_OBJS) $(addprefix $(BUILD)/guests/,attack/attack.o attack/virtio.o attack/queues.o attack/devices.o \
               attack/interrupts.o attack/cpu.o attack/events.o \
               attack/workload.o)
GUESTS := $(BUILD)/selftest.elf $(BUILD)/platform.elf $(BUILD)/attack.elf
# Multiboot test kernels for the end-to-end tests: the same source as ELF32 and with the a.out kludge.
E2E_KERNELS := $(BUILD)/mb_hello.elf $(BUILD)/mb_hello.bin

# ---- fuzz targets (libFuzzer): the parsers of untrusted input
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS) -Ihv -Iboot/efi -Iarch/x86 -Idrivers \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS := fuzz_decode fuzz_config fuzz_elf fuzz_walk fuzz_line_edit fuzz_console fuzz_mmio fuzz_pci fuzz_bzimage \
           fuzz_multiboot fuzz_virtqueue fuzz_virtio_blk fuzz_gpt_disk fuzz_vswitch fuzz_virtio_net fuzz_mmio_diff fuzz_acpi \
           fuzz_virtio_console
FUZZ_BINS := $(FUZZERS:%=$(BUILD)/fuzz/%)
fuzz_decode_SRCS := tests/fuzz/fuzz_decode.c arch/x86/decode.c
fuzz_config_SRCS := tests/fuzz/fuzz_config.c $(CONFIG_SRCS)
fuzz_elf_SRCS    := tests/fuzz/fuzz_elf.c boot/efi/elf_load.c
fuzz_walk_SRCS   := tests/fuzz/fuzz_walk.c arch/x86/guest_walk.c
fuzz_line_edit_SRCS := tests/fuzz/fuzz_line_edit.c tests/unit/vt_screen.c hv/line_edit.c hv/lib/fmt.c hv/lib/str.c
fuzz_console_SRCS := tests/fuzz/fuzz_console.c hv/console.c hv/command_table.c hv/line_edit.c hv/lib/fmt.c hv/lib/str.c
fuzz_mmio_SRCS   := tests/fuzz/fuzz_mmio.c arch/x86/mmio_emul.c arch/x86/decode.c arch/x86/guest_walk.c
fuzz_mmio_diff_SRCS := tests/fuzz/fuzz_mmio_diff.c arch/x86/mmio_emul.c arch/x86/decode.c arch/x86/guest_walk.c
fuzz_acpi_SRCS   := tests/fuzz/fuzz_acpi.c drivers/acpi.c hv/log.c hv/lib/fmt.c hv/lib/str.c
fuzz_pci_SRCS    := tests/fuzz/fuzz_pci.c hv/vdev/pci.c hv/vdev/pci_testdev.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c \
                    hv/lib/fmt.c hv/lib/str.c
fuzz_bzimage_SRCS := tests/fuzz/fuzz_bzimage.c hv/bzimage.c hv/lib/fmt.c
fuzz_multiboot_SRCS := tests/fuzz/fuzz_multiboot.c hv/multiboot.c hv/lib/fmt.c hv/lib/str.c
fuzz_virtqueue_SRCS := tests/fuzz/fuzz_virtqueue.c hv/vdev/virtqueue.c
fuzz_virtio_blk_SRCS := tests/fuzz/fuzz_virtio_blk.c tests/fuzz/fake_pci_partition.c hv/vdev/virtio_blk.c hv/vdev/virtio_pci.c hv/vdev/virtqueue.c \
                        hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
fuzz_gpt_disk_SRCS := tests/fuzz/fuzz_gpt_disk.c hv/lib/gpt_disk.c hv/lib/crc32.c hv/lib/fmt.c
fuzz_vswitch_SRCS := tests/fuzz/fuzz_vswitch.c hv/vswitch.c hv/lib/str.c
fuzz_virtio_net_SRCS := tests/fuzz/fuzz_virtio_net.c tests/fuzz/fake_pci_partition.c hv/vdev/virtio_net.c hv/vswitch.c hv/vdev/virtio_pci.c \
                        hv/vdev/virtqueue.c hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
fuzz_virtio_console_SRCS := tests/fuzz/fuzz_virtio_console.c tests/fuzz/fake_pci_partition.c hv/vdev/virtio_console.c hv/vdev/virtio_pci.c \
                            hv/vdev/virtqueue.c hv/vdev/pci.c hv/vdev/bus.c hv/vdev/irq.c hv/log.c hv/lib/fmt.c hv/lib/str.c
FUZZ_SECONDS ?= 60

GUEST_CFG ?= guests/hv.cfg
# Debian's kernel and the busybox initramfs, which the default hv.cfg boots.
LINUX_IMAGES := $(BUILD)/linux/vmlinuz $(BUILD)/linux/initrd.img
IMAGE_FILES := $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(GUESTS) $(LINUX_IMAGES)

.PHONY: all deps linux iso usb run test unit fuzz bench durability soak clean help FORCE

all: $(BUILD)/BOOTX64.EFI $(BUILD)/hv.elf $(BUILD)/hvcfg $(BUILD)/acpitables $(GUESTS) $(E2E_KERNELS)

help:
	@echo "make          build the loader, hv.elf and the hvcfg and acpitables tools into $(BUILD)/"
	@echo "make deps     install the Debian packages the project needs"
	@echo "make linux    $(BUILD)/linux/vmlinuz and initrd.img: Debian's kernel, a busybox initramfs"
	@echo "make iso      $(BUILD)/hv.iso, an El Torito EFI ISO"
	@echo "make usb      $(BUILD)/hv-usb.img, a GPT disk image with an EFI system partition"
	@echo "make run      boot the default config in QEMU, each Linux with a disk on $(BUILD)/run/disk.img"
	@echo "make test     host unit tests, then end-to-end tests in emulators"
	@echo "make bench    exit costs in instructions, under QEMU -icount (and Bochs, VT-x, with BOCHS=)"
	@echo "make fuzz     each fuzz target for FUZZ_SECONDS (60) seconds"
	@echo "make durability  DURABILITY_TRIALS (20) kills of QEMU right after a guest's fsync; no write lost"
	@echo "make soak     two loaded Linux partitions for SOAK_MINUTES (30), one restarted every SOAK_RESTART_MINUTES (3)"

deps:
	@tools/deps.sh

# Rewritten only when the version changes, so that the banner never goes stale.
$(BUILD)/version.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define HV_VERSION "$(VERSION)"' > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/hv/%.o: %.c $(BUILD)/version.h
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hv/%.o: %.asm arch/x86/regs.inc
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -Werror -Iarch/x86/ $< -o $@

$(BUILD)/hv.elf: $(HV_OBJS) arch/x86/hv.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS)
	@tools/check-relocs.sh $@

$(BUILD)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/loader.so: $(EFI_OBJS)
	$(LD) -shared -Bsymbolic -nostdlib -znocombreloc -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) -L$(EFI_LIB) -lefi -lgnuefi -o $@

$(BUILD)/BOOTX64.EFI: $(BUILD)/loader.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela \
		-j '.rel.*' -j '.rela.*' -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

$(BUILD)/guests/%.o: guests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guests/hv/%.o: hv/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guests/%.o: guests/%.asm arch/x86/regs.inc
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -Werror -Iarch/x86/ $< -o $@

$(BUILD)/selftest.elf: $(SELFTEST_OBJS) guests/selftest/selftest.ld
	$(LD) -static -no-pie -z max-page-size=4096 -z noexecstack -T guests/selftest/selftest.ld \
		-o $@ $(SELFTEST_OBJS)

# The hostile guest of tests/e2e/test_attacks.py: the self-test's entry and link, its own attacks.
$(BUILD)/attack.elf: $(ATTACK_OBJS) guests/selftest/selftest.ld
	$(LD) -static -no-pie -z max-page-size=4096 -z noexecstack -T guests/selftest/selftest.ld \
		-o $@ $(ATTACK_OBJS)

# QEMU's Multiboot loader takes ELF32 only: the 64-bit link, converted (entry and segments are below 4 GiB).
$(BUILD)/platform.elf: $(PLATFORM_OBJS) guests/platform/platform.ld
	$(LD) -static -no-pie -z max-page-size=4096 -z noexecstack -T guests/platform/platform.ld \
		-o $@.64 $(PLATFORM_OBJS)
	$(OBJCOPY) -O elf32-i386 --strip-debug $@.64 $@

$(BUILD)/mb_hello.elf: tests/e2e/mb_hello.asm
	@mkdir -p $(BUILD)/e2e
	$(NASM) -f elf32 -Werror $< -o $(BUILD)/e2e/mb_hello.o
	$(LD) -m elf_i386 -static -z max-page-size=4096 -z noexecstack -Ttext=0x100000 -e start \
		-o $@ $(BUILD)/e2e/mb_hello.o

$(BUILD)/mb_hello.bin: tests/e2e/mb_hello.asm
	@mkdir -p $(dir $@)
	$(NASM) -f bin -DAOUT -Werror $< -o $@

$(BUILD)/hvcfg: tools/hvcfg/hvcfg.c $(CONFIG_SRCS) hv/kernel.c hv/bzimage.c hv/multiboot.c boot/efi/elf_load.c \
                arch/x86/guest_boot.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARNINGS) -Ihv -Iboot/efi -Iarch/x86 -o $@ $^

# A QEMU TCG plugin: make bench's breakdown of exit costs, the UART-flood test's counts per CPU (tools/insnprof).
$(BUILD)/insnprof.so: tools/insnprof/insnprof.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARNINGS) -shared -fPIC -o $@ $<

$(BUILD)/acpitables: tools/acpitables/acpitables.c hv/vdev/acpi_tables.c hv/vdev/aml.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARNINGS) -Ihv -o $@ $^

.SECONDEXPANSION:
# One compile and link per binary, so its headers are listed by a preprocessor
# pass of its own (-MMD would keep only the last source's).
$(UNIT_BINS): $(BUILD)/host/%: $$($$*_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $($*_CFLAGS) -MM -MP -MT $@ $($*_SRCS) > $@.d
	$(CC) $(HOST_CFLAGS) $($*_CFLAGS) -o $@ $($*_SRCS) -lcmocka

$(FUZZ_BINS): $(BUILD)/fuzz/%: $$($$*_SRCS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MM -MP -MT $@ $($*_SRCS) > $@.d
	clang $(FUZZ_CFLAGS) -o $@ $($*_SRCS)

# Fetched from Debian's archive into $(BUILD)/linux/cache; the script knows
# when its packages or recipe changed, so it runs every time.
linux: deps
	@guests/linux/build.sh $(BUILD)/linux

# Made when missing; `make linux` (which run and test call first) refreshes them.
$(LINUX_IMAGES) &:
	@guests/linux/build.sh $(BUILD)/linux

iso: $(BUILD)/hv.iso
usb: $(BUILD)/hv-usb.img

$(BUILD)/hv.iso: $(IMAGE_FILES) $(GUEST_CFG) tools/mkesp.sh tools/mkiso.sh
	tools/mkiso.sh $@ $(GUEST_CFG) $(IMAGE_FILES)

$(BUILD)/hv-usb.img: $(IMAGE_FILES) $(GUEST_CFG) tools/mkesp.sh tools/mkusb.sh
	tools/mkusb.sh $@ $(GUEST_CFG) $(IMAGE_FILES)

# The default configuration, each Linux partition with a virtual disk on a
# partition of a host disk image (tools/mkrundisk.sh), the image on an NVMe
# controller.
run: deps
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory $(IMAGE_FILES)
	tools/mkrundisk.sh $(BUILD)/run
	tools/mkiso.sh $(BUILD)/run/hv.iso $(BUILD)/run/hv.cfg $(IMAGE_FILES)
	DISK=$(BUILD)/run/disk.img tools/run-qemu.sh $(BUILD)/run/hv.iso

unit: $(UNIT_BINS)

# Seeds of fuzz_NAME in tests/fuzz/corpus/NAME; what libFuzzer adds goes to $(BUILD)/fuzz/corpus-NAME.
fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do echo "$$f: $(FUZZ_SECONDS) s"; n=$${f##*/fuzz_}; \
		seeds=; [ -d tests/fuzz/corpus/$$n ] && seeds="$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n" \
			&& mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$seeds 2>&1 | tail -n 3 || exit 1; done

test: deps
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory all unit iso usb $(FUZZ_BINS) $(BUILD)/insnprof.so
	$(PYTHON) ci/run_tests.py $(BUILD) $(UNIT_BINS) -- $(FUZZ_BINS)

bench: deps
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory all $(BUILD)/insnprof.so
	$(PYTHON) ci/bench.py

# tests/e2e/test_durability.py with more trials than `make test` gives it (2).
DURABILITY_TRIALS ?= 20
durability: deps
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory all
	DURABILITY_TRIALS=$(DURABILITY_TRIALS) $(PYTHON) -m pytest -v -rs -s -p no:cacheprovider tests/e2e/test_durability.py

# ci/soak.py; SOAK_MINUTES and SOAK_RESTART_MINUTES come from the environment.
soak: deps
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory all
	$(PYTHON) ci/soak.py

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
