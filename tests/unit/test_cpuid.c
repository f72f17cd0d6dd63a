/*
 * test_cpuid.c - CPU models and CPUID: vendor strings, signatures, the
 * feature leaves equal to the effective feature words, the dynamic bits
 * (OSXSAVE, OSPKE, APIC, initial APIC ID), topology, XSAVE sizes, brand
 * string, address sizes, "-cpu" parsing (+feat/-feat, name=on/off,
 * unknown names) and the bare-metal basics hypervisors check.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/harness.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpuid.h"
#include "emu/cpu/msr.h"

TestSuite(cpuid);

static struct th *model_th(const char *name)
{
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	c->model = cpu_model_find(name);
	cr_assert(c->model, "model %s", name);
	memcpy(c->features, c->model->features, sizeof(c->model->features));
	return t;
}

static void vendor_of(struct cpu *c, char out[13])
{
	uint32_t r[4];
	cpu_cpuid(c, 0, 0, r);
	memcpy(out, &r[1], 4);
	memcpy(out + 4, &r[3], 4);
	memcpy(out + 8, &r[2], 4);
	out[12] = 0;
}

Test(cpuid, vendors_and_signatures)
{
	static const struct {
		const char *model, *vendor;
		uint32_t sig;
	} cases[] = {
		{ "skylake", "GenuineIntel", 0x50654 },
		{ "icelake", "GenuineIntel", 0x606a6 },
		{ "zen2", "AuthenticAMD", 0x830f10 },
		{ "epyc", "AuthenticAMD", 0x830f10 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct th *t = model_th(cases[k].model);
		char v[13];
		vendor_of(t->cpu, v);
		cr_assert_str_eq(v, cases[k].vendor);
		uint32_t r[4];
		cpu_cpuid(t->cpu, 1, 0, r);
		cr_assert_eq(r[0], cases[k].sig, "%s: signature %#x", cases[k].model, r[0]);
		cr_assert_eq((r[1] >> 8) & 0xff, 8, "CLFLUSH line size 64");
		cr_assert_eq(r[2] & (1u << 31), 0, "hypervisor bit off");
		cr_assert_eq(r[2] & ((1u << 5)), 0, "VMX off by default");
		cpu_cpuid(t->cpu, 0x80000001, 0, r);
		cr_assert_eq(r[2] & (1u << 2), 0, "SVM off by default");
		cr_assert(r[3] & (1u << 29), "LM");
		cr_assert(r[3] & (1u << 20), "NX");
		if (strcmp(cases[k].vendor, "AuthenticAMD") == 0) {
			cr_assert_eq(r[0], cases[k].sig);
			cr_assert(r[3] & 1, "AMD mirrors FPU in 80000001:EDX");
			cpu_cpuid(t->cpu, 0x80000000, 0, r);
			char ev[13];
			memcpy(ev, &r[1], 4);
			memcpy(ev + 4, &r[3], 4);
			memcpy(ev + 8, &r[2], 4);
			ev[12] = 0;
			cr_assert_str_eq(ev, "AuthenticAMD");
		}
		th_free(t);
	}
}

Test(cpuid, feature_leaves_equal_words)
{
	const char *const *names = cpu_model_names();
	for (unsigned n = 0; names[n]; n++) {
		struct th *t = model_th(names[n]);
		struct cpu *c = t->cpu;
		uint32_t r[4];
		cpu_cpuid(c, 1, 0, r);
		cr_assert_eq(r[2], c->features[FW_1_ECX], "%s leaf 1 ECX", names[n]);
		cr_assert_eq(r[3], c->features[FW_1_EDX], "%s leaf 1 EDX", names[n]);
		cpu_cpuid(c, 7, 0, r);
		cr_assert_eq(r[0], 0);
		cr_assert_eq(r[1], c->features[FW_7_EBX], "%s leaf 7 EBX", names[n]);
		cr_assert_eq(r[2], c->features[FW_7_ECX], "%s leaf 7 ECX", names[n]);
		cr_assert_eq(r[3], c->features[FW_7_EDX], "%s leaf 7 EDX", names[n]);
		cpu_cpuid(c, 0x80000001, 0, r);
		cr_assert_eq(r[2], c->features[FW_81_ECX], "%s 80000001 ECX", names[n]);
		cr_assert_eq(r[3] & c->features[FW_81_EDX], c->features[FW_81_EDX]);
		cpu_cpuid(c, 0xd, 1, r);
		cr_assert_eq(r[0], c->features[FW_D1_EAX]);
		/* The x86-64 baseline and what Windows requires. */
		static const unsigned need[] = {
			FEAT_FPU, FEAT_TSC, FEAT_MSR, FEAT_PAE, FEAT_CX8, FEAT_APIC, FEAT_SEP, FEAT_PGE,
			FEAT_CMOV, FEAT_PAT, FEAT_CLFSH, FEAT_MMX, FEAT_FXSR, FEAT_SSE, FEAT_SSE2,
			FEAT_CX16, FEAT_POPCNT, FEAT_SSE42, FEAT_LAHF_LM, FEAT_3DNOWPREFETCH, FEAT_NX,
			FEAT_LM, FEAT_SYSCALL, FEAT_XSAVE,
		};
		for (unsigned k = 0; k < sizeof(need) / sizeof(need[0]); k++)
			cr_assert(cpu_has(c, need[k]), "%s lacks feature %u", names[n], need[k]);
		/* Never advertised unless implemented. */
		cr_assert_not(cpu_has(c, FEAT_RTM) || cpu_has(c, FEAT_HLE) || cpu_has(c, FEAT_HYPERVISOR),
			      "%s", names[n]);
		th_free(t);
	}
}

