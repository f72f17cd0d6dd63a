/*
 * cpuid.c - CPU models and the CPUID instruction's answers.
 *
 * A model is a vendor, a signature and the feature words it offers
 * (cpuid.h). Only features the emulator implements, or is about to, are
 * in a model: a guest that sees a bit will use it. VMX and SVM are never
 * in a model's default words; cpu_model_set_virt() (the monitor's
 * "expose virtualization" switch and "-cpu NAME,+vmx") adds the vendor's
 * one. The hypervisor bit (CPUID.1:ECX[31]) is off: nestemu looks like
 * bare metal (see shared/reference/hypervisor-requirements.md 3.2).
 *
 * cpu_cpuid() builds each leaf from the model and the vCPU's effective
 * words, plus the state-dependent bits the SDM defines: OSXSAVE mirrors
 * CR4.OSXSAVE, OSPKE mirrors CR4.PKE, APIC mirrors IA32_APIC_BASE.EN,
 * the initial APIC ID is the vCPU's, leaf 0xD sizes follow XCR0, and
 * IA32_MISC_ENABLE[22] limits the basic leaves to 2 (Intel). Leaves above
 * the maximum return the highest basic leaf on Intel (SDM Vol. 2 CPUID,
 * "INPUT EAX = 0") and zeros on AMD (APM Vol. 3 E.2).
 */
#include "cpuid.h"

#include <stdio.h>
#include <string.h>

#include "../machine.h"
#include "msr.h"
#include "system.h"

/* Feature bits that cpuid.h does not name. */
#define FEAT_L1D_FLUSH_ FEAT(FW_7_EDX, 28)

#define B(f) (1u << ((f) % 32))

/* Words common to every model: the x86-64 baseline plus what both
 * vendors' parts of this generation have and nestemu implements. */
#define BASE_1_EDX (B(FEAT_FPU) | B(FEAT_VME) | B(FEAT_DE) | B(FEAT_PSE) | B(FEAT_TSC) | B(FEAT_MSR) | \
		    B(FEAT_PAE) | B(FEAT_MCE) | B(FEAT_CX8) | B(FEAT_APIC) | B(FEAT_SEP) | \
		    B(FEAT_MTRR) | B(FEAT_PGE) | B(FEAT_MCA) | B(FEAT_CMOV) | B(FEAT_PAT) | \
		    B(FEAT_PSE36) | B(FEAT_CLFSH) | B(FEAT_MMX) | B(FEAT_FXSR) | B(FEAT_SSE) | \
		    B(FEAT_SSE2) | B(FEAT_HTT))
#define BASE_1_ECX (B(FEAT_SSE3) | B(FEAT_SSSE3) | B(FEAT_CX16) | B(FEAT_SSE41) | \
		    B(FEAT_SSE42) | B(FEAT_X2APIC) | B(FEAT_MOVBE) | B(FEAT_POPCNT) | \
		    B(FEAT_XSAVE) | B(FEAT_RDRAND) | B(FEAT_AES) | B(FEAT_PCLMULQDQ))
#define BASE_7_EBX (B(FEAT_FSGSBASE) | B(FEAT_BMI1) | B(FEAT_SMEP) | B(FEAT_BMI2) | \
		    B(FEAT_RDSEED) | B(FEAT_ADX) | B(FEAT_SMAP) | B(FEAT_CLFLUSHOPT) | \
		    B(FEAT_CLWB))
#define BASE_81_EDX (B(FEAT_SYSCALL) | B(FEAT_NX) | B(FEAT_PDPE1GB) | B(FEAT_RDTSCP) | B(FEAT_LM))
#define BASE_81_ECX (B(FEAT_LAHF_LM) | B(FEAT_ABM) | B(FEAT_3DNOWPREFETCH))

/* AVX, FMA3, F16C (CPUID.1:ECX), AVX2 (CPUID.7:EBX) and the XSAVE
 * extensions of CPUID.(0xD,1):EAX, on every model (emu/cpu/avx*.c,
 * fma.c, f16c.c, xsave.c). */
