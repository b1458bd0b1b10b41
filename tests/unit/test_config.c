/* hv.cfg parser: good configs parse to the right values; each kind of
 * error is reported with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_print.h"
#include "log.h"

static struct hv_config cfg;
static struct cfg_errors errs;

static uint32_t parse(const char *text)
{
	return cfg_parse(text, strlen(text), &cfg, &errs);
}

/* Exactly one error, on this line, whose text contains this fragment. */
static void expect_error(const char *text, uint32_t line, const char *fragment)
{
	uint32_t n = parse(text);

	if (n != 1 || errs.list[0].line != line || !strstr(errs.list[0].text, fragment)) {
		uint32_t i;
		for (i = 0; i < n && i < CFG_ERRORS_MAX; i++)
			print_message("got line %u: %s\n", errs.list[i].line, errs.list[i].text);
		fail_msg("expected one error on line %u containing '%s', got %u errors", line, fragment, n);
	}
}

static const char full_example[] =
	"# two partitions\n"
	"[hypervisor]\n"
	"console = io:0x2f8\n"
	"baud = 57600\n"
	"log_level = debug\n"
	"\n"
	"[partition web]\n"
	"memory = 512M\n"
	"vcpus = 2\n"
	"cpus = 0-1\n"
	"cpus.1 = 1\n"
	"share = 200\n"
	"kernel = vmlinuz\n"
	"initrd = initrd.img\n"
	"cmdline = console=ttyS0 root=/dev/vda1 rw\n"
	"disk = part:web-root\n"
	"disk = guid:0FC63DAF-8483-4772-8E79-3D69D8477DE4 ro\n"
	"disk = ramdisk:data.img rw\n"
	"autostart = no\n"
	"\r\n"
	"[partition rt]\n"
	"  memory = 1G  \n"
	"vcpus = 2\n"
	"cpus = 2,3\n"
	"exclusive = yes\n"
	"kernel = rt.bin\n";

static void full_example_parses(void **state)
{
	const struct cfg_partition *web = &cfg.partitions[0], *rt = &cfg.partitions[1];

	(void)state;
	assert_int_equal(parse(full_example), 0);
	assert_int_equal(cfg.console.kind, CONSOLE_IO);
	assert_int_equal(cfg.console.address, 0x2f8);
	assert_int_equal(cfg.console.baud, 57600);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.npartitions, 2);

	assert_string_equal(web->name, "web");
	assert_int_equal(web->line, 7);
	assert_int_equal(web->memory, 512ull << 20);
	assert_int_equal(web->vcpus, 2);
	assert_int_equal(web->affinity[0], 0x3);
	assert_int_equal(web->affinity[1], 0x2);
	assert_int_equal(web->share, 200);
	assert_false(web->exclusive);
	assert_false(web->autostart);
	assert_string_equal(web->kernel, "vmlinuz");
	assert_string_equal(web->initrd, "initrd.img");
	assert_string_equal(web->cmdline, "console=ttyS0 root=/dev/vda1 rw");
	assert_int_equal(web->ndisks, 3);
	assert_int_equal(web->disks[0].kind, DISK_GPT_NAME);
	assert_string_equal(web->disks[0].source, "web-root");
	assert_false(web->disks[0].read_only);
	assert_int_equal(web->disks[1].kind, DISK_GPT_GUID);
	assert_true(web->disks[1].read_only);
	assert_int_equal(web->disks[1].line, 17);
	assert_int_equal(web->disks[2].kind, DISK_RAMDISK);
	assert_string_equal(web->disks[2].source, "data.img");

	assert_int_equal(rt->memory, 1ull << 30);
	assert_true(rt->exclusive);
	assert_int_equal(rt->affinity[0], 1u << 2); /* vCPU i takes the i-th CPU */
	assert_int_equal(rt->affinity[1], 1u << 3);
	assert_true(rt->autostart);
	assert_int_equal(rt->share, CFG_SHARE_DEFAULT);
}

/* The README's hv.cfg example, the first ```ini block after "## hv.cfg", as it stands there. */
static char *readme_example(void)
{
	static char text[8192];
	char line[512];
	FILE *f = fopen(README_PATH, "r");
	size_t n = 0;
	int state = 0; /* 0: before the heading, 1: before the block, 2: in it */

	assert_non_null(f);
	while (state < 3 && fgets(line, sizeof(line), f)) {
		if (state == 0 && strcmp(line, "## hv.cfg\n") == 0)
			state = 1;
		else if (state == 1 && strcmp(line, "```ini\n") == 0)
			state = 2;
		else if (state == 2 && strcmp(line, "```\n") == 0)
			state = 3;
		else if (state == 2)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", line);
	}
	fclose(f);
	assert_int_equal(state, 3);
	assert_true(n < sizeof(text) - 1);
	return text;
}