Test(cpuid, dynamic_bits)
{
	struct th *t = model_th("skylake");
	struct cpu *c = t->cpu;
	uint32_t r[4];
	c->apic_id = 5;
	c->cr4 |= CR4_OSXSAVE | CR4_PKE;
	cpu_cpuid(c, 1, 0, r);
	cr_assert(r[2] & (1u << 27), "OSXSAVE follows CR4");
	cr_assert_eq(r[1] >> 24, 5, "initial APIC ID");
	cpu_cpuid(c, 7, 0, r);
	cr_assert(r[2] & (1u << 4), "OSPKE follows CR4");
	c->cr4 &= ~(uint64_t)(CR4_OSXSAVE | CR4_PKE);
	cpu_cpuid(c, 1, 0, r);
	cr_assert_eq(r[2] & (1u << 27), 0);
	cpu_cpuid(c, 7, 0, r);
	cr_assert_eq(r[2] & (1u << 4), 0);
	/* A disabled local APIC hides CPUID.1:EDX.APIC. */
	c->msr.apic_base &= ~APIC_BASE_EN;
	cpu_cpuid(c, 1, 0, r);
	cr_assert_eq(r[3] & (1u << 9), 0);
	/* x2APIC topology: EDX is the APIC ID. */
	cpu_cpuid(c, 0xb, 0, r);
	cr_assert_eq(r[3], 5);
	cr_assert_eq((r[2] >> 8) & 0xff, 1, "SMT level");
	cpu_cpuid(c, 0xb, 1, r);
	cr_assert_eq((r[2] >> 8) & 0xff, 2, "core level");
	cr_assert_eq(r[1], 1, "one logical processor");
	cpu_cpuid(c, 0xb, 2, r);
	cr_assert_eq((r[2] >> 8) & 0xff, 0, "invalid level");
	th_free(t);
}