#define AVX_1_ECX (B(FEAT_AVX) | B(FEAT_FMA) | B(FEAT_F16C))
#define XSAVE_D1_EAX (B(FEAT_XSAVEOPT) | B(FEAT_XSAVEC) | B(FEAT_XGETBV1) | B(FEAT_XSAVES))

/* Intel Xeon Scalable (Skylake-SP), without
 * AVX-512 and TSX (AVX, AVX2, FMA, F16C come from AVX_1_ECX). */
#define SKX_1_ECX (BASE_1_ECX | B(FEAT_PCID) | B(FEAT_TSC_DEADLINE) | AVX_1_ECX)
#define SKX_7_EBX (BASE_7_EBX | B(FEAT_TSC_ADJUST) | B(FEAT_ERMS) | B(FEAT_INVPCID) | B(FEAT_AVX2))
#define SKX_7_ECX (B(FEAT_PKU))
#define SKX_7_EDX (B(FEAT_SPEC_CTRL) | B(FEAT_STIBP) | B(FEAT_L1D_FLUSH_) | B(FEAT_ARCH_CAPS) | \
		   B(FEAT_SSBD))

static const struct cpu_model models[] = {
	{
		.name = "skylake",
		.desc = "Intel Xeon Scalable (Skylake-SP), GenuineIntel family 6 model 0x55",
		.vendor = VENDOR_INTEL,
		.family = 6, .model = 0x55, .stepping = 4,
		.features = {
			[FW_1_EDX] = BASE_1_EDX,
			[FW_1_ECX] = SKX_1_ECX,
			[FW_7_EBX] = SKX_7_EBX,
			[FW_7_ECX] = SKX_7_ECX,
			[FW_7_EDX] = SKX_7_EDX,
			[FW_81_EDX] = BASE_81_EDX,
			[FW_81_ECX] = BASE_81_ECX,
			[FW_D1_EAX] = XSAVE_D1_EAX,
		},
		.max_leaf = 0x16, .max_ext_leaf = 0x80000008,
		.phys_bits = 46, .virt_bits = 48,
		.brand = "Intel(R) Xeon(R) Processor (Skylake, nestemu)",
	},
	{
		.name = "icelake",
		.desc = "Intel Xeon Scalable (Ice Lake-SP) with 5-level paging, GenuineIntel family 6 model 0x6a",
		.vendor = VENDOR_INTEL,
		.family = 6, .model = 0x6a, .stepping = 6,
		.features = {
			[FW_1_EDX] = BASE_1_EDX,
			[FW_1_ECX] = SKX_1_ECX,
			[FW_7_EBX] = SKX_7_EBX,
			[FW_7_ECX] = SKX_7_ECX | B(FEAT_UMIP) | B(FEAT_LA57) | B(FEAT_RDPID),
			[FW_7_EDX] = SKX_7_EDX | B(FEAT_MD_CLEAR),
			[FW_81_EDX] = BASE_81_EDX,
			[FW_81_ECX] = BASE_81_ECX,
			[FW_D1_EAX] = XSAVE_D1_EAX,
		},
		.max_leaf = 0x1f, .max_ext_leaf = 0x80000008,
		.phys_bits = 46, .virt_bits = 57,
		.brand = "Intel(R) Xeon(R) Processor (Icelake, nestemu)",
	},
	{
		.name = "zen2",
		.desc = "AMD EPYC (Zen 2, Rome), AuthenticAMD family 0x17 model 0x31",
		.vendor = VENDOR_AMD,
		.family = 0x17, .model = 0x31, .stepping = 0,
		.features = {
			[FW_1_EDX] = BASE_1_EDX,
			[FW_1_ECX] = BASE_1_ECX | AVX_1_ECX,
			[FW_7_EBX] = BASE_7_EBX | B(FEAT_AVX2),
			[FW_7_ECX] = B(FEAT_UMIP) | B(FEAT_RDPID),
			[FW_81_EDX] = BASE_81_EDX | B(FEAT_FFXSR),
			[FW_81_ECX] = BASE_81_ECX,
			[FW_D1_EAX] = XSAVE_D1_EAX,
		},
		.max_leaf = 0x10, .max_ext_leaf = 0x8000001f,
		.phys_bits = 48, .virt_bits = 48,
		.brand = "AMD EPYC Processor (Zen 2, nestemu)",
	},
};

