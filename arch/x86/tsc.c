/*
 * TSC frequency: from CPUID leaf 0x15 where it states one (Intel SDM Vol.
 * 3B, 18.7.3), else measured against the 8254 PIT's channel 2 over 10 ms.
 */
#include "arch.h"
#include "cpu.h"
#include "log.h"

#define PIT_HZ 1193182ull
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PORT_B 0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define CALIBRATION_MS 10

static uint64_t tsc_hz;

static uint64_t from_cpuid(void)
{
	struct cpuid_regs r;

	if (cpuid(0, 0).eax < 0x15)
		return 0;
	r = cpuid(0x15, 0); /* TSC/crystal ratio EBX/EAX, crystal Hz in ECX */
	return r.eax && r.ebx && r.ecx ? (uint64_t)r.ecx * r.ebx / r.eax : 0;
}

static uint64_t from_pit(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * CALIBRATION_MS / 1000);
	uint64_t start, end;
	uint8_t b = inb(PORT_B);

	outb(PORT_B, (uint8_t)((b & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_COMMAND, 0xb0);                     /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CHANNEL2, (uint8_t)count);
	outb(PIT_CHANNEL2, (uint8_t)(count >> 8));
	start = arch_tsc();
	while (!(inb(PORT_B) & 0x20)) /* OUT2 rises when the count reaches 0 */
		;
	end = arch_tsc();
	outb(PORT_B, b);
	return (end - start) * 1000 / CALIBRATION_MS;
}

uint64_t arch_tsc_hz(void)
{
	const char *how = "CPUID 0x15";

	if (tsc_hz)
		return tsc_hz;
	tsc_hz = from_cpuid();
	if (!tsc_hz) {
		tsc_hz = from_pit();
		how = "the PIT";
	}
	log_info("tsc: %llu MHz (from %s)", (unsigned long long)(tsc_hz / 1000000), how);
	return tsc_hz;
}

void arch_delay_us(uint64_t us)
{
	uint64_t end = arch_tsc() + arch_tsc_hz() * us / 1000000;

	while (arch_tsc() < end)
		cpu_relax();
}