Test(cpuid, xsave_leaf)
{
	struct th *t = model_th("skylake");
	struct cpu *c = t->cpu;
	uint32_t r[4];
	c->xcr0 = 3;
	cpu_cpuid(c, 0xd, 0, r);
	cr_assert_eq(r[0], 0x207, "x87, SSE, AVX, PKRU supported");
	cr_assert_eq(r[1], 576, "size for XCR0 = x87|SSE");
	cr_assert_eq(r[2], 2696, "size for every supported component");
	cr_assert_eq(r[3], 0);
	c->xcr0 = 0x203;
	cpu_cpuid(c, 0xd, 0, r);
	cr_assert_eq(r[1], 2696);
	cpu_cpuid(c, 0xd, 9, r);
	cr_assert_eq(r[0], 8);
	cr_assert_eq(r[1], 2688);
	cpu_cpuid(c, 0xd, 2, r);
	cr_assert_eq(r[0], 256, "AVX component size");
	cr_assert_eq(r[1], 576, "AVX component offset");
	th_free(t);
}

Test(cpuid, extended_leaves)
{
	struct th *t = model_th("skylake");
	struct cpu *c = t->cpu;
	uint32_t r[4];
	char brand[49] = { 0 };
	for (unsigned k = 0; k < 3; k++) {
		cpu_cpuid(c, 0x80000002 + k, 0, r);
		memcpy(brand + 16 * k, r, 16);
	}
	cr_assert_str_eq(brand, c->model->brand);
	cpu_cpuid(c, 0x80000008, 0, r);
	cr_assert_eq(r[0] & 0xff, 46);
	cr_assert_eq((r[0] >> 8) & 0xff, 48);
	cpu_cpuid(c, 0x80000000, 0, r);
	cr_assert_eq(r[0], 0x80000008);
	/* Intel: a leaf above the maximum answers like the highest basic leaf. */
	uint32_t hi[4];
	cpu_cpuid(c, c->model->max_leaf, 0, hi);
	cpu_cpuid(c, 0x80000009, 0, r);
	cr_assert_arr_eq(r, hi, sizeof(r));
	/* Leaf 4: deterministic cache parameters, terminated by type 0. */
	cpu_cpuid(c, 4, 0, r);
	cr_assert_eq(r[0] & 0x1f, 1);
	cpu_cpuid(c, 4, 4, r);
	cr_assert_eq(r[0] & 0x1f, 0);
	th_free(t);

	/* icelake: 57-bit linear addresses and LA57. */
	t = model_th("icelake");
	cpu_cpuid(t->cpu, 0x80000008, 0, r);
	cr_assert_eq((r[0] >> 8) & 0xff, 57);
	cr_assert(cpu_has(t->cpu, FEAT_LA57));
	th_free(t);

	/* AMD: zeros above the maximum. */
	t = model_th("zen2");
	cpu_cpuid(t->cpu, 0x40000000, 0, r);
	cr_assert_eq(r[0] | r[1] | r[2] | r[3], 0);
	cpu_cpuid(t->cpu, 0x80000008, 0, r);
	cr_assert_eq(r[0] & 0xff, 48);
	th_free(t);
}