#define NMODELS (sizeof(models) / sizeof(models[0]))

/* Other names for models. */
static const struct {
	const char *alias;
	const char *model;
} aliases[] = {
	{ "epyc", "zen2" },
	{ "max", "icelake" },
	{ "skylake-server", "skylake" },
	{ "icelake-server", "icelake" },
	{ "epyc-rome", "zen2" },
};

#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

static const char *const model_names[] = {
	"skylake", "icelake", "zen2", "epyc", "max", "skylake-server", "icelake-server",
	"epyc-rome", NULL,
};

const struct cpu_model *cpu_model_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned k = 0; k < NALIASES; k++)
		if (strcasecmp(name, aliases[k].alias) == 0)
			name = aliases[k].model;
	for (unsigned k = 0; k < NMODELS; k++)
		if (strcasecmp(name, models[k].name) == 0)
			return &models[k];
	return NULL;
}

const char *const *cpu_model_names(void)
{
	return model_names;
}

/* Feature names as "-cpu" spells them (QEMU's spelling; '_' and '.'
 * are accepted for '-'). */
static const struct {
	const char *name;
	unsigned feat;
} feat_names[] = {
	{ "fpu", FEAT_FPU }, { "vme", FEAT_VME }, { "de", FEAT_DE }, { "pse", FEAT_PSE },
	{ "tsc", FEAT_TSC }, { "msr", FEAT_MSR }, { "pae", FEAT_PAE }, { "mce", FEAT_MCE },
	{ "cx8", FEAT_CX8 }, { "apic", FEAT_APIC }, { "sep", FEAT_SEP }, { "mtrr", FEAT_MTRR },
	{ "pge", FEAT_PGE }, { "mca", FEAT_MCA }, { "cmov", FEAT_CMOV }, { "pat", FEAT_PAT },
	{ "pse36", FEAT_PSE36 }, { "clflush", FEAT_CLFSH }, { "mmx", FEAT_MMX },
	{ "fxsr", FEAT_FXSR }, { "sse", FEAT_SSE }, { "sse2", FEAT_SSE2 }, { "ss", FEAT_SS },
	{ "ht", FEAT_HTT },
	{ "sse3", FEAT_SSE3 }, { "pni", FEAT_SSE3 }, { "pclmulqdq", FEAT_PCLMULQDQ },
	{ "monitor", FEAT_MONITOR }, { "vmx", FEAT_VMX }, { "ssse3", FEAT_SSSE3 },
	{ "fma", FEAT_FMA }, { "cx16", FEAT_CX16 }, { "pcid", FEAT_PCID },
	{ "sse4-1", FEAT_SSE41 }, { "sse4-2", FEAT_SSE42 }, { "x2apic", FEAT_X2APIC },
	{ "movbe", FEAT_MOVBE }, { "popcnt", FEAT_POPCNT }, { "tsc-deadline", FEAT_TSC_DEADLINE },
	{ "aes", FEAT_AES }, { "xsave", FEAT_XSAVE }, { "avx", FEAT_AVX }, { "f16c", FEAT_F16C },
	{ "rdrand", FEAT_RDRAND }, { "hypervisor", FEAT_HYPERVISOR },
	{ "fsgsbase", FEAT_FSGSBASE }, { "tsc-adjust", FEAT_TSC_ADJUST }, { "bmi1", FEAT_BMI1 },
	{ "hle", FEAT_HLE }, { "avx2", FEAT_AVX2 }, { "smep", FEAT_SMEP }, { "bmi2", FEAT_BMI2 },
	{ "erms", FEAT_ERMS }, { "invpcid", FEAT_INVPCID }, { "rtm", FEAT_RTM },
	{ "rdseed", FEAT_RDSEED }, { "adx", FEAT_ADX }, { "smap", FEAT_SMAP },
	{ "clflushopt", FEAT_CLFLUSHOPT }, { "clwb", FEAT_CLWB }, { "sha-ni", FEAT_SHA },
	{ "umip", FEAT_UMIP }, { "pku", FEAT_PKU }, { "la57", FEAT_LA57 }, { "rdpid", FEAT_RDPID },
	{ "md-clear", FEAT_MD_CLEAR }, { "spec-ctrl", FEAT_SPEC_CTRL }, { "stibp", FEAT_STIBP },
	{ "l1d-flush", FEAT_L1D_FLUSH_ }, { "arch-capabilities", FEAT_ARCH_CAPS },
	{ "ssbd", FEAT_SSBD },
	{ "syscall", FEAT_SYSCALL }, { "nx", FEAT_NX }, { "xd", FEAT_NX }, { "mmxext", FEAT_MMXEXT },
	{ "fxsr-opt", FEAT_FFXSR }, { "pdpe1gb", FEAT_PDPE1GB }, { "rdtscp", FEAT_RDTSCP },
	{ "lm", FEAT_LM },
	{ "lahf-lm", FEAT_LAHF_LM }, { "cmp-legacy", FEAT_CMP_LEGACY }, { "svm", FEAT_SVM },
	{ "cr8legacy", FEAT_CR8_LEGACY }, { "abm", FEAT_ABM }, { "lzcnt", FEAT_ABM },
	{ "sse4a", FEAT_SSE4A }, { "misalignsse", FEAT_MISALIGNSSE },
	{ "3dnowprefetch", FEAT_3DNOWPREFETCH }, { "prefetchw", FEAT_3DNOWPREFETCH },
	{ "topoext", FEAT_TOPOEXT },
	{ "xsaveopt", FEAT_XSAVEOPT }, { "xsavec", FEAT_XSAVEC }, { "xgetbv1", FEAT_XGETBV1 },
	{ "xsaves", FEAT_XSAVES },
};

