/*
 * cpuid.h - CPU models, CPUID leaves and feature bits.
 *
 * A feature is named by its CPUID word and bit (FEAT(word, bit)); the
 * effective words of a vCPU live in cpu->features[] and are what CPUID
 * reports and what the decoder checks before an instruction runs.
 */
#ifndef NESTEMU_CPUID_H
#define NESTEMU_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* Feature words. */
enum {
	FW_1_EDX, FW_1_ECX, FW_7_EBX, FW_7_ECX, FW_7_EDX,
	FW_81_EDX, FW_81_ECX, FW_D1_EAX, FW_N
};

#define FEAT(w, b) ((w) * 32 + (b))

enum cpu_feature {
	FEAT_NONE = 0xffff,
	/* CPUID.1:EDX */
	FEAT_FPU = FEAT(FW_1_EDX, 0), FEAT_VME = FEAT(FW_1_EDX, 1),
	FEAT_DE = FEAT(FW_1_EDX, 2), FEAT_PSE = FEAT(FW_1_EDX, 3),
	FEAT_TSC = FEAT(FW_1_EDX, 4), FEAT_MSR = FEAT(FW_1_EDX, 5),
	FEAT_PAE = FEAT(FW_1_EDX, 6), FEAT_MCE = FEAT(FW_1_EDX, 7),
	FEAT_CX8 = FEAT(FW_1_EDX, 8), FEAT_APIC = FEAT(FW_1_EDX, 9),
	FEAT_SEP = FEAT(FW_1_EDX, 11), FEAT_MTRR = FEAT(FW_1_EDX, 12),
	FEAT_PGE = FEAT(FW_1_EDX, 13), FEAT_MCA = FEAT(FW_1_EDX, 14),
	FEAT_CMOV = FEAT(FW_1_EDX, 15), FEAT_PAT = FEAT(FW_1_EDX, 16),
	FEAT_PSE36 = FEAT(FW_1_EDX, 17), FEAT_CLFSH = FEAT(FW_1_EDX, 19),
	FEAT_MMX = FEAT(FW_1_EDX, 23), FEAT_FXSR = FEAT(FW_1_EDX, 24),
	FEAT_SSE = FEAT(FW_1_EDX, 25), FEAT_SSE2 = FEAT(FW_1_EDX, 26),
	FEAT_SS = FEAT(FW_1_EDX, 27), FEAT_HTT = FEAT(FW_1_EDX, 28),
	/* CPUID.1:ECX */
	FEAT_SSE3 = FEAT(FW_1_ECX, 0), FEAT_PCLMULQDQ = FEAT(FW_1_ECX, 1),
	FEAT_MONITOR = FEAT(FW_1_ECX, 3), FEAT_VMX = FEAT(FW_1_ECX, 5),
	FEAT_SSSE3 = FEAT(FW_1_ECX, 9), FEAT_FMA = FEAT(FW_1_ECX, 12),
	FEAT_CX16 = FEAT(FW_1_ECX, 13), FEAT_PCID = FEAT(FW_1_ECX, 17),
	FEAT_SSE41 = FEAT(FW_1_ECX, 19), FEAT_SSE42 = FEAT(FW_1_ECX, 20),
	FEAT_X2APIC = FEAT(FW_1_ECX, 21), FEAT_MOVBE = FEAT(FW_1_ECX, 22),
	FEAT_POPCNT = FEAT(FW_1_ECX, 23), FEAT_TSC_DEADLINE = FEAT(FW_1_ECX, 24),
	FEAT_AES = FEAT(FW_1_ECX, 25), FEAT_XSAVE = FEAT(FW_1_ECX, 26),
	FEAT_OSXSAVE = FEAT(FW_1_ECX, 27), FEAT_AVX = FEAT(FW_1_ECX, 28),
	FEAT_F16C = FEAT(FW_1_ECX, 29), FEAT_RDRAND = FEAT(FW_1_ECX, 30),
	FEAT_HYPERVISOR = FEAT(FW_1_ECX, 31),
	/* CPUID.7.0:EBX */
	FEAT_FSGSBASE = FEAT(FW_7_EBX, 0), FEAT_TSC_ADJUST = FEAT(FW_7_EBX, 1),
	FEAT_BMI1 = FEAT(FW_7_EBX, 3), FEAT_HLE = FEAT(FW_7_EBX, 4),
	FEAT_AVX2 = FEAT(FW_7_EBX, 5), FEAT_FDP_EXCPTN = FEAT(FW_7_EBX, 6),
	FEAT_SMEP = FEAT(FW_7_EBX, 7), FEAT_BMI2 = FEAT(FW_7_EBX, 8),
	FEAT_ERMS = FEAT(FW_7_EBX, 9), FEAT_INVPCID = FEAT(FW_7_EBX, 10),
	FEAT_RTM = FEAT(FW_7_EBX, 11), FEAT_FPCSDS = FEAT(FW_7_EBX, 13),
	FEAT_RDSEED = FEAT(FW_7_EBX, 18), FEAT_ADX = FEAT(FW_7_EBX, 19),
	FEAT_SMAP = FEAT(FW_7_EBX, 20), FEAT_CLFLUSHOPT = FEAT(FW_7_EBX, 23),
	FEAT_CLWB = FEAT(FW_7_EBX, 24), FEAT_SHA = FEAT(FW_7_EBX, 29),
	/* CPUID.7.0:ECX */
	FEAT_UMIP = FEAT(FW_7_ECX, 2), FEAT_PKU = FEAT(FW_7_ECX, 3),
	FEAT_OSPKE = FEAT(FW_7_ECX, 4), FEAT_LA57 = FEAT(FW_7_ECX, 16),
	FEAT_RDPID = FEAT(FW_7_ECX, 22),
	/* CPUID.7.0:EDX */
	FEAT_MD_CLEAR = FEAT(FW_7_EDX, 10), FEAT_SPEC_CTRL = FEAT(FW_7_EDX, 26),
	FEAT_STIBP = FEAT(FW_7_EDX, 27), FEAT_ARCH_CAPS = FEAT(FW_7_EDX, 29),
	FEAT_SSBD = FEAT(FW_7_EDX, 31),
	/* CPUID.80000001:EDX */
	FEAT_SYSCALL = FEAT(FW_81_EDX, 11), FEAT_NX = FEAT(FW_81_EDX, 20),
	FEAT_MMXEXT = FEAT(FW_81_EDX, 22), FEAT_FFXSR = FEAT(FW_81_EDX, 25),
	FEAT_PDPE1GB = FEAT(FW_81_EDX, 26), FEAT_RDTSCP = FEAT(FW_81_EDX, 27),
	FEAT_LM = FEAT(FW_81_EDX, 29),
	/* CPUID.80000001:ECX */
	FEAT_LAHF_LM = FEAT(FW_81_ECX, 0), FEAT_CMP_LEGACY = FEAT(FW_81_ECX, 1),
	FEAT_SVM = FEAT(FW_81_ECX, 2), FEAT_CR8_LEGACY = FEAT(FW_81_ECX, 4),
	FEAT_ABM = FEAT(FW_81_ECX, 5), FEAT_SSE4A = FEAT(FW_81_ECX, 6),
	FEAT_MISALIGNSSE = FEAT(FW_81_ECX, 7), FEAT_3DNOWPREFETCH = FEAT(FW_81_ECX, 8),
	FEAT_TOPOEXT = FEAT(FW_81_ECX, 22),
	/* CPUID.(EAX=0xD,ECX=1):EAX */
	FEAT_XSAVEOPT = FEAT(FW_D1_EAX, 0), FEAT_XSAVEC = FEAT(FW_D1_EAX, 1),
	FEAT_XGETBV1 = FEAT(FW_D1_EAX, 2), FEAT_XSAVES = FEAT(FW_D1_EAX, 3),
};