static void readme_example_parses(void **state)
{
	const struct cfg_partition *web = &cfg.partitions[0], *rt = &cfg.partitions[1];

	(void)state;
	if (parse(readme_example())) {
		print_message("line %u: %s\n", errs.list[0].line, errs.list[0].text);
		fail_msg("the README's example has %u errors", errs.count);
	}
	assert_int_equal(cfg.npartitions, 2);
	assert_int_equal(cfg.console.baud, 115200);
	assert_int_equal(web->memory, 512ull << 20);
	assert_int_equal(web->affinity[1], 1u << 1);
	assert_string_equal(web->kernel, "vmlinuz");
	assert_int_equal(web->ndisks, 3);
	assert_true(web->disks[1].read_only);
	assert_string_equal(web->disks[2].source, "data.img");
	assert_false(web->autostart);
	assert_true(rt->exclusive);
	assert_string_equal(rt->kernel, "rt.elf");
}

static void inline_comments_and_escaped_hash(void **state)
{
	(void)state;
	assert_int_equal(parse("[partition a]   # the first\nmemory = 2M\t# two\nkernel = k #\n"
			       "cmdline = a \\#1 b#2 \\# # and a comment\n"), 0);
	assert_int_equal(cfg.partitions[0].memory, 2ull << 20);
	assert_string_equal(cfg.partitions[0].kernel, "k");
	assert_string_equal(cfg.partitions[0].cmdline, "a #1 b#2 #");
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\ncmdline = # nothing but a comment\n"), 0);
	assert_string_equal(cfg.partitions[0].cmdline, "");
	expect_error("[partition a]\nkernel=k\nmemory = 2M#two\n", 3, "memory '2M#two'");
	expect_error("[partition a]\nmemory=2M\nkernel=k\\#\n", 3, "kernel 'k\\#' may hold only");
}

static void byte_order_mark_is_skipped(void **state)
{
	(void)state;
	assert_int_equal(parse("\xef\xbb\xbf[partition a]\nmemory=2M\nkernel=k\n"), 0);
	assert_string_equal(cfg.partitions[0].name, "a");
	expect_error("[partition a]\nmemory=2M\nkernel=k\n\xef\xbb\xbfshare=5\n", 4, "unknown key");
}

static void defaults_apply(void **state)
{
	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\n"), 0);
	assert_int_equal(cfg.console.kind, CONSOLE_AUTO);
	assert_int_equal(cfg.console.baud, 0);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_int_equal(cfg.partitions[0].vcpus, 1);
	assert_int_equal(cfg.partitions[0].affinity[0], 0); /* any CPU */
	assert_true(cfg.partitions[0].autostart);
	assert_int_equal(cfg.partitions[0].ndisks, 0);
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\ndisk = part:d ro offset=1M  size=0x200\n"), 0);
	assert_int_equal(cfg.partitions[0].disks[0].offset, 1 << 20);
	assert_int_equal(cfg.partitions[0].disks[0].size, 512);
	assert_true(cfg.partitions[0].disks[0].read_only);
	assert_string_equal(cfg.partitions[0].disks[0].source, "d");
	assert_string_equal(cfg.partitions[0].cmdline, "");
	assert_string_equal(cfg.disk_selftest, "");
}

static void disk_selftest_names_a_host_disk(void **state)
{
	(void)state;
	assert_int_equal(parse("[hypervisor]\ndisk_selftest = nvme0n1\n"), 0);
	assert_string_equal(cfg.disk_selftest, "nvme0n1");
	expect_error("[hypervisor]\ndisk_selftest = nvme0n1/p\n", 2, "disk_selftest 'nvme0n1/p' may hold only");
	expect_error("[hypervisor]\ndisk_selftest = nvme0n1234567890ab\n", 2, "disk_selftest must be 1 to 15");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk_selftest = nvme0n1\n", 4, "disk_selftest");
}

static void empty_config_is_valid(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(cfg.npartitions, 0);
	assert_int_equal(parse("# nothing\n\n   \n"), 0);
}

static void log_level_names(void **state)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char text[64];
	int level;

	(void)state;
	for (level = LOG_ERROR; level <= LOG_DEBUG; level++) {
		snprintf(text, sizeof(text), "[hypervisor]\nlog_level = %s\n", names[level]);
		assert_int_equal(parse(text), 0);
		assert_int_equal(cfg.log_level, level);
	}
	expect_error("[hypervisor]\nlog_level = inf\n", 2, "log_level 'inf'");
	expect_error("[hypervisor]\nlog_level = infos\n", 2, "log_level 'infos'");
}

static void console_forms(void **state)
{
	(void)state;
	assert_int_equal(parse("[hypervisor]\nconsole = com2\n"), 0);
	assert_int_equal(cfg.console.address, 0x2f8);
	assert_int_equal(parse("[hypervisor]\nconsole = mmio:0xfe030000\n"), 0);
	assert_int_equal(cfg.console.kind, CONSOLE_MMIO);
	assert_int_equal(cfg.console.address, 0xfe030000);
	expect_error("[hypervisor]\nconsole = com5\n", 2, "console 'com5'");
	expect_error("[hypervisor]\nconsole = io:0x10000\n", 2, "console");
	expect_error("[hypervisor]\nconsole = mmio:0x1001\n", 2, "console");
	expect_error("[hypervisor]\nbaud = 100000\n", 2, "divisor of 115200");
	expect_error("[hypervisor]\nbaud = 1\n", 2, "baud '1': its divisor 115200 does not fit the UART's 16-bit");
	assert_int_equal(parse("[hypervisor]\nbaud = 2\n"), 0);
	assert_int_equal(cfg.console.baud, 2);
	expect_error("[hypervisor]\nconsole = mmio:0xfffffffffffffffc\n", 2, "above 2^52");
	expect_error("[hypervisor]\nconsole = mmio:0xfffffffffffe4\n", 2, "above 2^52");
	assert_int_equal(parse("[hypervisor]\nconsole = mmio:0xfffffffffffe0\n"), 0);
	assert_int_equal(cfg.console.address, 0xfffffffffffe0ull);
	expect_error("[hypervisor]\nlog_level = loud\n", 2, "log_level 'loud'");
}