#define NFEATNAMES (sizeof(feat_names) / sizeof(feat_names[0]))

/* Compares a user-typed name with a table name, '_' and '.' matching '-'. */
static bool feat_name_eq(const char *typed, size_t n, const char *name)
{
	if (strlen(name) != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		char a = typed[k], b = name[k];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a == '_' || a == '.')
			a = '-';
		if (a != b)
			return false;
	}
	return true;
}

int cpu_model_feature_lookup(const char *name, size_t len)
{
	for (unsigned k = 0; k < NFEATNAMES; k++)
		if (feat_name_eq(name, len, feat_names[k].name))
			return (int)feat_names[k].feat;
	return -1;
}

static void feat_set(uint32_t *words, unsigned f, bool on)
{
	if (on)
		words[f / 32] |= 1u << (f % 32);
	else
		words[f / 32] &= ~(1u << (f % 32));
}

void cpu_model_set_virt(const struct cpu_model *model, uint32_t features[FW_N], bool on)
{
	feat_set(features, model->vendor == VENDOR_AMD ? FEAT_SVM : FEAT_VMX, on);
}

int cpu_model_parse(const char *spec, const struct cpu_model **model, uint32_t features[FW_N],
		    char *err, size_t errlen)
{
	if (!spec || !*spec)
		spec = "skylake";
	const char *comma = strchr(spec, ',');
	size_t nlen = comma ? (size_t)(comma - spec) : strlen(spec);
	char name[64];
	if (nlen == 0 || nlen >= sizeof(name)) {
		snprintf(err, errlen, "-cpu needs a model name first, for example -cpu skylake,+vmx.");
		return -1;
	}
	memcpy(name, spec, nlen);
	name[nlen] = 0;
	const struct cpu_model *md = cpu_model_find(name);
	if (!md) {
		snprintf(err, errlen,
			 "Unknown CPU model '%s'; the models are skylake, icelake, zen2 (alias epyc) and max.",
			 name);
		return -1;
	}
	uint32_t words[FW_N];
	memcpy(words, md->features, sizeof(words));

	const char *p = comma;
	while (p && *p == ',') {
		p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *tok = p;
		p = end;
		if (len == 0)
			continue;
		bool on;
		size_t flen;
		const char *fname;
		const char *eq = memchr(tok, '=', len);
		if (tok[0] == '+' || tok[0] == '-') {
			on = tok[0] == '+';
			fname = tok + 1;
			flen = len - 1;
		} else if (eq) {
			fname = tok;
			flen = (size_t)(eq - tok);
			size_t vlen = len - flen - 1;
			if ((vlen == 2 && strncasecmp(eq + 1, "on", 2) == 0) ||
			    (vlen == 4 && strncasecmp(eq + 1, "true", 4) == 0))
				on = true;
			else if ((vlen == 3 && strncasecmp(eq + 1, "off", 3) == 0) ||
				 (vlen == 5 && strncasecmp(eq + 1, "false", 5) == 0))
				on = false;
			else {
				snprintf(err, errlen, "CPU feature '%.*s' takes on or off, not '%.*s'.",
					 (int)flen, fname, (int)vlen, eq + 1);
				return -1;
			}
		} else {
			snprintf(err, errlen, "CPU feature '%.*s' must be written +%.*s or -%.*s.",
				 (int)len, tok, (int)len, tok, (int)len, tok);
			return -1;
		}
		if (flen == 0) {
			snprintf(err, errlen, "-cpu has an empty feature name after '%c'.", tok[0]);
			return -1;
		}
		if (feat_name_eq(fname, flen, "osxsave") || feat_name_eq(fname, flen, "ospke")) {
			snprintf(err, errlen,
				 "CPU feature '%.*s' follows the guest's CR4 and cannot be set with -cpu.",
				 (int)flen, fname);
			return -1;
		}
		int f = cpu_model_feature_lookup(fname, flen);
		if (f < 0) {
			snprintf(err, errlen,
				 "Unknown CPU feature '%.*s' in -cpu (examples of valid names: vmx, svm, la57, pcid).",
				 (int)flen, fname);
			return -1;
		}
		if ((f == FEAT_VMX && md->vendor == VENDOR_AMD) ||
		    (f == FEAT_SVM && md->vendor == VENDOR_INTEL)) {
			if (on) {
				snprintf(err, errlen,
					 "CPU model '%s' is %s, so it offers %s, not '%.*s'.", md->name,
					 md->vendor == VENDOR_AMD ? "AMD" : "Intel",
					 md->vendor == VENDOR_AMD ? "svm" : "vmx", (int)flen, fname);
				return -1;
			}
		}
		feat_set(words, (unsigned)f, on);
	}
	*model = md;
	memcpy(features, words, sizeof(words));
	return 0;
}

