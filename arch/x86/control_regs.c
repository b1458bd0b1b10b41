#include "control_regs.h"

#include "policy.h"

#define CR3_PCID_MASK 0xfffull

static int long_mode_active(const struct cr_state *s)
{
	return (s->efer & EFER_LMA) != 0;
}

/* SDM Vol. 2B, MOV to CR0, #GP(0) list; Vol. 3A, 9.8.5 for leaving IA-32e mode. */
int cr0_write_ok(const struct cr_state *s, uint64_t value)
{
	if (value >> 32)
		return -1; /* bits 63:32 are reserved */
	if ((value & CR0_PG) && !(value & CR0_PE))
		return -1;
	if ((value & CR0_NW) && !(value & CR0_CD))
		return -1;
	if ((value & CR0_PG) && !(s->cr0 & CR0_PG) && (s->efer & EFER_LME) && !(s->cr4 & CR4_PAE))
		return -1; /* entering IA-32e mode needs PAE */
	if (!(value & CR0_PG) && (s->cr0 & CR0_PG) && (s->long_code || (s->cr4 & CR4_PCIDE)))
		return -1; /* paging off from 64-bit code, or with PCIDs on */
	return 0;
}

int cr4_write_ok(const struct cr_state *s, uint64_t value)
{
	if (value & ~s->cr4_allowed)
		return -1; /* reserved, or a feature the guest is not offered (VMXE, SMXE) */
	if (long_mode_active(s) && !(value & CR4_PAE))
		return -1;
	if (long_mode_active(s) && ((value ^ s->cr4) & CR4_LA57))
		return -1; /* the paging depth cannot change in IA-32e mode */
	if ((value & CR4_PCIDE) && !(s->cr4 & CR4_PCIDE) &&
	    (!long_mode_active(s) || (s->cr3 & CR3_PCID_MASK)))
		return -1; /* PCIDs only in IA-32e mode, from PCID 0 (SDM Vol. 3A, 4.10.1) */
	return 0;
}

int cr8_write_ok(uint64_t value)
{
	return value >> 4 ? -1 : 0;
}

int cr_changes_paging(uint64_t old_cr0, uint64_t new_cr0, uint64_t old_cr4, uint64_t new_cr4)
{
	uint64_t cr0_bits = CR0_PG | CR0_WP | CR0_PE;
	uint64_t cr4_bits = CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57;

	return ((old_cr0 ^ new_cr0) & cr0_bits) || ((old_cr4 ^ new_cr4) & cr4_bits);
}