static void numbers_and_flags(void **state)
{
	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=0x200000\nkernel=k\nshare=010\nautostart=off\n"), 0);
	assert_int_equal(cfg.partitions[0].memory, 2ull << 20);
	assert_int_equal(cfg.partitions[0].share, 10); /* decimal, not octal */
	assert_false(cfg.partitions[0].autostart);
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nautostart=false\nexclusive=true\ncpus=0\n"), 0);
	assert_true(cfg.partitions[0].exclusive);
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nautostart=on\n"), 0);
	assert_true(cfg.partitions[0].autostart);
	expect_error("[partition a]\nmemory=2M\nkernel=k\nautostart=1\n", 4, "expected yes or no");
}

static void syntax_errors(void **state)
{
	(void)state;
	expect_error("memory = 2M\n", 1, "before any [section]");
	expect_error("[hypervisor]\nconsole com1\n", 2, "expected 'key = value'");
	expect_error("[hypervisor\n", 1, "closing ']'");
	expect_error("\n\n[guests]\nfoo = 1\nbar = 2\n", 3, "unknown section '[guests]'");
	expect_error("[hypervisor]\n[hypervisor]\n", 2, "appears twice");
	expect_error("[hypervisor]\nconsole = com1\r\nx\001 = 1\n", 3, "control character 0x01");
}

static void nul_byte_is_refused(void **state)
{
	static const char text[] = "[hypervisor]\nconsole\0 = com1\n";

	(void)state;
	assert_int_equal(cfg_parse(text, sizeof(text) - 1, &cfg, &errs), 1);
	assert_int_equal(errs.list[0].line, 2);
	assert_non_null(strstr(errs.list[0].text, "control character 0x00"));
}

static void key_errors(void **state)
{
	(void)state;
	expect_error("[hypervisor]\nspeed = 9600\n", 2, "unknown key 'speed' in [hypervisor]");
	expect_error("[hypervisor]\nmemory = 2M\n", 2, "misplaced key 'memory' in [hypervisor]");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nbaud=9600\n", 4, "misplaced key 'baud' in [partition a]");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nmemory=4M\n", 4, "'memory' is set twice");
	expect_error("[partition a]\nmemory=2M\nkernel=\n", 3, "'kernel' has no value");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nshare.1=3\n", 4, "only cpus.N takes an index");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus.64=1\n", 4, "only cpus.N");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus.0=1\ncpus.0=1\n", 5, "cpus.0 is set twice");
}

static void value_errors(void **state)
{
	(void)state;
	expect_error("[partition a]\nkernel=k\nmemory=lots\n", 3, "expected a size");
	expect_error("[partition a]\nkernel=k\nmemory=3M\n", 3, "multiple of 2M");
	expect_error("[partition a]\nkernel=k\nmemory=0\n", 3, "multiple of 2M");
	expect_error("[partition a]\nkernel=k\nmemory=2T\n", 3, "at most 1T");
	expect_error("[partition a]\nkernel=k\nmemory=99999999999999999999\n", 3, "expected a size");
	expect_error("[partition a]\nkernel=k\nmemory=16777216T\n", 3, "expected a size");
	expect_error("[partition a]\nkernel=k\nmemory=2M\nvcpus=0\n", 4, "vcpus '0'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\nvcpus=65\n", 4, "vcpus '65'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\ncpus=3-1\n", 4, "cpus '3-1'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\ncpus=0,64\n", 4, "cpus '0,64'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\ncpus=0,,1\n", 4, "cpus");
	expect_error("[partition a]\nkernel=k\nmemory=2M\nshare=0\n", 4, "share '0'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\nshare=10001\n", 4, "share '10001'");
	expect_error("[partition a]\nkernel=k\nmemory=2M\nautostart=maybe\n", 4, "expected yes or no");
	expect_error("[partition a]\nmemory=2M\nkernel=../etc/k\n", 3, "may hold only");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ninitrd=a b\n", 4, "may hold only");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=sda1\n", 4, "expected part:NAME");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=guid:1234\n", 4, "expected part:NAME");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=part:root rx\n", 4,
		     "disk option 'rx': expected ro, rw, offset=SIZE or size=SIZE");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=part:root offset=100\n", 4,
		     "disk offset=100: expected a multiple of 512 bytes");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=part:root size=0\n", 4, "a sub-range has a size");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=part:root size=99999999999999999999\n", 4,
		     "expected a multiple of 512 bytes");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=part:root size=16777216T\n", 4,
		     "expected a multiple of 512 bytes");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=ramdisk:r size=1M\n", 4,
		     "offset= and size= are for part: and guid: disks");
	expect_error("[partition a b]\nmemory=2M\nkernel=k\n", 1, "partition name 'a b'");
	expect_error("[partition a]\nmemory=2M\nkernel=..\n", 3, "kernel '..' names a directory");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ninitrd=.\n", 4, "initrd '.' names a directory");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ndisk=ramdisk:..\n", 4, "'..' names a directory");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ninitrd=d/i\n", 4, "may hold only");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus=0,0\n", 4, "cpus '0,0': CPU 0 is named twice");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus=0-3,2\n", 4, "CPU 2 is named twice");
}