/* ---- CPUID leaves ---- */

static void put_str4(uint32_t *r, const char *s)
{
	memcpy(r, s, 4);
}

static uint32_t signature(const struct cpu_model *md)
{
	uint32_t fam = md->family, mod = md->model;
	return (md->stepping & 0xf) | (mod & 0xf) << 4 | (fam > 0xf ? 0xf : fam) << 8 |
	       (mod >> 4 & 0xf) << 16 | (fam > 0xf ? fam - 0xf : 0) << 20;
}

static unsigned ncpus_of(const struct cpu *cpu)
{
	return cpu->m && cpu->m->ncpus > 0 ? (unsigned)cpu->m->ncpus : 1;
}

/* ceil(log2(n)) for n >= 1. */
static unsigned order_of(unsigned n)
{
	unsigned o = 0;
	while ((1u << o) < n)
		o++;
	return o;
}

/* XSAVE standard-format component sizes and offsets (SDM Vol. 1 13.4). */
static const struct {
	unsigned bit, size, offset;
} xstate_comp[] = {
	{ 2, 256, 576 },	/* AVX: YMM_Hi128 */
	{ 9, 8, 2688 },		/* PKRU */
};

static uint32_t xsave_size(uint64_t xcr0)
{
	uint32_t size = 576;	/* legacy area + header */
	for (unsigned k = 0; k < sizeof(xstate_comp) / sizeof(xstate_comp[0]); k++)
		if ((xcr0 >> xstate_comp[k].bit) & 1) {
			uint32_t end = xstate_comp[k].offset + xstate_comp[k].size;
			if (end > size)
				size = end;
		}
	return size;
}

/* Compacted-format size (XSAVEC/XSAVES) for the components in xc. */
static uint32_t xsave_size_compact(uint64_t xc)
{
	uint32_t size = 576;
	for (unsigned k = 0; k < sizeof(xstate_comp) / sizeof(xstate_comp[0]); k++)
		if ((xc >> xstate_comp[k].bit) & 1)
			size += xstate_comp[k].size;
	return size;
}

