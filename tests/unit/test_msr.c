/*
 * test_msr.c - the MSR model (msr_read/msr_write: every MSR, its reset
 * value, valid and invalid writes), RDMSR/WRMSR/RDTSC/RDTSCP/RDPID/RDPMC
 * as instructions (EDX:EAX, #GP for unknown MSRs and at CPL 3, CR4.TSD),
 * and the TSC / TSC_ADJUST coupling.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/msr.h"

TestSuite(msr);

static void use_model(struct th *t, const char *name)
{
	struct cpu *c = t->cpu;
	c->model = cpu_model_find(name);
	cr_assert(c->model);
	memcpy(c->features, c->model->features, sizeof(c->model->features));
}

struct wr_case {
	uint32_t idx;
	uint64_t val;
	int rc;		/* expected msr_write result */
};

/* Writes that must succeed read back as written; failing ones leave the
 * old value. */
static void run_cases(struct th *t, const struct wr_case *cases, unsigned n)
{
	struct cpu *c = t->cpu;
	for (unsigned k = 0; k < n; k++) {
		uint64_t before = 0, after = 0;
		int rrc = msr_read(c, cases[k].idx, &before);
		int rc = msr_write(c, cases[k].idx, cases[k].val);
		cr_assert_eq(rc, cases[k].rc, "MSR %#x <- %#llx: rc %d, want %d", cases[k].idx,
			     (unsigned long long)cases[k].val, rc, cases[k].rc);
		if (rrc == 0) {
			cr_assert_eq(msr_read(c, cases[k].idx, &after), 0);
			if (rc == 0)
				cr_assert_eq(after, cases[k].val, "MSR %#x reads %#llx", cases[k].idx,
					     (unsigned long long)after);
			else
				cr_assert_eq(after, before, "MSR %#x changed on #GP", cases[k].idx);
		}
	}
}

