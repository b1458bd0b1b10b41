#include "partition.h"

#include <stdarg.h>

#include "arch.h"
#include "elf_load.h"
#include "guest_boot.h"
#include "gpt.h"
#include "lib/fmt.h"
#include "log.h"
#include "mm.h"

static void release(struct partition *p)
{
	if (p->vcpu.arch)
		p->ops->destroy(&p->vcpu);
	if (p->space)
		p->ops->space_destroy(p->space);
	if (p->ram_pa)
		mm_free(p->ram_pa, p->ram_size / PAGE_SIZE);
	p->space = 0;
	p->ram_pa = 0;
}

static int fail(struct partition *p, const char *why)
{
	log_error("partition %s: not started: %s", p->cfg->name, why);
	release(p);
	return -1;
}

/* Places an ELF kernel at its link address, which must lie in guest RAM above 1 MiB. */
static const char *load_kernel(struct partition *p, const struct boot_module *m, uint64_t *entry)
{
	const uint8_t *file = (const uint8_t *)(uintptr_t)m->base;
	struct elf_image img;
	const char *why = elf_check(file, m->size, &img);

	if (why)
		return why;
	if (img.relocatable)
		return "the kernel is position-independent; an executable is expected";
	if (img.base < GUEST_KERNEL_MIN || img.span > p->ram_size || img.base > p->ram_size - img.span)
		return "the kernel does not fit in the partition's memory above 1 MiB";
	why = elf_place(file, &img, (uint8_t *)mm_ptr(p->ram_pa) + img.base);
	*entry = img.base + img.entry;
	return why;
}

int partition_start(struct partition *p, const struct cfg_partition *cfg, const struct boot_info *bi,
		    const struct vcpu_ops *ops)
{
	const struct boot_module *kernel = boot_module_find(bi, cfg->kernel);
	struct vcpu_boot boot;
	uint64_t entry = 0;
	const char *why;

	*p = (struct partition){ .cfg = cfg, .ops = ops, .ram_size = cfg->memory };
	p->vcpu.part = p;
	p->vcpu.ops = ops;
	p->vcpu.wake_vector = -1;
	vuart_init(&p->uart, cfg->name);
	p->ram_pa = mm_alloc(p->ram_size / PAGE_SIZE); /* zeroed: nothing of a previous owner */
	if (!p->ram_pa)
		return fail(p, "not enough free memory");
	p->space = ops->space_create();
	if (!p->space || ops->map(p->space, 0, p->ram_pa, p->ram_size, GPT_RWX, 0))
		return fail(p, "no memory for its guest-physical tables");
	if (!kernel)
		return fail(p, "its kernel is not on the boot medium");
	why = load_kernel(p, kernel, &entry);
	if (why)
		return fail(p, why);
	if (guest_boot_setup(mm_ptr(p->ram_pa), p->ram_size, cfg->cmdline, entry, &boot))
		return fail(p, "no room for the boot structures");
	if (ops->create(&p->vcpu, p->space, &boot))
		return fail(p, "no memory for its vCPU");
	arch_guest_fpu_reset(); /* extended state is not switched: nothing of the last guest stays */
	p->running = 1;
	p->cpu = arch_cpu_index();
	log_info("partition %s: started on cpu %u, %llu MiB at 0x%llx, entry 0x%llx", cfg->name,
		 p->cpu, (unsigned long long)(p->ram_size >> 20), (unsigned long long)p->ram_pa,
		 (unsigned long long)entry);
	return 0;
}

void partition_run(struct partition *p)
{
	struct vcpu_exit e;

	while (p->running) {
		p->ops->run(&p->vcpu, &e);
		p->exits++;
		vcpu_handle_exit(&p->vcpu, &e);
	}
}

void partition_stop(struct partition *p, const char *f, ...)
{
	va_list ap;

	if (!p->running)
		return;
	va_start(ap, f);
	fmt_v(p->stop_reason, sizeof(p->stop_reason), f, ap);
	va_end(ap);
	vuart_flush(&p->uart);
	p->running = 0;
	release(p);
	log_info("partition %s: stopped: %s (%llu exits)", p->cfg->name, p->stop_reason,
		 (unsigned long long)p->exits);
}