/* Deterministic cache parameters (leaf 4) for one cache level. */
static void cache_leaf4(unsigned type, unsigned level, unsigned ways, unsigned sets,
			unsigned sharing, unsigned cores, uint32_t out[4])
{
	out[0] = type | level << 5 | 1u << 8 | (sharing - 1) << 14 | (cores - 1) << 26;
	out[1] = (64 - 1) | 0u << 12 | (ways - 1) << 22;
	out[2] = sets - 1;
	out[3] = level == 3 ? 1u << 1 : 0;	/* L3 inclusive */
}

static void leaf_basic(struct cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	const struct cpu_model *md = cpu->model;
	unsigned n = ncpus_of(cpu);
	unsigned n2 = 1u << order_of(n);
	bool intel = md->vendor == VENDOR_INTEL;

	switch (leaf) {
	case 0: {
		r[0] = md->max_leaf;
		if (intel && (cpu->msr.misc_enable & MISC_ENABLE_LIMIT_CPUID))
			r[0] = 2;
		const char *v = intel ? "GenuineIntel" : "AuthenticAMD";
		put_str4(&r[1], v);
		put_str4(&r[3], v + 4);
		put_str4(&r[2], v + 8);
		break;
	}
	case 1:
		r[0] = signature(md);
		r[1] = 8u << 8 | (n2 > 255 ? 255 : n2) << 16 | (cpu->apic_id & 0xff) << 24;
		r[2] = cpu->features[FW_1_ECX] & ~B(FEAT_OSXSAVE);
		if (cpu->cr4 & CR4_OSXSAVE)
			r[2] |= B(FEAT_OSXSAVE);
		r[3] = cpu->features[FW_1_EDX];
		if (!(cpu->msr.apic_base & APIC_BASE_EN))
			r[3] &= ~B(FEAT_APIC);
		break;
	case 2:
		if (intel)
			r[0] = 0x00ff0001;	/* 0xFF: see leaf 4 */
		break;
	case 4:
		if (!intel)
			break;
		switch (sub) {
		case 0: cache_leaf4(1, 1, 8, 64, 1, n2, r); break;		/* L1d 32 KiB */
		case 1: cache_leaf4(2, 1, 8, 64, 1, n2, r); break;		/* L1i 32 KiB */
		case 2: cache_leaf4(3, 2, 16, 1024, 1, n2, r); break;	/* L2 1 MiB */
		case 3: cache_leaf4(3, 3, 16, 16384, n2, n2, r); break;	/* L3 16 MiB */
		default: break;
		}
		break;
	case 5:
		if (cpu_has(cpu, FEAT_MONITOR)) {
			r[0] = 64;
			r[1] = 64;
			r[2] = 3;	/* EMX, interrupts break MWAIT */
		}
		break;
	case 6:
		r[0] = 1u << 2;	/* ARAT: the APIC timer runs in every C-state */
		break;
	case 7:
		if (sub == 0) {
			r[0] = 0;
			r[1] = cpu->features[FW_7_EBX];
			r[2] = cpu->features[FW_7_ECX] & ~B(FEAT_OSPKE);
			if (cpu->cr4 & CR4_PKE)
				r[2] |= B(FEAT_OSPKE);
			r[3] = cpu->features[FW_7_EDX];
		}
		break;
	case 0xb:
	case 0x1f: {
		/* One thread per core, all cores in one package. */
		unsigned shift = order_of(n);
		if (sub == 0) {
			r[0] = 0;
			r[1] = 1;
			r[2] = 0 | 1u << 8;	/* SMT level */
		} else if (sub == 1) {
			r[0] = shift;
			r[1] = n;
			r[2] = 1 | 2u << 8;	/* core level */
		} else {
			r[2] = sub & 0xff;
		}
		r[3] = cpu->apic_id;
		break;
	}
	case 0xd: {
		if (!cpu_has(cpu, FEAT_XSAVE))
			break;
		uint64_t sup = cpu_xcr0_supported(cpu);
		if (sub == 0) {
			r[0] = (uint32_t)sup;
			r[1] = xsave_size(cpu->xcr0);
			r[2] = xsave_size(sup);
			r[3] = (uint32_t)(sup >> 32);
		} else if (sub == 1) {
			r[0] = cpu->features[FW_D1_EAX];
			if (cpu_has(cpu, FEAT_XSAVES))
				r[1] = xsave_size_compact(cpu->xcr0 | cpu->msr.xss);
		} else if (sub < 63 && ((sup >> sub) & 1)) {
			for (unsigned k = 0; k < sizeof(xstate_comp) / sizeof(xstate_comp[0]); k++)
				if (xstate_comp[k].bit == sub) {
					r[0] = xstate_comp[k].size;
					r[1] = xstate_comp[k].offset;
				}
		}
		break;
	}
	default:
		break;
	}
}