static void partition_errors(void **state)
{
	(void)state;
	expect_error("\n[partition a]\nkernel=k\n", 2, "has no memory size");
	expect_error("[partition a]\nmemory=2M\n", 1, "has no kernel");
	expect_error("[partition a]\nmemory=2M\nkernel=k\n[partition a]\nmemory=2M\nkernel=k\n", 4,
		     "already defined on line 1");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus.2=0\n", 5, "beyond its 2 vCPUs");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0\nexclusive=yes\n", 1,
		     "one host CPU for each");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0-1\ncpus.1=0\nexclusive=yes\n", 1,
		     "same CPU");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus=0\nexclusive=yes\nshare=5\n", 1,
		     "share has no meaning");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0-3\nexclusive=yes\n", 1,
		     "cpus names 4 CPUs for its 2 vCPUs; name exactly one for each");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0-1\ncpus.0=2\ncpus.1=3\nexclusive=yes\n",
		     1, "cpus names 4 CPUs for its 2 vCPUs");
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0\ncpus.1=3\nexclusive=yes\n"), 0);
	assert_int_equal(cfg.partitions[0].affinity[0], 1u << 0);
	assert_int_equal(cfg.partitions[0].affinity[1], 1u << 3);
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus=1\nexclusive=yes\n"
		     "[partition b]\nmemory=2M\nkernel=k\ncpus=0-1\n",
		     6, "'a' owns exclusively");
}

/* "cmdline = " then spaces then n bytes of command line: a line of line_len bytes. */
static const char *cmdline_line(size_t line_len, size_t n)
{
	static char text[CFG_LINE_MAX + 64];
	size_t at = (size_t)snprintf(text, sizeof(text), "[partition a]\nmemory=2M\nkernel=k\ncmdline = ");
	size_t pad = line_len - (sizeof("cmdline = ") - 1) - n;

	memset(text + at, ' ', pad);
	memset(text + at + pad, 'x', n);
	text[at + pad + n] = 0;
	return text;
}

static void longest_cmdline_and_line(void **state)
{
	size_t longest = CFG_CMDLINE_MAX - 1;

	(void)state;
	assert_int_equal(parse(cmdline_line(sizeof("cmdline = ") - 1 + longest, longest)), 0);
	assert_int_equal(strlen(cfg.partitions[0].cmdline), longest);
	expect_error(cmdline_line(sizeof("cmdline = ") + longest, longest + 1), 4, "cmdline longer than 2047 bytes");
	assert_int_equal(parse(cmdline_line(CFG_LINE_MAX, longest)), 0);
	assert_int_equal(strlen(cfg.partitions[0].cmdline), longest);
	expect_error(cmdline_line(CFG_LINE_MAX + 1, longest), 4, "line longer than 4096 bytes");
}

static void limits(void **state)
{
	char text[1024];
	char many[(CFG_PARTITIONS_MAX + 1) * 40];
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i <= CFG_PARTITIONS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "[partition p%d]\nmemory=2M\nkernel=k\n", i);
	expect_error(many, 3 * CFG_PARTITIONS_MAX + 1, "more than 16 partitions");

	n = (size_t)snprintf(text, sizeof(text), "[partition a]\nmemory=2M\nkernel=k\n");
	for (i = 0; i <= CFG_DISKS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "disk=part:d%d\n", i);
	expect_error(text, 4 + CFG_DISKS_MAX, "more than 8 disks");
}

static void modules_and_test_devices(void **state)
{
	const struct cfg_partition *a = &cfg.partitions[0];

	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nmodule = mod1 a b\nmodule=mod2\n"
			       "module = m3 \tx \\# y  # a comment\ntest_devices = yes\n"), 0);
	assert_int_equal(a->nmodules, 3);
	assert_string_equal(a->modules[0].file, "mod1");
	assert_string_equal(a->modules[0].string, "mod1 a b");
	assert_int_equal(a->modules[0].line, 4);
	assert_string_equal(a->modules[1].file, "mod2");
	assert_string_equal(a->modules[1].string, "mod2");
	assert_string_equal(a->modules[2].file, "m3");
	assert_string_equal(a->modules[2].string, "m3 \tx # y"); /* as written, \# unescaped */
	assert_int_equal(a->modules[2].line, 6);
	assert_true(a->test_devices);
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\n"), 0);
	assert_int_equal(a->nmodules, 0);
	assert_false(a->test_devices); /* off unless asked for */

	expect_error("[partition a]\nmemory=2M\nkernel=k\nmodule=\n", 4, "'module' has no value");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nmodule=../m x\n", 4, "module '../m' may hold only");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nmodule=.. x\n", 4, "module '..' names a directory");
	expect_error("[hypervisor]\nmodule=m\n", 2, "misplaced key 'module' in [hypervisor]");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ntest_devices=maybe\n", 4,
		     "test_devices 'maybe': expected yes or no");
	expect_error("[partition a]\nmemory=2M\nkernel=k\ntest_devices=no\ntest_devices=yes\n", 5,
		     "'test_devices' is set twice");
}