static inline bool cpu_feature_word_bit(const uint32_t *words, unsigned f)
{
	return f != FEAT_NONE && (words[f / 32] >> (f % 32)) & 1;
}

enum cpu_vendor { VENDOR_INTEL, VENDOR_AMD };

/* A CPU model: vendor, signature and the feature words it offers. */
struct cpu_model {
	const char *name;
	const char *desc;
	enum cpu_vendor vendor;
	uint32_t family, model, stepping;
	uint32_t features[FW_N];
	uint32_t max_leaf, max_ext_leaf;
	uint8_t phys_bits, virt_bits;
	const char *brand;
};

/* Looks a model up by name; NULL if unknown. */
const struct cpu_model *cpu_model_find(const char *name);
/* The model names, NULL-terminated (for --help and -cpu help). */
const char *const *cpu_model_names(void);

/*
 * Parses "-cpu MODEL[,+feat,-feat,...]" into a model and the effective
 * feature words. Returns 0, or -1 with a one-sentence message in err.
 */
int cpu_model_parse(const char *spec, const struct cpu_model **model,
		    uint32_t features[FW_N], char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* CPUID as the guest sees it, for this vCPU (leaf, subleaf -> eax..edx). */
void cpu_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

static inline bool cpu_has(const struct cpu *cpu, unsigned f)
{
	return cpu_feature_word_bit(cpu->features, f);
}

/*
 * Exposes (on) or hides (off) the vendor's hardware virtualization in
 * the feature words: VMX for an Intel model, SVM for an AMD one.
 */
void cpu_model_set_virt(const struct cpu_model *model, uint32_t features[FW_N], bool on);

/* The feature named name[0..len) as "-cpu" spells it ("vmx", "sse4.2"),
 * or -1 when unknown. */
int cpu_model_feature_lookup(const char *name, size_t len);

#endif
