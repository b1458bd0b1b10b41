/*
 * The configuration as hv.cfg text: what `config` shows. cfg_parse() reads
 * it back to the same configuration (line numbers aside), and so does
 * `hvcfg check`.
 */
#ifndef HV_CONFIG_PRINT_H
#define HV_CONFIG_PRINT_H

#include <stddef.h>

#include "config.h"

/* Receives the text a line at a time, each with its newline. */
typedef void cfg_put_fn(void *ctx, const char *text, size_t len);

void cfg_print(const struct hv_config *cfg, cfg_put_fn *put, void *ctx);
/* One [partition NAME] section. */
void cfg_print_partition(const struct cfg_partition *p, cfg_put_fn *put, void *ctx);

#endif
