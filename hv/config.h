/*
 * hv.cfg: the one text file that describes the machine's partitions.
 *
 * The parser is freestanding: the hypervisor uses it at boot and the host
 * tool `hvcfg check` uses the very same code, so a config that checks on
 * the host boots. The format is documented in README.md.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_PARTITIONS_MAX 16
#define CFG_VCPUS_MAX 64   /* also the number of host CPUs a CPU set can name */
#define CFG_DISKS_MAX 8
#define CFG_MODULES_MAX 8  /* Multiboot modules of a partition */
#define CFG_NAME_MAX 32
#define CFG_DISK_NAME_MAX 16 /* a host disk's name, as drivers/block.h's BLK_NAME_MAX */
#define CFG_FILE_MAX 64    /* a file name on the boot medium, with its NUL */
#define CFG_CMDLINE_MAX 2048 /* with its NUL */
#define CFG_LINE_MAX 4096    /* the longest cmdline fits with its key, spacing and a comment */
#define CFG_MODULE_STRING_MAX 256 /* a module's FILE ARGS, with its NUL */
/* Files a config can name: each partition's kernel, initrd, ramdisk disks and modules. */
#define CFG_FILES_MAX (CFG_PARTITIONS_MAX * (2 + CFG_DISKS_MAX + CFG_MODULES_MAX))
#define CFG_SWITCHES_MAX 8
#define CFG_NETS_MAX 4       /* network ports of a partition */
#define CFG_SWITCH_PORTS_MAX 16
#define CFG_MAC_LEN 6
#define CFG_PORT_NAME_MAX (CFG_NAME_MAX + 4) /* "PARTITION.N", with its NUL */
#define CFG_ERRORS_MAX 16
#define CFG_ERROR_TEXT 200 /* a kernel's name and the reason it is refused */
#define CFG_SHARE_DEFAULT 100
#define CFG_SHARE_MAX 10000
#define CFG_MEMORY_ALIGN (2ull << 20)
#define CFG_MEMORY_MAX (1ull << 40)
#define CFG_MMIO_TOP (1ull << 52) /* x86-64 physical addresses have at most 52 bits */
#define CFG_MMIO_CONSOLE_BYTES 32 /* its 8 registers, 32 bits apart */
#define CFG_CONSOLE_BUFFER_DEFAULT (64ull << 10) /* a partition's UART output kept for an attach */
#define CFG_CONSOLE_BUFFER_MIN (4ull << 10)
#define CFG_CONSOLE_BUFFER_MAX (16ull << 20)

enum cfg_console_kind {
	CONSOLE_AUTO,  /* ACPI SPCR if the firmware has one, else COM1 */
	CONSOLE_IO,    /* 16550 at an I/O port */
	CONSOLE_MMIO,  /* 16550 with 32-bit registers at a physical address */
};

struct cfg_console {
	enum cfg_console_kind kind;
	uint64_t address;  /* port or physical address; 0 with CONSOLE_AUTO */
	uint32_t baud;     /* 0: the SPCR's speed, else 115200 */
};

enum cfg_disk_kind { DISK_GPT_NAME, DISK_GPT_GUID, DISK_RAMDISK };

#define CFG_SECTOR 512 /* offset= and size= of a disk are whole sectors */

struct cfg_disk {
	enum cfg_disk_kind kind;
	char source[CFG_FILE_MAX]; /* GPT partition name, GUID text or file */
	int read_only;
	uint64_t offset, size;     /* a sub-range of a GPT partition, bytes; size 0: to its end */
	uint32_t line;
};

/* A Multiboot module: a file, and the string its kernel is told with it. */
struct cfg_module {
	char file[CFG_FILE_MAX];
	char string[CFG_MODULE_STRING_MAX]; /* FILE ARGS as written, as QEMU's -initrd and GRUB pass it */
	uint32_t line;
};

/* A virtual switch: [switch NAME]. */
struct cfg_switch {
	char name[CFG_NAME_MAX];
	uint32_t line;
};

/* A network port: net = SWITCH [mac=XX:XX:XX:XX:XX:XX]. */
struct cfg_net {
	char sw[CFG_NAME_MAX];
	uint32_t switch_index;  /* in hv_config.switches */
	uint8_t mac[CFG_MAC_LEN]; /* as given, else derived from the port's name */
	uint32_t line;
};

struct cfg_partition {
	char name[CFG_NAME_MAX];
	uint32_t line;          /* of its [partition NAME] header */
	uint64_t memory;        /* bytes */
	uint32_t vcpus;
	uint64_t affinity[CFG_VCPUS_MAX]; /* host CPU mask per vCPU; 0: any */
	uint32_t share;
	int exclusive;          /* vCPU i owns the i-th CPU of its mask alone */
	int autostart;
	int test_devices;       /* the devices of test kernels: the PCI test device (vdev/pci_testdev.h),
	                           QEMU's debug-exit port and fw_cfg */
	char kernel[CFG_FILE_MAX];
	char initrd[CFG_FILE_MAX];
	uint32_t kernel_line, initrd_line;
	char cmdline[CFG_CMDLINE_MAX];
	uint32_t ndisks;
	struct cfg_disk disks[CFG_DISKS_MAX];
	uint32_t nmodules;
	struct cfg_module modules[CFG_MODULES_MAX];
	uint32_t nnets;
	struct cfg_net nets[CFG_NETS_MAX];
	uint64_t console_buffer; /* bytes of its UART output kept (whole pages) */
	int virtio_console;     /* a virtio-console beside its UART (vdev/virtio_console.h), feeding the same stream */
};

struct hv_config {
	struct cfg_console console;
	int log_level;          /* enum log_level */
	char disk_selftest[CFG_DISK_NAME_MAX]; /* a host disk to write, flush and read back at boot; "" none */
	uint32_t npartitions;
	struct cfg_partition partitions[CFG_PARTITIONS_MAX];
	uint32_t nswitches;
	struct cfg_switch switches[CFG_SWITCHES_MAX];
};

struct cfg_error {
	uint32_t line;
	char text[CFG_ERROR_TEXT];
};

struct cfg_errors {
	uint32_t count;         /* may exceed CFG_ERRORS_MAX; only that many are kept */
	struct cfg_error list[CFG_ERRORS_MAX];
};

/*
 * Parses len bytes of hv.cfg text into cfg (fully overwritten). Returns the
 * number of errors; cfg is only meaningful when that is 0.
 */
uint32_t cfg_parse(const char *text, size_t len, struct hv_config *cfg, struct cfg_errors *errs);

/* Calls fn for each file a partition names: its kernel, initrd, ramdisk disks and modules. */
typedef void cfg_file_fn(void *ctx, const struct cfg_partition *p, const char *key, const char *name,
			 uint32_t line);
void cfg_each_file(const struct hv_config *cfg, cfg_file_fn *fn, void *ctx);

/* The name of a partition's port index: "PARTITION.N". */
void cfg_port_name(const struct cfg_partition *p, uint32_t index, char name[CFG_PORT_NAME_MAX]);

/* Records one more error; for checks made after parsing (files present). */
void cfg_add_error(struct cfg_errors *errs, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
