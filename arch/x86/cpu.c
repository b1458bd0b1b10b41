#include "arch.h"
#include "cpu.h"

void arch_halt(void)
{
	cpu_halt_forever();
}

void arch_relax(void)
{
	cpu_relax();
}
