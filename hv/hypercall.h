/*
 * The hypercall ABI: VMCALL (Intel) or VMMCALL (AMD) with the function in
 * RAX and arguments in RDI, RSI, RDX; the result comes back in RAX, a
 * negative HC_E* value on error. Shared with guests (guests/selftest).
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#define HC_ABI_VERSION 1

enum hypercall {
	HC_VERSION = 0,    /* -> HC_ABI_VERSION */
	HC_ECHO = 1,       /* (x) -> x ^ HC_ECHO_XOR: proves a full round trip */
	HC_EXIT = 2,       /* (status): the partition stops, reporting status */
	HC_WAKE_AFTER = 3, /* (tsc_ticks, vector 32-255): inject vector once that long has
			    * passed, when the vCPU halts with interrupts on; at most 60 s
			    * of ticks; one per vCPU, a new one replaces the last */
	HC_VCPU_START = 4, /* (index, rip, rsp): start vCPU index (1 to vcpus - 1) in the
			    * state vCPU 0 started in (64-bit, the boot page tables and
			    * GDT), at rip, with stack rsp and its index in RSI */
};

#define HC_ECHO_XOR 0x5a5a5a5a5a5a5a5aull

#define HC_E_UNKNOWN (-1ll) /* no such function */
#define HC_E_INVALID (-2ll) /* an argument out of range */
#define HC_E_STATE (-3ll)   /* not now: the vCPU runs already, or no CPU may take it */

/* The CPUID leaf 0x40000000 signature in EBX, ECX, EDX. */
#define HV_CPUID_SIGNATURE "hvhypervisor"

#endif
