/*
 * hvcfg: checks an hv.cfg on the host with the hypervisor's own parser.
 *
 *   hvcfg check [--dir DIR | --no-files] FILE
 *       prints FILE:LINE: REASON for each error, exit 1; a summary and
 *       exit 0 when the config is good. Each file it names (kernel, initrd,
 *       ramdisk disks, modules) must be in DIR (default: FILE's directory),
 *       as the loader reads them from its own; kernels are checked as the
 *       hypervisor checks them, a Multiboot kernel with its modules placed
 *       in the partition's memory. --no-files checks the text alone.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "guest_boot.h"
#include "kernel.h"
#include "vdev/platform.h"

static struct hv_config cfg;
static struct cfg_errors errs;

static const char usage[] = "usage: hvcfg check [--dir DIR | --no-files] FILE\n";

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	if (!f)
		return NULL;
	*len = 0;
	do {
		if (*len == cap) {
			char *bigger = realloc(buf, cap = cap ? cap * 2 : 4096);
			if (!bigger) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = bigger;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Its modules placed above it as the hypervisor places them; a missing module is reported on its own line. */
static const char *place_multiboot(const char *dir, const struct cfg_partition *p, struct kernel_image *k)
{
	struct e820_entry map[GUEST_E820_MAX];
	struct multiboot_boot b;
	char path[4096];
	struct stat st;
	unsigned i;

	kernel_multiboot_boot(p, map, guest_boot_e820(p->memory, map), &b);
	for (i = 0; i < b.nmodules; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, p->modules[i].file);
		if (stat(path, &st) != 0)
			return 0;
		b.modules[i].size = (uint64_t)st.st_size;
	}
	return multiboot_place(&k->mb, &b, &k->mb_layout);
}

static void check_kernel(const char *dir, const char *path, const struct cfg_partition *p, const char *name,
			 uint32_t line)
{
	struct kernel_image k;
	size_t len;
	char *file = read_all(path, &len);
	const char *why;

	if (!file) {
		cfg_add_error(&errs, line, "kernel '%s': %s", name, strerror(errno));
		return;
	}
	why = kernel_check((const uint8_t *)file, len, platform_low_ram(p->memory), &k);
	if (!why)
		why = kernel_check_config(&k, p);
	if (!why && k.format == KERNEL_MULTIBOOT)
		why = place_multiboot(dir, p, &k);
	if (why)
		cfg_add_error(&errs, line, "kernel '%s': %s", name, why);
	free(file);
}

/* The parser has refused names with a path separator, '.' and '..': name is a file of dir. */
static void check_file(void *dir, const struct cfg_partition *p, const char *key, const char *name,
		       uint32_t line)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", (const char *)dir, name);
	/* Names only, not paths: an error text holds CFG_ERROR_TEXT bytes. */
	if (stat(path, &st) != 0)
		cfg_add_error(&errs, line, "%s '%s' is not on the boot medium: %s", key, name, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		cfg_add_error(&errs, line, "%s '%s' is a directory, not a file", key, name);
	else if (!S_ISREG(st.st_mode))
		cfg_add_error(&errs, line, "%s '%s' is not a regular file", key, name);
	else if (strcmp(key, "kernel") == 0)
		check_kernel(dir, path, p, name, line);
}

/* The MACs a port gets are worth seeing before boot: most are derived. */
static void print_nets(const struct cfg_partition *p)
{
	char name[CFG_PORT_NAME_MAX];
	uint32_t i;

	for (i = 0; i < p->nnets; i++) {
		const uint8_t *m = p->nets[i].mac;
		cfg_port_name(p, i, name);
		printf("    port %s: switch %s, mac %02x:%02x:%02x:%02x:%02x:%02x\n", name, p->nets[i].sw, m[0], m[1],
		       m[2], m[3], m[4], m[5]);
	}
}

static void print_summary(const char *path)
{
	uint32_t i;

	printf("%s: ok, %u partition%s\n", path, cfg.npartitions, cfg.npartitions == 1 ? "" : "s");
	for (i = 0; i < cfg.npartitions; i++) {
		const struct cfg_partition *p = &cfg.partitions[i];
		printf("  %s: %llu MiB, %u vCPU%s, kernel %s, %u disk%s, autostart %s\n", p->name,
		       (unsigned long long)(p->memory >> 20), p->vcpus, p->vcpus == 1 ? "" : "s",
		       p->kernel, p->ndisks, p->ndisks == 1 ? "" : "s", p->autostart ? "yes" : "no");
		print_nets(p);
		if (p->virtio_console)
			printf("    virtio-console: its output joins the UART's (the guest's hvc0)\n");
	}
}

/* dir: where the files it names are, or NULL not to look for them. */
static int check(const char *path, char *dir)
{
	size_t len;
	char *text = read_all(path, &len);
	uint32_t i;

	if (!text) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 2;
	}
	if (cfg_parse(text, len, &cfg, &errs) == 0 && dir)
		cfg_each_file(&cfg, check_file, dir);
	free(text);
	for (i = 0; i < errs.count && i < CFG_ERRORS_MAX; i++)
		fprintf(stderr, "%s:%u: %s\n", path, errs.list[i].line, errs.list[i].text);
	if (errs.count > CFG_ERRORS_MAX)
		fprintf(stderr, "%s: ... and %u more errors\n", path, errs.count - CFG_ERRORS_MAX);
	if (errs.count)
		return 1;
	print_summary(path);
	return 0;
}

int main(int argc, char **argv)
{
	char *path = argv[argc - 1], *dir = NULL;
	int files = 1, i;

	if (argc < 3 || strcmp(argv[1], "check") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	for (i = 2; i < argc - 1; i++) {
		if (strcmp(argv[i], "--no-files") == 0) {
			files = 0;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc - 1) {
			dir = argv[++i];
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (files && !dir)
		dir = dirname(strdup(path)); /* freed at exit */
	return check(path, files ? dir : NULL);
}
