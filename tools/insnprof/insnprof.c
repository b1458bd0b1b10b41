/*
 * insnprof: a QEMU TCG plugin that counts the instructions the emulated
 * CPUs execute, for make bench and the e2e tests.
 *
 * out=FILE: make bench's breakdown of exit costs. It counts the
 * instructions executed at each address, and between a start mark
 * (XCHG BX,BX: 66 87 DB) and a stop mark (XCHG CX,CX: 66 87 C9), no-ops
 * the self-test guest executes around each measured loop, it writes one
 * window: "window N" then "ADDRESS COUNT" for every address executed in
 * it. ci/bench.py names the hypervisor's addresses by function. The
 * counters are shared by all emulated CPUs.
 *
 * marks=FILE: a guest's work per instruction of its own CPU. At each work
 * mark (XCHG DX,DX: 66 87 D2, which the self-test's mode=work executes at
 * each report) it writes "mark CPU INSNS ALL HALTS": the QEMU index of the
 * CPU that executed it, the instructions that CPU executed so far (guest
 * and hypervisor alike), those of all CPUs, and the HLTs that CPU
 * executed. Around each measured loop of the self-test's bench mode it
 * writes "start CPU INSNS KIND" at the start mark and "stop CPU INSNS" at
 * the stop mark: KIND is the number of kind marks (XCHG SI,SI: 66 87 F6)
 * that CPU executed since its last start mark, which the guest executes
 * once per step of its list of exit kinds before the start mark, so that
 * make bench's scaling section tells the loops of partitions sharing a
 * CPU apart. Counting per CPU needs one thread for all emulated CPUs
 * (-icount, or -accel tcg,thread=single): a CPU's instructions are those
 * executed between the translation blocks where QEMU switched to it and
 * away from it.
 *
 * Without options: out=insnprof.txt.
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
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

/* ---- out=FILE: instructions per address, in windows ---- */

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

/* ---- marks=FILE: instructions per emulated CPU, at each work mark ---- */

#define CPUS 64
static uint64_t executed;                /* all CPUs' instructions, counted inline */
static uint64_t settled;                 /* 'executed' when QEMU last switched CPUs */
static unsigned running;                 /* the CPU whose instructions run now */
static uint64_t cpu_executed[CPUS];      /* each CPU's, up to 'settled' */
static uint64_t cpu_halts[CPUS];
static unsigned cpu_kind[CPUS];          /* kind marks since the CPU's last start mark */
static FILE *marks;

/* A translation block starts: the instructions since the last switch were the previous CPU's. */
static void block_start(unsigned vcpu, void *unused)
{
	(void)unused;
	if (vcpu == running)
		return;
	if (vcpu >= CPUS) {
		fprintf(stderr, "insnprof: CPU %u: marks= counts %u CPUs at most\n", vcpu, CPUS);
		exit(1);
	}
	cpu_executed[running] += executed - settled;
	settled = executed;
	running = vcpu;
}

/* An instruction's callbacks run after its block's start: vcpu is 'running'. */
static void halted(unsigned vcpu, void *unused)
{
	(void)unused;
	cpu_halts[vcpu]++;
}

/* The instructions the CPU executed so far. */
static uint64_t on_cpu(unsigned vcpu)
{
	return cpu_executed[vcpu] + executed - settled;
}

static void work_mark(unsigned vcpu, void *unused)
{
	(void)unused;
	fprintf(marks, "mark %u %llu %llu %llu\n", vcpu, (unsigned long long)on_cpu(vcpu),
		(unsigned long long)executed, (unsigned long long)cpu_halts[vcpu]);
	fflush(marks);
}

static void kind_mark(unsigned vcpu, void *unused)
{
	(void)unused;
	cpu_kind[vcpu]++;
}

static void loop_start(unsigned vcpu, void *unused)
{
	(void)unused;
	fprintf(marks, "start %u %llu %u\n", vcpu, (unsigned long long)on_cpu(vcpu), cpu_kind[vcpu]);
	cpu_kind[vcpu] = 0;
}

static void loop_stop(unsigned vcpu, void *unused)
{
	(void)unused;
	fprintf(marks, "stop %u %llu\n", vcpu, (unsigned long long)on_cpu(vcpu));
	fflush(marks);
}

/* ---- translation ---- */

static int is_insn(const struct qemu_plugin_insn *insn, const uint8_t *bytes, size_t size)
{
	return qemu_plugin_insn_size(insn) == size && !memcmp(qemu_plugin_insn_data(insn), bytes, size);
}

static void count_at_address(struct qemu_plugin_insn *insn)
{
	static const uint8_t start[] = { 0x66, 0x87, 0xdb }, stop[] = { 0x66, 0x87, 0xc9 };
	uint64_t *c = counter(qemu_plugin_insn_vaddr(insn));

	if (c)
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, c, 1);
	if (is_insn(insn, start, sizeof(start)))
		qemu_plugin_register_vcpu_insn_exec_cb(insn, window_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
	else if (is_insn(insn, stop, sizeof(stop)))
		qemu_plugin_register_vcpu_insn_exec_cb(insn, window_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void count_per_cpu(struct qemu_plugin_insn *insn)
{
	static const struct {
		uint8_t bytes[3];
		size_t size;
		qemu_plugin_vcpu_udata_cb_t cb;
	} marked[] = {
		{ { 0x66, 0x87, 0xd2 }, 3, work_mark },  { { 0xf4 }, 1, halted },
		{ { 0x66, 0x87, 0xf6 }, 3, kind_mark },  { { 0x66, 0x87, 0xdb }, 3, loop_start },
		{ { 0x66, 0x87, 0xc9 }, 3, loop_stop },
	};
	size_t i;

	qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
	for (i = 0; i < sizeof(marked) / sizeof(marked[0]); i++)
		if (is_insn(insn, marked[i].bytes, marked[i].size))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marked[i].cb, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	if (marks)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, block_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (out)
			count_at_address(insn);
		if (marks)
			count_per_cpu(insn);
	}
}

static void finished(qemu_plugin_id_t id, void *unused)
{
	(void)id;
	(void)unused;
	if (out)
		fclose(out);
	if (marks)
		fclose(marks);
}

static FILE *open_output(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		perror(path);
	return f;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv);

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		FILE **f = !strncmp(argv[i], "out=", 4) ? &out : !strncmp(argv[i], "marks=", 6) ? &marks : NULL;

		if (!f) {
			fprintf(stderr, "insnprof: unknown option %s (there are out=FILE and marks=FILE)\n",
				argv[i]);
			return -1;
		}
		*f = open_output(strchr(argv[i], '=') + 1);
		if (!*f)
			return -1;
	}
	if (!argc && !(out = open_output("insnprof.txt")))
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, finished, NULL);
	return 0;
}