/* "module = m " then n bytes of arguments: the module's string is n + 2 bytes. */
static const char *module_line(size_t n)
{
	static char text[CFG_LINE_MAX];
	size_t at = (size_t)snprintf(text, sizeof(text), "[partition a]\nmemory=2M\nkernel=k\nmodule = m ");

	memset(text + at, 'x', n);
	text[at + n] = 0;
	return text;
}

static void module_limits(void **state)
{
	char text[1024];
	size_t n, longest = CFG_MODULE_STRING_MAX - 1 - 2;
	int i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "[partition a]\nmemory=2M\nkernel=k\n");
	for (i = 0; i <= CFG_MODULES_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "module=m%d arg\n", i);
	expect_error(text, 4 + CFG_MODULES_MAX, "more than 8 modules");
	assert_int_equal(parse(module_line(longest)), 0);
	assert_int_equal(strlen(cfg.partitions[0].modules[0].string), CFG_MODULE_STRING_MAX - 1);
	expect_error(module_line(longest + 1), 4, "module 'm': its file name and arguments are longer than 255 bytes");
}

static void errors_are_counted_past_the_kept_ones(void **state)
{
	char text[1024];
	size_t n = (size_t)snprintf(text, sizeof(text), "[hypervisor]\n");
	int i;

	(void)state;
	for (i = 0; i < CFG_ERRORS_MAX + 4; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "bogus%d = 1\n", i);
	assert_int_equal(parse(text), CFG_ERRORS_MAX + 4);
	assert_int_equal(errs.list[0].line, 2);
	assert_int_equal(errs.list[CFG_ERRORS_MAX - 1].line, CFG_ERRORS_MAX + 1);
}

static void errors_of_the_lowest_lines_are_kept(void **state)
{
	char text[1024];
	size_t n = (size_t)snprintf(text, sizeof(text), "[partition a]\nmemory=2M\n");
	int i;

	(void)state;
	for (i = 0; i < CFG_ERRORS_MAX + 4; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "bogus%d = 1\n", i);
	/* "has no kernel" is found at the end of the file, after 20 others, but is on line 1. */
	assert_int_equal(parse(text), CFG_ERRORS_MAX + 5);
	assert_int_equal(errs.list[0].line, 1);
	assert_non_null(strstr(errs.list[0].text, "has no kernel"));
	assert_int_equal(errs.list[1].line, 3);
	assert_int_equal(errs.list[CFG_ERRORS_MAX - 1].line, CFG_ERRORS_MAX + 1);
}

static void cpus_n_errors_name_their_own_lines(void **state)
{
	(void)state;
	expect_error("[partition a]\nmemory=2M\nkernel=k\ncpus.5 = 1\ncpus.0 = 0\n", 4,
		     "cpus.5 names a vCPU beyond its 1 vCPUs");
	assert_int_equal(parse("[partition a]\nmemory=2M\ncpus.7 = 1\nkernel=k\ncpus.3 = 1\n"), 2);
	assert_int_equal(errs.list[0].line, 3);
	assert_non_null(strstr(errs.list[0].text, "cpus.7"));
	assert_int_equal(errs.list[1].line, 5);
	assert_non_null(strstr(errs.list[1].text, "cpus.3"));
}

/* One defect, one error: nothing else is reported because of it. */
static void refused_lines_do_not_cascade(void **state)
{
	char text[CFG_LINE_MAX + 128];
	size_t n;

	(void)state;
	expect_error("[partition a]\nmemory=2M\nkernel=k\n[partition b\001]\nmemory=4M\nkernel=k\n", 4,
		     "control character 0x01");
	n = (size_t)snprintf(text, sizeof(text), "[hypervisor]\nconsole=com1\n[partition ");
	memset(text + n, 'b', CFG_LINE_MAX);
	snprintf(text + n + CFG_LINE_MAX, sizeof(text) - n - CFG_LINE_MAX, "]\nconsole=com2\nmemory=2M\n");
	expect_error(text, 3, "line longer than");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=99\ncpus.1=1\n", 4, "vcpus '99'");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0-x\nexclusive=yes\n", 5, "cpus '0-x'");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvcpus=2\ncpus=0,1\ncpus.1=z\nexclusive=yes\n", 6,
		     "cpus 'z'");
}

static void bytes_outside_ascii_are_escaped_in_errors(void **state)
{
	(void)state;
	expect_error("[partition a]\nmemory=2M\nkernel=k\n\xef\xbb\xbfshare=5\n", 4,
		     "unknown key '\\xef\\xbb\\xbfshare' in [partition a]");
	expect_error("[hypervisor]\nconsole = com1\tx\n", 2, "console 'com1\\x09x'");
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\ncmdline=caf\xc3\xa9\n"), 0);
	assert_string_equal(cfg.partitions[0].cmdline, "caf\xc3\xa9"); /* kept as written */
}

static void record_file(void *ctx, const struct cfg_partition *p, const char *key, const char *name, uint32_t line)
{
	char *seen = ctx;

	snprintf(seen + strlen(seen), 256 - strlen(seen), "%s %s %s %u;", p->name, key, name, line);
}

