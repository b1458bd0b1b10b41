/*
 * insnprof: a QEMU TCG plugin for make bench's breakdown of exit costs.
 * It counts the instructions executed at each address, and between a
 * start mark (XCHG BX,BX: 66 87 DB) and a stop mark (XCHG CX,CX: 66 87 C9),
 * no-ops the self-test guest executes around each measured loop, it writes
 * one window: "window N" then "ADDRESS COUNT" for every address executed
 * in it. ci/bench.py names the hypervisor's addresses by function.
 *
 * Options: out=FILE (default insnprof.txt). One emulated CPU: the counters
 * are shared.
 *
 * QEMU's plugin interface is a C ABI with a version number (QEMU's
 * docs/devel/tcg-plugins.rst); Debian ships no qemu-plugin.h, so the few
 * calls used are declared here, as version 1 (QEMU 7.2) gives them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
						void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

/* Addresses get a counter each, in order of first translation; a hash finds it again. */
#define ADDRESSES (1u << 20)
#define SLOTS (2 * ADDRESSES)
static uint64_t address[ADDRESSES], count[ADDRESSES], at_start[ADDRESSES];
static uint32_t slot[SLOTS]; /* index + 1; 0: free */
static uint32_t used;
static unsigned windows;
static FILE *out;

static uint64_t *counter(uint64_t pc)
{
	uint32_t h = (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 43);

	for (;; h = (h + 1) & (SLOTS - 1)) {
		if (slot[h] && address[slot[h] - 1] == pc)
			return &count[slot[h] - 1];
		if (!slot[h])
			break;
	}
	if (used == ADDRESSES) {
		fprintf(stderr, "insnprof: more than %u addresses; the rest are not counted\n", ADDRESSES);
		return NULL;
	}
	address[used] = pc;
	slot[h] = ++used;
	return &count[used - 1];
}

static void window_start(unsigned vcpu, void *unused)
{
	(void)vcpu;
	(void)unused;
	memcpy(at_start, count, used * sizeof(count[0]));
}

static void window_stop(unsigned vcpu, void *unused)
{
	uint32_t i;

	(void)vcpu;
	(void)unused;
	fprintf(out, "window %u\n", windows++);
	for (i = 0; i < used; i++)
		if (count[i] != at_start[i])
			fprintf(out, "%llx %llu\n", (unsigned long long)address[i],
				(unsigned long long)(count[i] - at_start[i]));
	fflush(out);
}

static int is_mark(const struct qemu_plugin_insn *insn, uint8_t modrm)
{
	const uint8_t *b = qemu_plugin_insn_data(insn);

	return qemu_plugin_insn_size(insn) == 3 && b[0] == 0x66 && b[1] == 0x87 && b[2] == modrm;
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t *c = counter(qemu_plugin_insn_vaddr(insn));

		if (c)
			qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, c, 1);
		if (is_mark(insn, 0xdb))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, window_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (is_mark(insn, 0xc9))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, window_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void finished(qemu_plugin_id_t id, void *unused)
{
	(void)id;
	(void)unused;
	fclose(out);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv);

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	const char *path = "insnprof.txt";
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4)) {
			fprintf(stderr, "insnprof: unknown option %s (there is out=FILE)\n", argv[i]);
			return -1;
		}
		path = argv[i] + 4;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, finished, NULL);
	return 0;
}