Test(msr, reset_values)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	uint64_t v;
	cr_assert_eq(msr_read(c, MSR_PAT, &v), 0);
	cr_assert_eq(v, 0x0007040600070406ull);
	cr_assert_eq(msr_read(c, MSR_APIC_BASE, &v), 0);
	cr_assert_eq(v, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP);
	cr_assert_eq(msr_read(c, MSR_FEATURE_CONTROL, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(msr_read(c, MSR_MTRRCAP, &v), 0);
	cr_assert_eq(v & 0x500, 0x500);		/* fixed ranges, WC */
	cr_assert_eq(msr_read(c, MSR_MCG_CAP, &v), 0);
	cr_assert_eq(v, MSR_MC_BANKS);
	cr_assert_eq(msr_read(c, MSR_ARCH_CAPABILITIES, &v), 0);
	cr_assert(v & 1, "RDCL_NO");
	cr_assert_eq(msr_read(c, MSR_BIOS_SIGN_ID, &v), 0);
	cr_assert_eq(v >> 32, UCODE_REV);
	cr_assert_eq(msr_read(c, MSR_EFER, &v), 0);
	cr_assert_eq(v, c->efer);
	th_free(t);
}

Test(msr, efer)
{
	struct th *t = th_new(TH_PROT32);
	struct cpu *c = t->cpu;
	static const struct wr_case cases[] = {
		{ MSR_EFER, EFER_SCE, 0 },
		{ MSR_EFER, EFER_SCE | EFER_NXE, 0 },
		{ MSR_EFER, EFER_LME, 0 },		/* paging off: LME may change */
		{ MSR_EFER, 0, 0 },
		{ MSR_EFER, 1u << 2, -1 },		/* reserved */
		{ MSR_EFER, EFER_SVME, -1 },		/* no SVM in skylake */
		{ MSR_EFER, EFER_FFXSR, -1 },
		{ MSR_EFER, 1ull << 32, -1 },
	};
	run_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	/* LMA is read-only: writing it is ignored. */
	cr_assert_eq(msr_write(c, MSR_EFER, EFER_LMA), 0);
	cr_assert_eq(c->efer & EFER_LMA, 0);
	/* NXE without NX: #GP. */
	c->features[FW_81_EDX] &= ~(1u << 20);
	cr_assert_eq(msr_write(c, MSR_EFER, EFER_NXE), -1);
	th_free(t);

	/* With paging on, LME cannot change, but other bits can; LMA stays. */
	t = th_new(TH_LONG64);
	c = t->cpu;
	cr_assert_eq(msr_write(c, MSR_EFER, EFER_SCE), -1);
	cr_assert_eq(msr_write(c, MSR_EFER, EFER_LME | EFER_SCE), 0);
	cr_assert_eq(c->efer, EFER_LME | EFER_LMA | EFER_SCE);
	th_free(t);

	/* SVME is writable on an AMD model with SVM. */
	t = th_new(TH_PROT32);
	use_model(t, "zen2");
	cr_assert_eq(msr_write(t->cpu, MSR_EFER, EFER_SVME), -1);
	cpu_model_set_virt(t->cpu->model, t->cpu->features, true);
	cr_assert_eq(msr_write(t->cpu, MSR_EFER, EFER_SVME), 0);
	th_free(t);
}

Test(msr, syscall_and_segment_bases)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	static const struct wr_case cases[] = {
		{ MSR_STAR, 0x0023001000000000ull, 0 },
		{ MSR_LSTAR, 0xffffffff81000000ull, 0 },
		{ MSR_LSTAR, 0x0000800000000000ull, -1 },	/* non-canonical */
		{ MSR_CSTAR, 0x00007fffffffffffull, 0 },
		{ MSR_CSTAR, 0xff00000000000000ull, -1 },
		{ MSR_SFMASK, 0x47700, 0 },
		{ MSR_KERNEL_GS_BASE, 0xffff888000000000ull, 0 },
		{ MSR_KERNEL_GS_BASE, 0x8000000000000000ull, -1 },
		{ MSR_FS_BASE, 0x7f0000001000ull, 0 },
		{ MSR_FS_BASE, 0x0001000000000000ull, -1 },
		{ MSR_GS_BASE, 0xffffffffff600000ull, 0 },
		{ MSR_SYSENTER_CS, 0x10, 0 },
		{ MSR_SYSENTER_ESP, 0xffffc90000000000ull, 0 },
		{ MSR_SYSENTER_EIP, 0x0000800000000000ull, -1 },
		{ MSR_SYSENTER_EIP, 0xffffffff81001000ull, 0 },
		{ MSR_TSC_AUX, 0x12345678, 0 },
		{ MSR_TSC_AUX, 1ull << 32, -1 },
	};
	run_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	/* FS/GS writes reach the segment registers and the address cache. */
	cr_assert_eq(c->seg[S_FS].base, 0x7f0000001000ull);
	cr_assert_eq(c->segbase[S_FS], 0x7f0000001000ull);
	cr_assert_eq(c->seg[S_GS].base, 0xffffffffff600000ull);
	cr_assert_eq(c->segbase[S_GS], 0xffffffffff600000ull);
	th_free(t);
}

Test(msr, pat_and_mtrrs)
{
	struct th *t = th_new(TH_LONG64);
	static const struct wr_case cases[] = {
		{ MSR_PAT, 0x0007040600070406ull, 0 },
		{ MSR_PAT, 0x0107050600010406ull, 0 },
		{ MSR_PAT, 0x0007040600070402ull, -1 },	/* type 2 */
		{ MSR_PAT, 0x0807040600070406ull, -1 },	/* type 8 */
		{ MSR_PAT, 0x0007040603070406ull, -1 },	/* type 3 */
		{ MSR_MTRR_DEF_TYPE, 0xc06, 0 },
		{ MSR_MTRR_DEF_TYPE, 0xc07, -1 },		/* UC- is not an MTRR type */
		{ MSR_MTRR_DEF_TYPE, 0x1006, -1 },		/* reserved bit 12 */
		{ MSR_MTRR_FIX64K_00000, 0x0606060606060606ull, 0 },
		{ MSR_MTRR_FIX16K_A0000, 0x0000000000000000ull, 0 },
		{ MSR_MTRR_FIX4K_F8000, 0x0505050505050505ull, 0 },
		{ MSR_MTRR_FIX4K_C0000, 0x0606060606060602ull, -1 },
		{ MSR_MTRR_PHYSBASE0, 0x80000006ull, 0 },
		{ MSR_MTRR_PHYSBASE0, 0x80000007ull, -1 },
		{ MSR_MTRR_PHYSBASE0, 0x80000106ull, -1 },	/* reserved 11:8 */
		{ MSR_MTRR_PHYSBASE0, 1ull << 46 | 6, -1 },	/* beyond MAXPHYADDR */
		{ MSR_MTRR_PHYSBASE0 + 1, 0x3fff80000800ull, 0 },
		{ MSR_MTRR_PHYSBASE0 + 1, 0x3fff80000801ull, -1 },
		{ MSR_MTRR_PHYSBASE0 + 15, 0x800, 0 },		/* the 8th pair */
		{ MSR_MTRRCAP, 0, -1 },			/* read-only */
	};
	run_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	uint64_t v;
	cr_assert_eq(msr_read(t->cpu, MSR_MTRR_PHYSBASE0 + 16, &v), -1, "only 8 variable ranges");
	th_free(t);
}