static void each_named_file_is_visited(void **state)
{
	char seen[256] = "";

	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\ndisk=part:p\nmodule=m x\ndisk=ramdisk:r\n"
			       "[partition b]\nmemory=2M\ninitrd=i\nkernel=k2\n"), 0);
	cfg_each_file(&cfg, record_file, seen);
	assert_string_equal(seen, "a kernel k 3;a ramdisk r 6;a module m 5;b kernel k2 10;b initrd i 9;");
}

static void errors_come_in_line_order(void **state)
{
	(void)state;
	/* The missing kernel is found when the section ends, after line 3. */
	assert_int_equal(parse("[partition a]\nmemory=2M\nfoo=1\n"), 2);
	assert_int_equal(errs.list[0].line, 1);
	assert_int_equal(errs.list[1].line, 3);
}

/* The loader hands the parser the file as read: exactly its size, no NUL after it. */
static uint32_t parse_exact(const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len);
	uint32_t n;

	assert_non_null(copy);
	memcpy(copy, text, len);
	n = cfg_parse(copy, len, &cfg, &errs);
	free(copy);
	return n;
}

static void value_ending_an_exact_size_file(void **state)
{
	(void)state;
	assert_int_equal(parse_exact("[partition a]\nmemory=2M\nkernel=k\nvcpus = 0"), 1);
	assert_int_equal(errs.list[0].line, 4);
	assert_string_equal(errs.list[0].text, "vcpus '0': expected a number from 1 to 64");
	assert_int_equal(parse_exact("[partition a]\nmemory=2M\nkernel=k\ndisk = nope"), 1);
	assert_string_equal(errs.list[0].text, "disk 'nope': expected part:NAME, guid:GUID or ramdisk:FILE");
}

static void every_error_names_a_line(void **state)
{
	/* Truncated input at each byte of a good config: no crash, no line 0. */
	size_t len = strlen(full_example), cut;
	uint32_t i, n;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		n = cfg_parse(full_example, cut, &cfg, &errs);
		for (i = 0; i < n && i < CFG_ERRORS_MAX; i++)
			assert_true(errs.list[i].line >= 1);
	}
}

/* Two partitions on switch lan, one also on dmz; a switch may be declared after its first use. */
static const char nets_example[] =
	"[switch lan]\n"
	"[partition a]\nmemory=2M\nkernel=k\n"
	"net = lan\n"                           /* line 5 */
	"net = dmz  mac=02:00:5E:10:00:01\n"    /* line 6 */
	"[partition b]\nmemory=2M\nkernel=k\n"
	"net=lan # a comment\n"                 /* line 10 */
	"[switch dmz]\n";

static void nets_and_switches(void **state)
{
	static const uint8_t given[CFG_MAC_LEN] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
	const struct cfg_partition *a = &cfg.partitions[0], *b = &cfg.partitions[1];
	uint8_t a0[CFG_MAC_LEN];
	char name[CFG_PORT_NAME_MAX];

	(void)state;
	assert_int_equal(parse(nets_example), 0);
	assert_int_equal(cfg.nswitches, 2);
	assert_string_equal(cfg.switches[0].name, "lan");
	assert_string_equal(cfg.switches[1].name, "dmz");
	assert_int_equal(cfg.switches[1].line, 11);
	assert_int_equal(a->nnets, 2);
	assert_int_equal(a->nets[0].switch_index, 0);
	assert_int_equal(a->nets[0].line, 5);
	assert_int_equal(a->nets[1].switch_index, 1);
	assert_memory_equal(a->nets[1].mac, given, CFG_MAC_LEN);
	assert_int_equal(b->nnets, 1);
	assert_int_equal(b->nets[0].switch_index, 0);
	/* Derived: locally administered unicast, one per port, the same whatever else the file holds. */
	assert_int_equal(a->nets[0].mac[0], 0x02);
	assert_memory_not_equal(a->nets[0].mac, b->nets[0].mac, CFG_MAC_LEN);
	memcpy(a0, a->nets[0].mac, CFG_MAC_LEN);
	assert_int_equal(parse("[partition x]\nmemory=2M\nkernel=k\n[partition a]\nmemory=2M\nkernel=k\n"
			       "net=other\nnet=lan\n[switch lan]\n[switch other]\n"), 0);
	assert_memory_equal(cfg.partitions[1].nets[0].mac, a0, CFG_MAC_LEN);     /* port a.0, after x */
	assert_memory_not_equal(cfg.partitions[1].nets[1].mac, a0, CFG_MAC_LEN); /* a.1 */
	cfg_port_name(&cfg.partitions[1], 3, name);
	assert_string_equal(name, "a.3");
	/* One MAC on two switches is no conflict: they never meet. */
	assert_int_equal(parse("[switch s]\n[switch t]\n[partition a]\nmemory=2M\nkernel=k\n"
			       "net=s mac=02:00:00:00:00:01\nnet=t mac=02:00:00:00:00:01\n"), 0);
}

#define NET_PART "[switch lan]\n[partition a]\nmemory=2M\nkernel=k\n"