static void leaf_ext(struct cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	const struct cpu_model *md = cpu->model;
	bool amd = md->vendor == VENDOR_AMD;
	unsigned n = ncpus_of(cpu);

	switch (leaf) {
	case 0x80000000:
		r[0] = md->max_ext_leaf;
		if (amd) {
			const char *v = "AuthenticAMD";
			put_str4(&r[1], v);
			put_str4(&r[3], v + 4);
			put_str4(&r[2], v + 8);
		}
		break;
	case 0x80000001:
		r[2] = cpu->features[FW_81_ECX];
		r[3] = cpu->features[FW_81_EDX];
		if (amd) {
			r[0] = signature(md);
			/* AMD mirrors the leaf-1 EDX bits 0-9, 12-17, 23, 24. */
			r[3] |= cpu->features[FW_1_EDX] & 0x0183f3ffu;
			if (!(cpu->msr.apic_base & APIC_BASE_EN))
				r[3] &= ~B(FEAT_APIC);
		}
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004: {
		char brand[48] = { 0 };
		strncpy(brand, md->brand ? md->brand : md->name, sizeof(brand) - 1);
		memcpy(r, brand + 16 * (leaf - 0x80000002), 16);
		break;
	}
	case 0x80000005:
		if (amd) {
			r[0] = 0xff40ff40;	/* 2M/4M L1 TLBs: 64 entries, fully assoc. */
			r[1] = 0xff40ff40;	/* 4K L1 TLBs */
			r[2] = 32u << 24 | 8u << 16 | 1u << 8 | 64;	/* L1d 32 KiB 8-way */
			r[3] = 32u << 24 | 8u << 16 | 1u << 8 | 64;	/* L1i */
		}
		break;
	case 0x80000006:
		/* L2 1 MiB (Intel) / 512 KiB (AMD), associativity code 8 = 16-way, 6 = 8-way. */
		r[2] = amd ? (512u << 16 | 6u << 12 | 64) : (1024u << 16 | 8u << 12 | 64);
		if (amd)
			r[3] = 32u << 18 | 8u << 12 | 64;	/* L3 16 MiB, 16-way */
		break;
	case 0x80000007:
		break;
	case 0x80000008:
		r[0] = md->phys_bits | (uint32_t)md->virt_bits << 8;
		if (amd)
			r[2] = (n - 1) | order_of(n) << 12;
		break;
	case 0x8000000a:
		if (amd && cpu_has(cpu, FEAT_SVM)) {
			r[0] = 1;	/* SVM revision */
			r[1] = 8;	/* ASIDs */
			r[3] = 0;	/* SVM features: filled in by the SVM model */
		}
		break;
	default:
		(void)sub;
		break;
	}
}

void cpu_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	const struct cpu_model *md = cpu->model;
	out[0] = out[1] = out[2] = out[3] = 0;
	if (!md)
		return;
	bool intel = md->vendor == VENDOR_INTEL;
	uint32_t max = md->max_leaf;
	if (intel && (cpu->msr.misc_enable & MISC_ENABLE_LIMIT_CPUID))
		max = 2;

	if (leaf >= 0x80000000u && leaf <= md->max_ext_leaf) {
		leaf_ext(cpu, leaf, subleaf, out);
		return;
	}
	if (leaf > max) {
		/* Beyond the basic and extended ranges: Intel answers with the
		 * highest basic leaf, AMD with zeros. */
		if (!intel)
			return;
		leaf = max;
	}
	leaf_basic(cpu, leaf, subleaf, out);
}