Test(msr, feature_control_lock)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	uint64_t v;
	/* Without VMX only the lock bit is writable. */
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_VMX), -1);
	cpu_model_set_virt(c->model, c->features, true);
	cr_assert(cpu_has(c, FEAT_VMX));
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, 1ull << 20), -1);	/* LMCE: not offered */
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_VMX), 0);
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_VMX | FEATURE_CONTROL_LOCKED), 0);
	cr_assert_eq(msr_read(c, MSR_FEATURE_CONTROL, &v), 0);
	cr_assert_eq(v, FEATURE_CONTROL_VMX | FEATURE_CONTROL_LOCKED);
	/* Locked: every further write is #GP, even of the same value. */
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_VMX | FEATURE_CONTROL_LOCKED), -1);
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, 0), -1);
	cr_assert_eq(msr_read(c, MSR_FEATURE_CONTROL, &v), 0);
	cr_assert_eq(v, FEATURE_CONTROL_VMX | FEATURE_CONTROL_LOCKED);
	th_free(t);

	/* AMD has no IA32_FEATURE_CONTROL. */
	t = th_new(TH_LONG64);
	use_model(t, "zen2");
	cr_assert_eq(msr_read(t->cpu, MSR_FEATURE_CONTROL, &v), -1);
	th_free(t);
}

Test(msr, apic_base)
{
	struct th *t = th_new(TH_LONG64);
	static const struct wr_case cases[] = {
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP, 0 },
		{ MSR_APIC_BASE, 0xfec00000ull | APIC_BASE_EN | APIC_BASE_BSP, 0 },
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP | 1, -1 },	/* reserved 7:0 */
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP | (1u << 9), -1 },
		{ MSR_APIC_BASE, (1ull << 46) | APIC_BASE_EN | APIC_BASE_BSP, -1 },
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EXTD | APIC_BASE_BSP, -1 },	/* EXTD without EN */
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP, 0 },
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP, -1 },	/* x2APIC -> xAPIC */
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_BSP, 0 },			/* disable */
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP, -1 },
		{ MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN | APIC_BASE_BSP, 0 },
	};
	run_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	/* BSP is read-only. */
	cr_assert_eq(msr_write(t->cpu, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EN), 0);
	cr_assert(t->cpu->msr.apic_base & APIC_BASE_BSP);
	th_free(t);
}

