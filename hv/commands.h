/*
 * The operator's commands: their table (usage, options, arguments, an
 * example: hv/command_table.c, which the console checks each line
 * against) and the functions that run them (hv/main.c), each called only
 * with arguments its table entry allows.
 */
#ifndef HV_COMMANDS_H
#define HV_COMMANDS_H

#include "console.h"

#define STOP_TIMEOUT_DEFAULT 30 /* seconds a guest has to power off after the power button */
#define STOP_TIMEOUT_MAX 3600
#define LOG_LINES_MAX 100000

extern const struct console_command console_commands[];

struct hv_config;
struct partition;
struct pmem;

/* What the commands act on, as start-up left it. */
struct uart;

struct hv_system {
	const struct hv_config *config; /* NULL: the configuration was refused */
	struct partition *partitions;   /* one per configured partition; NULL: none can run */
	const char *why_none;           /* with partitions NULL: why */
	const struct pmem *pmem;
	unsigned cpus_online;
	const struct uart *console_uart; /* its receive ring's drops are shown in 'stats' */
};

/* Before the console starts (hv/commands.c). */
void commands_init(const struct hv_system *s);

void cmd_list(const struct console_args *a);
void cmd_info(const struct console_args *a);
void cmd_start(const struct console_args *a);
void cmd_stop(const struct console_args *a);
void cmd_restart(const struct console_args *a);
void cmd_pause(const struct console_args *a);
void cmd_resume(const struct console_args *a);
void cmd_console(const struct console_args *a);
void cmd_log(const struct console_args *a);
void cmd_stats(const struct console_args *a);
void cmd_cpus(const struct console_args *a);
void cmd_mem(const struct console_args *a);
void cmd_disks(const struct console_args *a);
void cmd_diskbench(const struct console_args *a);
void cmd_net(const struct console_args *a);
void cmd_config(const struct console_args *a);
void cmd_version(const struct console_args *a);
void cmd_reboot(const struct console_args *a);
void cmd_poweroff(const struct console_args *a);

#endif
