/* The operator's commands as the console checks and explains them (commands.h). */
#include "commands.h"

#define STOP_OPTIONS                                                                                   \
	{ { 'f', 0, 0, 0, "force it off at once, without asking the guest" },                          \
	  { 't', "SECONDS", 1, STOP_TIMEOUT_MAX, "how long the guest has to power off (default 30)" }, \
	  { 0 } }

#define JSON_OPTION { { 'j', 0, 0, 0, "one JSON object a line, for scripts (README: stable format)" }, { 0 } }
#define YES_OPTION { { 'y', 0, 0, 0, "do not ask for confirmation" }, { 0 } }

const struct console_command console_commands[] = {
	{ "list", "list the partitions: state, vCPUs and their CPUs, memory, share, uptime, CPU time, last stop",
	  "list [-j]", 0, "list -j", JSON_OPTION, ARG_TEXT, 0, 0, cmd_list },
	{ "info", "show a partition's configuration and state in full", "info NAME", 0, "info web", { { 0 } },
	  ARG_PARTITION, 1, 1, cmd_info },
	{ "start", "start a stopped partition from scratch", "start NAME", 0, "start web", { { 0 } },
	  ARG_PARTITION, 1, 1, cmd_start },
	{ "stop", "power a partition off: its ACPI power button, then forced off after a timeout",
	  "stop [-f] [-t SECONDS] NAME",
	  "The guest is asked to shut down through its ACPI power button; if it has not powered\n"
	  "off when the timeout ends it is forced off, and the log says so. A paused partition\n"
	  "cannot hear the button: it is forced off at once.",
	  "stop -t 60 web", STOP_OPTIONS, ARG_PARTITION, 1, 1, cmd_stop },
	{ "restart", "stop a partition as 'stop' does (if running), then start it from scratch",
	  "restart [-f] [-t SECONDS] NAME", 0, "restart -f web", STOP_OPTIONS, ARG_PARTITION, 1, 1, cmd_restart },
	{ "pause", "stop running a partition's vCPUs, keeping them", "pause NAME", 0, "pause web", { { 0 } },
	  ARG_PARTITION, 1, 1, cmd_pause },
	{ "resume", "run a paused partition again", "resume NAME", 0, "resume web", { { 0 } }, ARG_PARTITION, 1, 1,
	  cmd_resume },
	{ "console", "attach to a partition's serial console (Ctrl-] returns)", "console NAME",
	  "Shows what the guest printed recently (its console_buffer), then its output live;\n"
	  "what you type goes to the guest's UART. Ctrl-] (0x1d) returns to the hv> prompt,\n"
	  "whatever the guest prints; the hypervisor's own warnings still show.",
	  "console web", { { 0 } }, ARG_PARTITION, 1, 1, cmd_console },
	{ "log", "show the log kept since start-up: the last N lines, at LEVEL or more severe", "log [-n N] [LEVEL]",
	  "LEVEL is error, warn, info or debug (default: every line kept).", "log -n 20 warn",
	  { { 'n', "N", 1, LOG_LINES_MAX, "only the last N lines" }, { 0 } }, ARG_LEVEL, 0, 1, cmd_log },
	{ "stats", "statistics: CPU time and share, VM exits by reason, interrupts, console bytes dropped",
	  "stats [-j] [NAME]", "Without NAME: every partition that ran, then the console's own figures.",
	  "stats -j web", JSON_OPTION, ARG_PARTITION, 0, 1, cmd_stats },
	{ "cpus", "the host's CPUs: what runs on each and how idle each is", "cpus", 0, "cpus", { { 0 } },
	  ARG_TEXT, 0, 0, cmd_cpus },
	{ "mem", "the hypervisor's free memory, in MiB and in pages, of what it manages", "mem", 0, "mem",
	  { { 0 } }, ARG_TEXT, 0, 0, cmd_mem },
	{ "disks", "the host disks, their GPT partitions, who uses them, each virtual disk's requests", "disks", 0,
	  "disks", { { 0 } }, ARG_TEXT, 0, 0, cmd_disks },
	{ "diskbench", "the disk bench of `make bench` on a stopped partition's first disk, which it writes over",
	  "diskbench [-y] NAME",
	  "Runs, through the block layer a guest's requests take, what the guest's blkbench runs:\n"
	  "16 MiB read then written in 128 KiB requests one at a time (the write ends with a\n"
	  "flush), then 4 KiB reads at random offsets at queue depth 1 and 32. It writes over the\n"
	  "disk's first 16 MiB: a scratch disk only. NAME cannot start until the log says\n"
	  "'diskbench: done'. Each pattern's figures go to the log as it ends; the console and\n"
	  "the partitions run on meanwhile. Asks [y/N] first unless -y.",
	  "diskbench -y web", YES_OPTION, ARG_PARTITION, 1, 1, cmd_diskbench },
	{ "net", "the switches, their ports and MACs, frames, bytes and drops by reason", "net", 0, "net", { { 0 } },
	  ARG_TEXT, 0, 0, cmd_net },
	{ "config", "the effective configuration, as hv.cfg text", "config", 0, "config", { { 0 } }, ARG_TEXT, 0,
	  0, cmd_config },
	{ "version", "show the hypervisor's version", "version", 0, "version", { { 0 } }, ARG_TEXT, 0, 0,
	  cmd_version },
	{ "reboot", "reset the host machine (after a y/N question)", "reboot [-y]",
	  "Every partition ends at once, as at a power cut: stop them first.", "reboot", YES_OPTION, ARG_TEXT, 0,
	  0, cmd_reboot },
	{ "poweroff", "power the host machine off (after a y/N question)", "poweroff [-y]",
	  "Every partition ends at once, as at a power cut: stop them first.", "poweroff", YES_OPTION, ARG_TEXT, 0,
	  0, cmd_poweroff },
	{ 0 },
};