Test(msr, speculation_and_misc)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	static const struct wr_case cases[] = {
		{ MSR_SPEC_CTRL, 7, 0 }, { MSR_SPEC_CTRL, 8, -1 }, { MSR_SPEC_CTRL, 0, 0 },
		{ MSR_DEBUGCTL, 3, 0 }, { MSR_DEBUGCTL, 4, -1 }, { MSR_DEBUGCTL, 0, 0 },
		{ MSR_MCG_STATUS, 0, 0 }, { MSR_MCG_STATUS, 8, -1 },
		{ MSR_MC0_CTL, ~0ull, 0 }, { MSR_MC0_CTL, 0, 0 }, { MSR_MC0_CTL, 0x1234, -1 },
		{ MSR_MC0_CTL + 1, 0, 0 }, { MSR_MC0_CTL + 1, 1ull << 63, -1 },	/* STATUS: clear only */
		{ MSR_MC0_CTL + 2, 0x1000, 0 }, { MSR_MC0_CTL + 3, 0x86, 0 },
		{ MSR_MC0_CTL + 4 * 3 + 2, 0x55, 0 },
		{ MSR_TSC_DEADLINE, 12345, 0 },
		{ MSR_PLATFORM_INFO, 0, -1 }, { MSR_ARCH_CAPABILITIES, 0, -1 }, { MSR_MCG_CAP, 0, -1 },
	};
	run_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	uint64_t v;
	/* Write-only command MSRs. */
	cr_assert_eq(msr_write(c, MSR_PRED_CMD, 1), 0);
	cr_assert_eq(msr_write(c, MSR_PRED_CMD, 2), -1);
	cr_assert_eq(msr_read(c, MSR_PRED_CMD, &v), -1);
	cr_assert_eq(msr_write(c, MSR_FLUSH_CMD, 1), 0);
	cr_assert_eq(msr_write(c, MSR_FLUSH_CMD, 2), -1);
	cr_assert_eq(msr_read(c, MSR_FLUSH_CMD, &v), -1);
	/* Beyond the last machine-check bank. */
	cr_assert_eq(msr_read(c, MSR_MC0_CTL + 4 * MSR_MC_BANKS, &v), -1);
	/* MISC_ENABLE: limit-CPUID is writable and limits CPUID leaf 0. */
	cr_assert_eq(msr_read(c, MSR_MISC_ENABLE, &v), 0);
	cr_assert(v & MISC_ENABLE_FAST_STRINGS);
	cr_assert_eq(msr_write(c, MSR_MISC_ENABLE, v | MISC_ENABLE_LIMIT_CPUID), 0);
	uint32_t r[4];
	cpu_cpuid(c, 0, 0, r);
	cr_assert_eq(r[0], 2);
	cr_assert_eq(msr_write(c, MSR_MISC_ENABLE, v), 0);
	cpu_cpuid(c, 0, 0, r);
	cr_assert_eq(r[0], c->model->max_leaf);
	/* XSS exists exactly when the model has XSAVES; no supervisor
	 * state component is implemented, so only 0 can be written. */
	cr_assert(cpu_has(c, FEAT_XSAVES));
	cr_assert_eq(msr_read(c, MSR_XSS, &v), 0);
	cr_assert_eq(v, 0);
	c->features[FEAT_XSAVES / 32] &= ~(1u << (FEAT_XSAVES % 32));
	cr_assert_eq(msr_read(c, MSR_XSS, &v), -1);
	c->features[FEAT_XSAVES / 32] |= 1u << (FEAT_XSAVES % 32);
	/* PLATFORM_INFO reports a ratio. */
	cr_assert_eq(msr_read(c, MSR_PLATFORM_INFO, &v), 0);
	cr_assert_neq((v >> 8) & 0xff, 0);
	/* Unknown MSRs and VMX capability MSRs without VMX. */
	cr_assert_eq(msr_read(c, 0x12345678, &v), -1);
	cr_assert_eq(msr_write(c, 0x12345678, 0), -1);
	cr_assert_eq(msr_read(c, 0x480, &v), -1);
	cr_assert_eq(msr_read(c, 0xc0010114, &v), -1);
	th_free(t);
}

Test(msr, amd_msrs)
{
	struct th *t = th_new(TH_LONG64);
	use_model(t, "zen2");
	struct cpu *c = t->cpu;
	uint64_t v;
	cr_assert_eq(msr_read(c, MSR_MISC_ENABLE, &v), -1);
	cr_assert_eq(msr_read(c, MSR_PLATFORM_INFO, &v), -1);
	cr_assert_eq(msr_read(c, MSR_SPEC_CTRL, &v), -1);
	cr_assert_eq(msr_read(c, MSR_TSC_ADJUST, &v), -1);
	cr_assert_eq(msr_read(c, MSR_TSC_DEADLINE, &v), -1);
	cr_assert_eq(msr_write(c, MSR_AMD_HWCR, 1ull << 18), 0);
	cr_assert_eq(msr_write(c, MSR_AMD_HWCR, 1ull << 2), -1);
	/* McStatusWrEn allows MCi_STATUS writes. */
	cr_assert_eq(msr_write(c, MSR_MC0_CTL + 1, 1ull << 63), 0);
	/* SVM MSRs exist once SVM is exposed. */
	cr_assert_eq(msr_read(c, MSR_VM_CR, &v), -1);
	cpu_model_set_virt(c->model, c->features, true);
	cr_assert_eq(msr_read(c, MSR_VM_CR, &v), 0);
	cr_assert_eq(v & (1u << 4), 0, "SVMDIS clear");
	cr_assert_eq(msr_write(c, MSR_VM_HSAVE_PA, 0x100000), 0);
	cr_assert_eq(msr_write(c, MSR_VM_HSAVE_PA, 0x100800), -1);
	cr_assert_eq(msr_read(c, MSR_VM_HSAVE_PA, &v), 0);
	cr_assert_eq(v, 0x100000);
	th_free(t);
}

