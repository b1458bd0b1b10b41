/*
 * GDT, TSS and IDT of the hypervisor (Intel SDM Vol. 3A, chapters 3 and 6).
 * Long mode ignores most of the GDT; it still needs a 64-bit code segment,
 * a data segment and a TSS, whose IST stacks give #DF, NMI and #MC a good
 * stack even when the current one is what failed.
 */
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "exceptions.h"
#include "lapic.h"
#include "percpu.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define IST_STACK_SIZE 4096
#define MSR_GS_BASE 0xc0000101

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

struct __attribute__((packed)) table_register {
	uint16_t limit;
	uint64_t base;
};

enum { IST_DOUBLE_FAULT = 1, IST_NMI, IST_MACHINE_CHECK, IST_COUNT = IST_MACHINE_CHECK };

struct cpu cpus[CPUS_MAX];
static uint64_t gdts[CPUS_MAX][5] __attribute__((aligned(16)));
static struct tss64 tsss[CPUS_MAX] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[CPUS_MAX][IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

extern const uint64_t exception_stubs[32];
extern const uint64_t interrupt_stubs[HOST_VECTOR_COUNT];

static void build_gdt(unsigned cpu)
{
	struct tss64 *tss = &tsss[cpu];
	uint64_t *gdt = gdts[cpu];
	uint64_t base = (uint64_t)(uintptr_t)tss, limit = sizeof(*tss) - 1;
	int i;

	for (i = 0; i < IST_COUNT; i++)
		tss->ist[i] = (uint64_t)(uintptr_t)(ist_stacks[cpu][i] + IST_STACK_SIZE);
	tss->iomap_base = sizeof(*tss); /* no I/O bitmap */
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull; /* code: present, DPL 0, L=1 */
	gdt[2] = 0x00cf92000000ffffull; /* data: present, DPL 0, writable */
	/* 64-bit TSS descriptor, type 9 (available), spans two entries. */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	gdt[4] = base >> 32;
}

static void load_gdt(unsigned cpu)
{
	struct table_register gdtr = { sizeof(gdts[cpu]) - 1, (uint64_t)(uintptr_t)gdts[cpu] };

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "r"((uint16_t)SEL_TSS)
			 : "rax", "memory");
}

static uint8_t ist_for(int vector)
{
	switch (vector) {
	case 2: return IST_NMI;
	case 8: return IST_DOUBLE_FAULT;
	case 18: return IST_MACHINE_CHECK;
	default: return 0;
	}
}

static void set_gate(int vector, uint64_t handler)
{
	idt[vector] = (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = SEL_CODE,
		.ist = ist_for(vector),
		.type_attr = 0x8e, /* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
}

static void build_idt(void)
{
	static const uint8_t host_vectors[HOST_VECTOR_COUNT] = HOST_VECTORS;
	int v;

	for (v = 0; v < 32; v++)
		set_gate(v, exception_stubs[v]);
	for (v = 0; v < HOST_VECTOR_COUNT; v++)
		set_gate(host_vectors[v], interrupt_stubs[v]);
}

void cpu_tables_load(unsigned index)
{
	struct table_register idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	struct cpu *c = &cpus[index];

	build_gdt(index);
	load_gdt(index);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	c->self = c;
	c->index = index;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c); /* after the GS load above, which clears it */
}

void arch_early_init(uint64_t image_base, uint64_t image_size)
{
	exceptions_set_image(image_base, image_size);
	build_idt();
	cpu_tables_load(0);
}
