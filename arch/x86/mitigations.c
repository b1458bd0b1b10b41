/*
 * Which side-channel mitigations a CPU gets, from what it enumerates.
 * Nothing is assumed from a model number: a CPU that states neither a
 * "_NO" bit nor a mitigation is reported as lacking it.
 */
#include "mitigations.h"

/* Intel's CPUID.7:EDX[26] (with IBRS) or AMD's CPUID 0x80000008:EBX[12]. */
int ibpb_offered(const struct mitigation_caps *c)
{
	return (c->leaf7_edx & EDX7_IBRS_IBPB) || (c->ext8_ebx & EBX88_IBPB);
}

static struct mitigation decided(enum mitigation_state state, const char *why)
{
	struct mitigation m = { state, why };

	return m;
}

/*
 * Indirect branch predictions one partition trained must not steer
 * another's: IBPB (IA32_PRED_CMD bit 0) when a CPU goes from one
 * partition's vCPU to another partition's (Intel's "Speculative Execution
 * Side Channel Mitigations", Indirect Branch Predictor Barrier; AMD's
 * "Software Techniques for Managing Speculation"). No CPU states that it
 * does not need it: enhanced IBRS separates predictor modes, not two
 * guests in the same mode.
 */
static struct mitigation ibpb(const struct mitigation_caps *c)
{
	if (ibpb_offered(c))
		return decided(MITIGATION_APPLIED, "on a switch of partition on a CPU");
	return decided(MITIGATION_NOT_AVAILABLE, "neither CPUID.7:EDX[26] nor CPUID 0x80000008:EBX[12]");
}

/*
 * L1 Terminal Fault (CVE-2018-3646): a guest can read what the L1 data
 * cache holds. Intel's guidance for VMMs ("Deep Dive: Intel Analysis of
 * L1 Terminal Fault", "Mitigation for VMMs") is to flush the L1D before a
 * VM entry whenever it may hold data the guest must not see, and lets a
 * VMM skip the flush where it knows its exit path touched none. Here it
 * is flushed before every entry, as Xen does by default: the exit paths
 * of one partition's vCPU routinely touch other partitions' data (the
 * block layer's poll completes any partition's requests into its RAM, the
 * switch copies a frame into the receiver's buffers on the sender's exit,
 * the console buffers every partition's output), and proving of each path
 * that it touched nothing would be fragile. The flush cannot help against
 * a sibling hyperthread running another partition at the same time.
 */
static struct mitigation l1d_flush(const struct mitigation_caps *c)
{
	if (!c->intel)
		return decided(MITIGATION_NOT_NEEDED, "not an Intel CPU: L1TF is Intel's");
	if (c->arch_caps & ARCH_CAP_RDCL_NO)
		return decided(MITIGATION_NOT_NEEDED, "IA32_ARCH_CAPABILITIES.RDCL_NO: not affected by L1TF");
	if (c->arch_caps & ARCH_CAP_SKIP_L1DFL_VMENTRY)
		return decided(MITIGATION_NOT_NEEDED, "IA32_ARCH_CAPABILITIES.SKIP_L1DFL_VMENTRY");
	if (!(c->leaf7_edx & EDX7_L1D_FLUSH))
		return decided(MITIGATION_NOT_AVAILABLE,
			       "affected by L1TF, and CPUID.7:EDX[28] offers no IA32_FLUSH_CMD: newer microcode may");
	return decided(MITIGATION_APPLIED, "before every VM entry (IA32_FLUSH_CMD)");
}

/*
 * Microarchitectural Data Sampling, and TSX Asynchronous Abort where TSX
 * is on: VERW with a memory operand overwrites the buffers on a CPU that
 * enumerates MD_CLEAR (Intel's "Deep Dive: Intel Analysis of
 * Microarchitectural Data Sampling"). On such a CPU the L1D flush
 * overwrites them too, so an entry the flush precedes needs no VERW
 * (Linux's Documentation/admin-guide/hw-vuln/mds.rst, "Virtualization
 * mitigation").
 */
static struct mitigation verw(const struct mitigation_caps *c, const struct mitigation *flush)
{
	int mds = !(c->arch_caps & ARCH_CAP_MDS_NO);
	int taa = (c->leaf7_ebx & EBX7_RTM) && !(c->arch_caps & ARCH_CAP_TAA_NO);

	if (!c->intel)
		return decided(MITIGATION_NOT_NEEDED, "not an Intel CPU: MDS is Intel's");
	if (!mds && !taa)
		return decided(MITIGATION_NOT_NEEDED, "IA32_ARCH_CAPABILITIES.MDS_NO, and TAA_NO or no TSX");
	if (!(c->leaf7_edx & EDX7_MD_CLEAR))
		return decided(MITIGATION_NOT_AVAILABLE,
			       "affected by MDS, and CPUID.7:EDX[10] offers no MD_CLEAR: newer microcode may");
	if (flush->state == MITIGATION_APPLIED)
		return decided(MITIGATION_NOT_NEEDED, "the L1D flush before every VM entry clears the buffers too");
	return decided(MITIGATION_APPLIED, "before every VM entry (MD_CLEAR)");
}

void mitigations_decide(const struct mitigation_caps *c, struct mitigations *m)
{
	m->ibpb = ibpb(c);
	m->l1d_flush = l1d_flush(c);
	m->verw = verw(c, &m->l1d_flush);
}

const char *mitigation_state_name(enum mitigation_state s)
{
	switch (s) {
	case MITIGATION_APPLIED: return "applied";
	case MITIGATION_NOT_NEEDED: return "not needed";
	default: return "not available";
	}
}

/*
 * IA32_SPEC_CTRL's bits (SDM Vol. 4, Table 2-2; AMD's "Indirect Branch
 * Control Extension"): IBRS 0, STIBP 1, SSBD 2, IPRED_DIS_U/S 3-4,
 * RRSBA_DIS_U/S 5-6, PSFD 7, DDPD_U 8, BHI_DIS_S 10. Each only restricts
 * speculation.
 */
uint64_t spec_ctrl_bits(const struct mitigation_caps *c)
{
	uint64_t bits = 0;

	if ((c->leaf7_edx & EDX7_IBRS_IBPB) || (c->ext8_ebx & EBX88_IBRS))
		bits |= 1ull << 0;
	if ((c->leaf7_edx & EDX7_STIBP) || (c->ext8_ebx & EBX88_STIBP))
		bits |= 1ull << 1;
	if ((c->leaf7_edx & EDX7_SSBD) || (c->ext8_ebx & EBX88_SSBD))
		bits |= 1ull << 2;
	if (c->leaf72_edx & EDX72_IPRED_CTRL)
		bits |= 3ull << 3;
	if (c->leaf72_edx & EDX72_RRSBA_CTRL)
		bits |= 3ull << 5;
	if ((c->leaf72_edx & EDX72_PSFD) || (c->ext8_ebx & EBX88_PSFD))
		bits |= 1ull << 7;
	if (c->leaf72_edx & EDX72_DDPD_U)
		bits |= 1ull << 8;
	if (c->leaf72_edx & EDX72_BHI_CTRL)
		bits |= 1ull << 10;
	return bits;
}