Test(cpuid, model_parse)
{
	const struct cpu_model *m;
	uint32_t f[FW_N];
	char err[256];

	cr_assert_eq(cpu_model_parse("skylake", &m, f, err, sizeof(err)), 0);
	cr_assert_str_eq(m->name, "skylake");
	cr_assert_arr_eq(f, m->features, sizeof(f));

	cr_assert_eq(cpu_model_parse("skylake,+vmx,-pcid,+la57,sse4.1=off,avx=on", &m, f, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert(cpu_feature_word_bit(f, FEAT_VMX));
	cr_assert_not(cpu_feature_word_bit(f, FEAT_PCID));
	cr_assert(cpu_feature_word_bit(f, FEAT_LA57));
	cr_assert_not(cpu_feature_word_bit(f, FEAT_SSE41));
	cr_assert(cpu_feature_word_bit(f, FEAT_AVX));

	cr_assert_eq(cpu_model_parse("EPYC,+svm,-avx2,+sse4_2", &m, f, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(m->name, "zen2");
	cr_assert(cpu_feature_word_bit(f, FEAT_SVM));

	cr_assert_eq(cpu_model_parse(NULL, &m, f, err, sizeof(err)), 0);
	cr_assert_str_eq(m->name, "skylake");
	cr_assert_eq(cpu_model_parse("max", &m, f, err, sizeof(err)), 0);
	cr_assert_str_eq(m->name, "icelake");

	/* Errors: one sentence naming the culprit. */
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "pentium9", "pentium9" },
		{ "skylake,+warp-drive", "warp-drive" },
		{ "skylake,vmx", "+vmx" },
		{ "skylake,+svm", "svm" },
		{ "zen2,+vmx", "vmx" },
		{ "skylake,+osxsave", "CR4" },
		{ "skylake,vmx=maybe", "on or off" },
		{ ",+vmx", "model" },
		{ "skylake,+", "empty" },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = 0;
		cr_assert_eq(cpu_model_parse(bad[k].spec, &m, f, err, sizeof(err)), -1, "%s", bad[k].spec);
		cr_assert(strstr(err, bad[k].needle), "%s: message '%s'", bad[k].spec, err);
		size_t n = strlen(err);
		cr_assert(n > 0 && err[n - 1] == '.', "%s: '%s' is not a sentence", bad[k].spec, err);
	}
	cr_assert_null(cpu_model_find("nonesuch"));
	cr_assert_eq(cpu_model_feature_lookup("SSE4.2", 6), (int)FEAT_SSE42);
	cr_assert_eq(cpu_model_feature_lookup("nope", 4), -1);
}

Test(cpuid, set_virt)
{
	const struct cpu_model *intel = cpu_model_find("skylake"), *amd = cpu_model_find("zen2");
	uint32_t f[FW_N];
	memcpy(f, intel->features, sizeof(f));
	cpu_model_set_virt(intel, f, true);
	cr_assert(cpu_feature_word_bit(f, FEAT_VMX));
	cr_assert_not(cpu_feature_word_bit(f, FEAT_SVM));
	cpu_model_set_virt(intel, f, false);
	cr_assert_arr_eq(f, intel->features, sizeof(f));
	memcpy(f, amd->features, sizeof(f));
	cpu_model_set_virt(amd, f, true);
	cr_assert(cpu_feature_word_bit(f, FEAT_SVM));
	cr_assert_not(cpu_feature_word_bit(f, FEAT_VMX));

	/* With SVM exposed, leaf 0x8000000A reports a revision and ASIDs. */
	struct th *t = model_th("zen2");
	cpu_model_set_virt(t->cpu->model, t->cpu->features, true);
	uint32_t r[4];
	cpu_cpuid(t->cpu, 0x8000000a, 0, r);
	cr_assert_eq(r[0], 1);
	cr_assert_geq(r[1], 2);
	th_free(t);
}

Test(cpuid, hypervisor_basics)
{
	/* KVM: PAT[0] must be WB at reset; FEATURE_CONTROL lock semantics. */
	struct th *t = th_new(TH_LONG64);
	struct cpu *c = t->cpu;
	uint64_t v;
	cr_assert_eq(msr_read(c, MSR_PAT, &v), 0);
	cr_assert_eq(v, 0x0007040600070406ull);
	cr_assert_eq(v & 7, 6);
	cpu_model_set_virt(c->model, c->features, true);
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX), 0);
	cr_assert_eq(msr_write(c, MSR_FEATURE_CONTROL, 0), -1);
	/* VMX exposed: CR4.VMXE becomes writable. */
	th_asm(t, "mov rax, cr4\n bts rax, 13\n mov cr4, rax");
	th_run(t);
	cr_assert_eq(t->exc_vector, -1);
	cr_assert(c->cr4 & CR4_VMXE);
	th_free(t);
}