Test(msr, tsc_and_adjust)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	uint64_t a, b;
	cr_assert_eq(msr_write(c, MSR_TSC, 1000000), 0);
	cr_assert_eq(msr_read(c, MSR_TSC, &a), 0);
	cr_assert_eq(a, 1000000);
	cr_assert_eq(msr_read(c, MSR_TSC_ADJUST, &b), 0);
	cr_assert_eq(b, 1000000, "writing the TSC adds the difference to TSC_ADJUST");
	c->icount += 50;
	cr_assert_eq(cpu_rdtsc(c), 1000000 + 50 * MSR_TSC_PER_INSN);
	cr_assert_eq(msr_write(c, MSR_TSC_ADJUST, b + 500), 0);
	cr_assert_eq(cpu_rdtsc(c), 1000500 + 50 * MSR_TSC_PER_INSN, "TSC_ADJUST moves the TSC");
	th_free(t);
}

Test(msr, instructions)
{
	/* WRMSR/RDMSR through EDX:EAX; upper halves of RAX/RDX are ignored/zeroed. */
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "mov ecx, 0xc0000102\n mov rax, 0xffffffff89abcdef\n mov rdx, 0xffffffffffff8000\n wrmsr\n"
		  "mov rax, -1\n mov rdx, -1\n rdmsr");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1, "vector %d at %#llx", t->exc_vector, (unsigned long long)t->cpu->rip);
	cr_assert_eq(t->cpu->msr.kernel_gs_base, 0xffff800089abcdefull);
	cr_assert_eq(t->cpu->regs[R_AX], 0x89abcdefull);
	cr_assert_eq(t->cpu->regs[R_DX], 0xffff8000ull);
	th_free(t);

	/* Unknown MSR, invalid value, CPL 3: #GP(0), RIP at the instruction. */
	const char *srcs[] = { "mov ecx, 0x1234\n rdmsr", "mov ecx, 0xc0000082\n mov edx, 0x8000\n wrmsr" };
	const unsigned lens[] = { 5, 10 };
	for (unsigned k = 0; k < 2; k++) {
		t = th_new(TH_LONG64);
		th_asm(t, srcs[k]);
		th_run(t);
		cr_assert_eq(t->exc_vector, 13);
		cr_assert_eq(t->exc_error, 0);
		cr_assert_eq(t->cpu->rip, TH_CODE + lens[k]);
		th_free(t);
	}
}

Test(msr, rdtsc_rdtscp_rdpid_rdpmc)
{
	struct th *t = th_new(TH_LONG64);
	th_asm(t, "rdtsc\n mov r8, rax\n mov r9, rdx\n rdtscp\n mov r10, rax\n mov r11, rdx\n rdpid rbx\n"
		  "xor ecx, ecx\n rdpmc\n mov r12, rax\n mov ecx, 0x40000002\n rdpmc");
	t->cpu->features[FEAT_RDPID / 32] |= 1u << (FEAT_RDPID % 32);	/* skylake has none */
	t->cpu->msr.tsc_aux = 0x42;
	t->cpu->regs[R_R12] = 99;
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	struct cpu *c = t->cpu;
	uint64_t t1 = c->regs[R_R8] | c->regs[R_R9] << 32, t2 = c->regs[R_R10] | c->regs[R_R11] << 32;
	cr_assert_gt(t2, t1);
	cr_assert_eq(c->regs[R_CX], 0x40000002);
	cr_assert_eq(c->regs[R_BX], 0x42);
	cr_assert_eq(c->regs[R_R12], 0);
	th_free(t);

	/* RDPMC with an invalid counter: #GP. */
	t = th_new(TH_LONG64);
	th_asm(t, "rdpmc");
	t->cpu->regs[R_CX] = 4;
	th_run(t);
	cr_assert_eq(t->exc_vector, 13);
	th_free(t);

	/* RDTSC stays monotonic across a TSC write. */
	t = th_new(TH_LONG64);
	th_asm(t, "mov ecx, 0x10\n xor eax, eax\n mov edx, 1\n wrmsr\n rdtsc");
	th_run(t);
	cr_assert_eq(t->cpu->regs[R_DX], 1);
	cr_assert_lt(t->cpu->regs[R_AX], 10);
	th_free(t);
}