static void net_errors(void **state)
{
	(void)state;
	expect_error(NET_PART "net = wan\n", 5, "net 'wan': no [switch wan] in this file");
	expect_error(NET_PART "net = lan mac=01:00:5e:00:00:01\n", 5, "a unicast address");
	expect_error(NET_PART "net = lan mac=00:00:00:00:00:00\n", 5, "expected SWITCH, then optionally mac=");
	expect_error(NET_PART "net = lan mac=02:00:00:00:00\n", 5, "expected SWITCH");
	expect_error(NET_PART "net = lan mac=02:00:00:00:00:0g\n", 5, "expected SWITCH");
	expect_error(NET_PART "net = lan mac=02-00-00-00-00-01\n", 5, "expected SWITCH");
	expect_error(NET_PART "net = lan 02:00:00:00:00:01\n", 5, "expected SWITCH");
	expect_error(NET_PART "net = lan mac=02:00:00:00:00:01:\n", 5, "expected SWITCH");
	expect_error(NET_PART "net = l/an\n", 5, "switch name 'l/an' may hold only");
	expect_error(NET_PART "net =\n", 5, "'net' has no value");
	expect_error(NET_PART "net = lan mac=02:00:00:00:00:01\n[partition b]\nmemory=2M\nkernel=k\n"
		     "net = lan mac=02:00:00:00:00:01\n", 9,
		     "MAC 02:00:00:00:00:01 is also that of partition 'a' (line 5) on this switch");
	expect_error(NET_PART "net = lan mac=02:00:00:00:00:07\nnet = lan mac=02:00:00:00:00:07\n", 6,
		     "is also that of partition 'a' (line 5)");
	expect_error("[switch lan]\nnet = lan\n", 2, "misplaced key 'net' in [switch lan]");
	expect_error("[switch lan]\nports = 3\n", 2, "unknown key 'ports' in [switch lan] (a switch takes no keys)");
	expect_error("[hypervisor]\nnet = lan\n", 2, "misplaced key 'net' in [hypervisor]");
	expect_error("[switch lan]\n[switch lan]\n", 2, "switch 'lan' is already defined on line 1");
	expect_error("[switch ..]\n", 1, "switch name '..' names a directory");
	expect_error("[switch]\n", 1, "unknown section '[switch]'");
}

static void net_limits(void **state)
{
	char text[2048];
	size_t n = 0;
	int i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), NET_PART);
	for (i = 0; i <= CFG_NETS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "net=lan\n");
	expect_error(text, 5 + CFG_NETS_MAX, "more than 4 net ports");

	/* Four partitions of four ports fill a switch; a fifth partition's port is one too many. */
	n = (size_t)snprintf(text, sizeof(text), "[switch lan]\n");
	for (i = 0; i < CFG_SWITCH_PORTS_MAX / CFG_NETS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[partition p%d]\nmemory=2M\nkernel=k\nnet=lan\nnet=lan\nnet=lan\nnet=lan\n", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "[partition last]\nmemory=2M\nkernel=k\nnet=lan\n");
	expect_error(text, 1 + 7 * (CFG_SWITCH_PORTS_MAX / CFG_NETS_MAX) + 4, "switch 'lan' has more than 16 ports");

	n = 0;
	for (i = 0; i <= CFG_SWITCHES_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[switch s%d]\n", i);
	expect_error(text, CFG_SWITCHES_MAX + 1, "more than 8 switches");
}

/* ---- the configuration printed back as hv.cfg text (`config`) */

static char printed[64 * 1024];
static size_t printed_len;

static void put(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	assert_true(printed_len + len < sizeof(printed));
	memcpy(printed + printed_len, text, len);
	printed_len += len;
	printed[printed_len] = 0;
}

/* What a config means, without the line numbers that say where it was written. */
static void forget_lines(struct hv_config *c)
{
	uint32_t i, k;

	for (i = 0; i < c->nswitches; i++)
		c->switches[i].line = 0;
	for (i = 0; i < c->npartitions; i++) {
		struct cfg_partition *p = &c->partitions[i];
		p->line = p->kernel_line = p->initrd_line = 0;
		for (k = 0; k < p->ndisks; k++)
			p->disks[k].line = 0;
		for (k = 0; k < p->nmodules; k++)
			p->modules[k].line = 0;
		for (k = 0; k < p->nnets; k++)
			p->nets[k].line = 0;
		for (k = p->vcpus; k < CFG_VCPUS_MAX; k++)
			p->affinity[k] = 0; /* no vCPU has them */
	}
}

/* text parses, prints, and the printed text parses to the same configuration. */
static void assert_round_trip(const char *text)
{
	static struct hv_config first;

	if (parse(text))
		fail_msg("line %u: %s", errs.list[0].line, errs.list[0].text);
	first = cfg;
	printed_len = 0;
	cfg_print(&first, put, NULL);
	if (parse(printed))
		fail_msg("printed config, line %u: %s\n%s", errs.list[0].line, errs.list[0].text, printed);
	forget_lines(&first);
	forget_lines(&cfg);
	assert_memory_equal(&first, &cfg, sizeof(cfg));
}

static void printed_config_reads_back_the_same(void **state)
{
	(void)state;
	assert_round_trip(full_example);
	assert_round_trip(readme_example());
	assert_round_trip("");
	assert_round_trip("[hypervisor]\nconsole = mmio:0xfe000000\nlog_level = error\n"
			  "[partition a]\nmemory = 6G\nkernel = k.elf\nvcpus = 4\ncpus = 0-2,5\ncpus.3 = 63\n"
			  "cmdline = a#b c \\# d \\\\# e\nmodule = m.bin x=#1 \\# y\nmodule = n\ntest_devices = yes\n"
			  "console_buffer = 1M\nautostart = off\n"
			  "[partition b]\nmemory = 2M\nkernel = k\nconsole_buffer = 12K\ndisk = ramdisk:r.img ro\n");
	assert_non_null(strstr(printed, "[partition a]\nmemory = 6G\nvcpus = 4\ncpus.0 = 0-2,5\ncpus.1 = 0-2,5\n"
					"cpus.2 = 0-2,5\ncpus.3 = 63\n"));
	assert_non_null(strstr(printed, "cmdline = a\\#b c \\# d \\\\# e\n"));
	assert_non_null(strstr(printed, "console_buffer = 12K\n"));
	/* Switches, ports (their derived MACs printed), disk sub-ranges and the disk self-test. */
	assert_round_trip("[hypervisor]\ndisk_selftest = nvme0n1\n[switch lan]\n[switch dmz]\n"
			  "[partition a]\nmemory = 2M\nkernel = k\nnet = lan\nnet = dmz mac=02:00:5e:10:00:01\n"
			  "disk = part:data rw offset=1M size=3584K\ndisk = guid:0fc63daf-8483-4772-8e79-3d69d8477de4 ro\n");
	assert_non_null(strstr(printed, "disk = part:data rw offset=1M size=3584K\n"));
	assert_non_null(strstr(printed, "net = dmz mac=02:00:5e:10:00:01\n"));
}

static void console_buffer_sizes(void **state)
{
	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\n"), 0);
	assert_int_equal(cfg.partitions[0].console_buffer, CFG_CONSOLE_BUFFER_DEFAULT);
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nconsole_buffer=16M\n"), 0);
	assert_int_equal(cfg.partitions[0].console_buffer, 16ull << 20);
	expect_error("[partition a]\nmemory=2M\nkernel=k\nconsole_buffer=2K\n", 4, "multiple of 4K from 4K to 16M");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nconsole_buffer=17M\n", 4, "console_buffer '17M'");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nconsole_buffer=5000\n", 4, "console_buffer '5000'");
	expect_error("[partition a]\nmemory=2M\nkernel=k\nconsole_buffer=lots\n", 4, "console_buffer 'lots'");
	expect_error("[hypervisor]\nconsole_buffer=64K\n", 2, "console_buffer");
}

