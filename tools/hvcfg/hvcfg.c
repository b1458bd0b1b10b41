/*
 * hvcfg: checks an hv.cfg on the host with the hypervisor's own parser.
 *
 *   hvcfg check FILE   prints FILE:LINE: REASON for each error, exit 1;
 *                      a summary and exit 0 when the config is good.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct hv_config cfg;
static struct cfg_errors errs;

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

static void print_summary(const char *path)
{
	uint32_t i;

	printf("%s: ok, %u partition%s\n", path, cfg.npartitions, cfg.npartitions == 1 ? "" : "s");
	for (i = 0; i < cfg.npartitions; i++) {
		const struct cfg_partition *p = &cfg.partitions[i];
		printf("  %s: %llu MiB, %u vCPU%s, kernel %s, %u disk%s, autostart %s\n", p->name,
		       (unsigned long long)(p->memory >> 20), p->vcpus, p->vcpus == 1 ? "" : "s",
		       p->kernel, p->ndisks, p->ndisks == 1 ? "" : "s", p->autostart ? "yes" : "no");
	}
}

static int check(const char *path)
{
	size_t len;
	char *text = read_all(path, &len);
	uint32_t i;

	if (!text) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 2;
	}
	cfg_parse(text, len, &cfg, &errs);
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
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: hvcfg check FILE\n");
		return 2;
	}
	return check(argv[2]);
}