static void virtio_console_is_opt_in(void **state)
{
	(void)state;
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\n"), 0);
	assert_false(cfg.partitions[0].virtio_console); /* existing partitions see no new PCI device */
	assert_int_equal(parse("[partition a]\nmemory=2M\nkernel=k\nvirtio_console = yes\n"), 0);
	assert_true(cfg.partitions[0].virtio_console);
	expect_error("[partition a]\nmemory=2M\nkernel=k\nvirtio_console=hvc0\n", 4,
		     "virtio_console 'hvc0': expected yes or no");
	expect_error("[hypervisor]\nvirtio_console=yes\n", 2, "misplaced key 'virtio_console' in [hypervisor]");
	assert_round_trip("[partition a]\nmemory = 2M\nkernel = k\nvirtio_console = yes\n");
	assert_non_null(strstr(printed, "virtio_console = yes\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printed_config_reads_back_the_same),
		cmocka_unit_test(console_buffer_sizes),
		cmocka_unit_test(virtio_console_is_opt_in),
		cmocka_unit_test(full_example_parses),
		cmocka_unit_test(readme_example_parses),
		cmocka_unit_test(inline_comments_and_escaped_hash),
		cmocka_unit_test(byte_order_mark_is_skipped),
		cmocka_unit_test(defaults_apply),
		cmocka_unit_test(empty_config_is_valid),
		cmocka_unit_test(console_forms),
		cmocka_unit_test(log_level_names),
		cmocka_unit_test(disk_selftest_names_a_host_disk),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(numbers_and_flags),
		cmocka_unit_test(nul_byte_is_refused),
		cmocka_unit_test(key_errors),
		cmocka_unit_test(value_errors),
		cmocka_unit_test(partition_errors),
		cmocka_unit_test(limits),
		cmocka_unit_test(modules_and_test_devices),
		cmocka_unit_test(module_limits),
		cmocka_unit_test(longest_cmdline_and_line),
		cmocka_unit_test(errors_are_counted_past_the_kept_ones),
		cmocka_unit_test(errors_come_in_line_order),
		cmocka_unit_test(each_named_file_is_visited),
		cmocka_unit_test(errors_of_the_lowest_lines_are_kept),
		cmocka_unit_test(cpus_n_errors_name_their_own_lines),
		cmocka_unit_test(refused_lines_do_not_cascade),
		cmocka_unit_test(bytes_outside_ascii_are_escaped_in_errors),
		cmocka_unit_test(every_error_names_a_line),
		cmocka_unit_test(value_ending_an_exact_size_file),
		cmocka_unit_test(nets_and_switches),
		cmocka_unit_test(net_errors),
		cmocka_unit_test(net_limits),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
