/*
 * monitor.c - the monitor's command table, parser and dispatcher.
 *
 * A line is split into words (whitespace; "double quotes" keep spaces,
 * backslash escapes the next character). The first word names a command
 * of the tables in cmd_info.c (inspection) and cmd_ctl.c (control,
 * configuration, snapshots); "x/FMT" and "xp/FMT" carry their format in
 * the command word. Argument counts are checked here from the table, so
 * every command sees a well-formed argv. `help` is generated from the
 * same tables, and so is completion (monitor_complete), from each
 * command's per-argument completion spec.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "monitor.h"
#include "../emu/cpu/cpu.h"
#include "../emu/mmu/mmu.h"
#include "../emu/state.h"

#define MAX_ARGS 16
#define MAX_INFO 32

struct info_provider {
	char *name;
	char *help;
	monitor_info_fn fn;
};

struct monitor {
	struct machine *m;
	int cpu_idx;			/* selected vCPU */
	char *snapdir;			/* snapshot directory */
	char *name;			/* -name */
	bool started;			/* the machine has been started (not -S before cont) */
	bool in_script;			/* executing a script line now */
	struct info_provider info[MAX_INFO];
	int ninfo;
	struct mon_ctl *ctl;		/* cmd_ctl.c */
	struct mon_console *con;	/* console.c */
};

static int cmd_help(struct monitor *mon, FILE *out, int argc, char **argv);

static const struct mon_cmd builtin_cmds[] = {
	{ "help", "[COMMAND]", "list the commands, or show one command's usage", cmd_help, 0, 2,
	  "c" },
	{ .name = NULL },
};

static const struct mon_cmd *const cmd_tables[] = { builtin_cmds, mon_inspect_cmds, mon_ctl_cmds,
						     mon_display_cmds };
#define NTABLES (sizeof(cmd_tables) / sizeof(cmd_tables[0]))

/* ---- Lifecycle and accessors ---- */

struct monitor *monitor_get(struct machine *m)
{
	struct monitor *mon;

	if (m->monitor)
		return m->monitor;
	mon = calloc(1, sizeof(*mon));
	if (mon == NULL)
		return NULL;
	mon->m = m;
	mon->snapdir = strdup("nestemu-snapshots");
	if (mon->snapdir == NULL) {
		free(mon);
		return NULL;
	}
	m->monitor = mon;
	return mon;
}

void monitor_destroy(struct monitor *mon)
{
	if (mon == NULL)
		return;
	mon_console_free(mon);
	mon_ctl_free(mon);
	for (int i = 0; i < mon->ninfo; i++) {
		free(mon->info[i].name);
		free(mon->info[i].help);
	}
	if (mon->m && mon->m->monitor == mon)
		mon->m->monitor = NULL;
	free(mon->snapdir);
	free(mon->name);
	free(mon);
}

struct machine *mon_machine(struct monitor *mon)
{
	return mon->m;
}

struct cpu *mon_cpu(struct monitor *mon)
{
	return mon->m->cpus[mon->cpu_idx < mon->m->ncpus ? mon->cpu_idx : 0];
}

void mon_select_cpu(struct monitor *mon, int idx)
{
	mon->cpu_idx = idx;
}

struct mon_ctl **mon_ctl_slot(struct monitor *mon)
{
	return &mon->ctl;
}

struct mon_console **mon_console_slot(struct monitor *mon)
{
	return &mon->con;
}

void monitor_set_snapshot_dir(struct monitor *mon, const char *dir)
{
	char *d = strdup(dir);

	if (d) {
		free(mon->snapdir);
		mon->snapdir = d;
	}
}

const char *monitor_snapshot_dir(const struct monitor *mon)
{
	return mon->snapdir;
}

void monitor_set_name(struct monitor *mon, const char *name)
{
	char *n = name ? strdup(name) : NULL;

	free(mon->name);
	mon->name = n;
}

void monitor_set_started(struct monitor *mon, bool started)
{
	mon->started = started;
}

bool monitor_vm_running(const struct monitor *mon)
{
	return mon->started && !mon->m->paused;
}

bool mon_in_script(const struct monitor *mon)
{
	return mon->in_script;
}

int monitor_add_info(struct machine *m, const char *name, const char *help, monitor_info_fn fn)
{
	struct monitor *mon = monitor_get(m);
	struct info_provider *p = NULL;

	if (mon == NULL)
		return -ENOMEM;
	for (int i = 0; i < mon->ninfo; i++)
		if (strcmp(mon->info[i].name, name) == 0)
			p = &mon->info[i];
	if (p == NULL) {
		if (mon->ninfo >= MAX_INFO)
			return -ENOMEM;
		p = &mon->info[mon->ninfo];
		p->name = strdup(name);
		if (p->name == NULL)
			return -ENOMEM;
		mon->ninfo++;
	}
	free(p->help);
	p->help = strdup(help ? help : "");
	p->fn = fn;
	return 0;
}

int mon_error(FILE *out, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	return -1;
}

/* ---- Values ---- */

static const char *const gpr_names[16][4] = {
	{ "rax", "eax", "ax", "al" }, { "rcx", "ecx", "cx", "cl" }, { "rdx", "edx", "dx", "dl" },
	{ "rbx", "ebx", "bx", "bl" }, { "rsp", "esp", "sp", "spl" }, { "rbp", "ebp", "bp", "bpl" },
	{ "rsi", "esi", "si", "sil" }, { "rdi", "edi", "di", "dil" }, { "r8", "r8d", "r8w", "r8b" },
	{ "r9", "r9d", "r9w", "r9b" }, { "r10", "r10d", "r10w", "r10b" },
	{ "r11", "r11d", "r11w", "r11b" }, { "r12", "r12d", "r12w", "r12b" },
	{ "r13", "r13d", "r13w", "r13b" }, { "r14", "r14d", "r14w", "r14b" },
	{ "r15", "r15d", "r15w", "r15b" },
};

static bool reg_value(struct monitor *mon, const char *name, size_t len, uint64_t *out)
{
	struct cpu *cpu = mon_cpu(mon);
	static const uint64_t masks[4] = { ~0ull, 0xffffffffull, 0xffff, 0xff };
	char n[16];

	if (len == 0 || len >= sizeof(n))
		return false;
	for (size_t k = 0; k < len; k++)
		n[k] = (char)tolower((unsigned char)name[k]);
	n[len] = '\0';
	for (int r = 0; r < 16; r++)
		for (int w = 0; w < 4; w++)
			if (strcmp(n, gpr_names[r][w]) == 0) {
				*out = cpu->regs[r] & masks[w];
				return true;
			}
	if (!strcmp(n, "rip") || !strcmp(n, "pc") || !strcmp(n, "eip")) {
		*out = cpu->rip;
		return true;
	}
	struct { const char *n; uint64_t v; } other[] = {
		{ "cr0", cpu->cr0 }, { "cr2", cpu->cr2 }, { "cr3", cpu->cr3 }, { "cr4", cpu->cr4 },
		{ "efer", cpu->efer },
		{ "cs", cpu->seg[S_CS].base }, { "ds", cpu->seg[S_DS].base },
		{ "es", cpu->seg[S_ES].base }, { "ss", cpu->seg[S_SS].base },
		{ "fs", cpu->seg[S_FS].base }, { "gs", cpu->seg[S_GS].base },
	};
	for (size_t k = 0; k < sizeof(other) / sizeof(other[0]); k++)
		if (!strcmp(n, other[k].n)) {
			*out = other[k].v;
			return true;
		}
	if (!strcmp(n, "rflags") || !strcmp(n, "eflags")) {
		*out = cpu_get_rflags(cpu);
		return true;
	}
	return false;
}

bool mon_parse_value(struct monitor *mon, const char *s, uint64_t *out)
{
	uint64_t acc = 0;
	int sign = 1;

	if (*s == '\0')
		return false;
	for (;;) {
		uint64_t v;
		if (*s == '$') {
			size_t len = 1;
			while (isalnum((unsigned char)s[len]))
				len++;
			if (!reg_value(mon, s + 1, len - 1, &v))
				return false;
			s += len;
		} else if (isdigit((unsigned char)*s)) {
			char *end;
			errno = 0;
			v = strtoull(s, &end, 0);
			if (errno)
				return false;
			s = end;
		} else {
			return false;
		}
		acc += sign > 0 ? v : -v;
		if (*s == '\0')
			break;
		if (*s != '+' && *s != '-')
			return false;
		sign = *s == '+' ? 1 : -1;
		s++;
	}
	*out = acc;
	return true;
}

bool mon_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return false;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mul = 1ull << 10; end++; break;
	case 'm': mul = 1ull << 20; end++; break;
	case 'g': mul = 1ull << 30; end++; break;
	case 't': mul = 1ull << 40; end++; break;
	default: return false;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || (mul > 1 && v > (1ull << 40) / mul))
		return false;
	*out = v * mul;
	return true;
}

int mon_read_mem(struct monitor *mon, uint64_t addr, bool phys, void *buf, size_t len,
		 char *err, size_t errlen)
{
	struct machine *m = mon->m;
	struct cpu *cpu = mon_cpu(mon);
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t pa = addr, chunk = 4096 - (addr & 0xfff);
		if (chunk > len)
			chunk = len;
		if (!phys && cpu->paging != PG_OFF) {
			struct walk_result w;
			mmu_walk_info(cpu, addr, ACC_READ, &w);
			if (!w.ok) {
				if (w.nsteps == 0 && w.pfec == 0)
					snprintf(err, errlen, "linear address 0x%llx is not canonical",
						 (unsigned long long)addr);
				else
					snprintf(err, errlen,
						 "linear address 0x%llx is not mapped (a read would raise #PF, error code 0x%x)",
						 (unsigned long long)addr, w.pfec);
				return -1;
			}
			pa = w.pa;
		} else if (!phys) {
			pa = addr & cpu->lin_mask;
		}
		/* The bytes must be memory (RAM or ROM): reading MMIO has side effects. */
		for (uint64_t k = 0; k < chunk;) {
			const struct mem_region *r = memmap_find(&m->mem, pa + k);
			if (r == NULL || r->kind == REGION_MMIO) {
				snprintf(err, errlen, "physical address 0x%llx is outside RAM%s",
					 (unsigned long long)(pa + k), r ? " (device memory)" : "");
				return -1;
			}
			uint64_t left = r->base + r->size - (pa + k);
			k += left < chunk - k ? left : chunk - k;
		}
		phys_read(m, pa, p, chunk);
		p += chunk;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

/* ---- Parsing and dispatch ---- */

/* Splits line into words (in place in buf); returns the count or -1. */
static int split_words(char *buf, char **argv, int max, bool *trailing_space)
{
	int argc = 0;
	char *r = buf, *w = buf;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (*r == '\0' || *r == '#')
			break;
		if (argc >= max)
			return -1;
		argv[argc++] = w;
		bool quote = false;
		while (*r && (quote || (*r != ' ' && *r != '\t' && *r != '\n' && *r != '\r'))) {
			if (*r == '"') {
				quote = !quote;
				r++;
			} else if (*r == '\\' && r[1]) {
				*w++ = r[1];
				r += 2;
			} else {
				*w++ = *r++;
			}
		}
		bool end = *r == '\0';
		*w++ = '\0';
		if (end) {
			if (trailing_space)
				*trailing_space = false;
			return argc;
		}
		r++;
	}
	if (trailing_space)
		*trailing_space = true;
	return argc;
}

static const struct mon_cmd *find_cmd(const char *word)
{
	char name[32];
	size_t n = strcspn(word, "/");

	if (n >= sizeof(name))
		return NULL;
	memcpy(name, word, n);
	name[n] = '\0';
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct mon_cmd *c = cmd_tables[t]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return (word[n] == '/' && strcmp(name, "x") && strcmp(name, "xp")) ? NULL : c;
	return NULL;
}

static void usage_line(FILE *out, const struct mon_cmd *c, const char *prefix)
{
	char head[64];

	snprintf(head, sizeof(head), "%s%s%s%s", prefix, c->name, c->args && *c->args ? " " : "",
		 c->args ? c->args : "");
	fprintf(out, "%-34s %s\n", head, c->help);
}

static int cmd_help(struct monitor *mon, FILE *out, int argc, char **argv)
{
	if (argc >= 2) {
		const struct mon_cmd *c = find_cmd(argv[1]);
		if (c == NULL)
			return mon_error(out, "unknown command '%s' (type 'help' for the list)", argv[1]);
		if (strcmp(c->name, "info") == 0 && argc == 3) {
			for (int i = 0; i < mon->ninfo; i++)
				if (!strcmp(mon->info[i].name, argv[2])) {
					fprintf(out, "info %-29s %s\n", mon->info[i].name, mon->info[i].help);
					return 0;
				}
			for (const struct mon_cmd *s = mon_info_cmds; s->name; s++)
				if (!strcmp(s->name, argv[2])) {
					usage_line(out, s, "info ");
					return 0;
				}
			return mon_error(out, "unknown info topic '%s' (type 'help info' for the list)",
					 argv[2]);
		}
		usage_line(out, c, "");
		if (strcmp(c->name, "info") == 0) {
			for (int i = 0; i < mon->ninfo; i++)
				fprintf(out, "info %-29s %s\n", mon->info[i].name, mon->info[i].help);
			for (const struct mon_cmd *s = mon_info_cmds; s->name; s++) {
				bool shadowed = false;
				for (int i = 0; i < mon->ninfo; i++)
					shadowed |= !strcmp(mon->info[i].name, s->name);
				if (!shadowed)
					usage_line(out, s, "info ");
			}
		}
		return 0;
	}
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct mon_cmd *c = cmd_tables[t]; c->name; c++)
			usage_line(out, c, "");
	return 0;
}

static int check_args(FILE *out, const struct mon_cmd *c, int argc, const char *prefix)
{
	int n = argc - 1;

	if (n < c->min_args || (c->max_args >= 0 && n > c->max_args))
		return mon_error(out, "wrong number of arguments: usage: %s%s%s%s", prefix, c->name,
				 c->args && *c->args ? " " : "", c->args ? c->args : "");
	return 0;
}

int mon_info(struct monitor *mon, FILE *out, int argc, char **argv)
{
	if (argc < 2)
		return mon_error(out, "info needs a topic (type 'help info' for the list)");
	for (int i = 0; i < mon->ninfo; i++)
		if (!strcmp(mon->info[i].name, argv[1])) {
			char rest[512] = "";
			for (int k = 2; k < argc; k++) {
				if (k > 2)
					strncat(rest, " ", sizeof(rest) - strlen(rest) - 1);
				strncat(rest, argv[k], sizeof(rest) - strlen(rest) - 1);
			}
			mon->info[i].fn(mon->m, out, rest);
			return 0;
		}
	for (const struct mon_cmd *s = mon_info_cmds; s->name; s++)
		if (!strcmp(s->name, argv[1])) {
			if (check_args(out, s, argc - 1, "info ") < 0)
				return -1;
			return s->fn(mon, out, argc - 1, argv + 1);
		}
	return mon_error(out, "unknown info topic '%s' (type 'help info' for the list)", argv[1]);
}

int monitor_exec(struct monitor *mon, const char *line, FILE *out)
{
	char *argv[MAX_ARGS];
	char *buf = strdup(line);
	int argc, r;

	if (buf == NULL)
		return mon_error(out, "out of memory");
	argc = split_words(buf, argv, MAX_ARGS, NULL);
	if (argc < 0) {
		free(buf);
		return mon_error(out, "too many arguments (at most %d)", MAX_ARGS - 1);
	}
	if (argc == 0) {
		free(buf);
		return 0;
	}
	const struct mon_cmd *c = find_cmd(argv[0]);
	if (c == NULL) {
		r = mon_error(out, "unknown command '%s' (type 'help' for the list)", argv[0]);
	} else if (check_args(out, c, argc, "") < 0) {
		r = -1;
	} else {
		r = c->fn(mon, out, argc, argv);
	}
	fflush(out);
	free(buf);
	return r;
}

char *monitor_exec_str(struct monitor *mon, const char *line)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return NULL;
	(void)monitor_exec(mon, line, f);
	fclose(f);
	return s;
}

/* Runs a script line (a "cont" in it makes the next lines wait). */
int mon_exec_script_line(struct monitor *mon, const char *line, FILE *out)
{
	int r;

	mon->in_script = true;
	r = monitor_exec(mon, line, out);
	mon->in_script = false;
	return r;
}

/* ---- Completion ---- */

/* The completion spec of argument `pos` (1-based) of c, or "". */
static const char *arg_spec(const struct mon_cmd *c, int pos, char *buf, size_t len)
{
	const char *s = c->complete ? c->complete : "";

	for (int k = 1; k < pos && s; k++) {
		s = strchr(s, ';');
		if (s)
			s++;
	}
	if (s == NULL)
		return "";
	size_t n = strcspn(s, ";");
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

struct cand {
	const char *word;
	int idx;
	int seen;
	char *found;
};

static bool offer(struct cand *c, const char *s)
{
	if (c->found || strncmp(s, c->word, strlen(c->word)) != 0)
		return false;
	if (c->seen++ == c->idx) {
		c->found = strdup(s);
		return true;
	}
	return false;
}

static void complete_files(struct cand *c, bool only_suffix, const char *suffix)
{
	const char *slash = strrchr(c->word, '/');
	char dir[1024], path[2048];
	struct dirent **list;
	int n;

	if (slash) {
		size_t dl = (size_t)(slash - c->word) + 1;
		if (dl >= sizeof(dir))
			return;
		memcpy(dir, c->word, dl);
		dir[dl] = '\0';
	} else {
		dir[0] = '\0';
	}
	n = scandir(dir[0] ? dir : ".", &list, NULL, alphasort);
	if (n < 0)
		return;
	for (int k = 0; k < n; k++) {
		const char *e = list[k]->d_name;
		struct stat st;
		bool isdir;
		if (!c->found && strcmp(e, ".") && strcmp(e, "..") &&
		    (e[0] != '.' || (slash ? slash[1] : c->word[0]) == '.')) {
			snprintf(path, sizeof(path), "%s%s", dir, e);
			isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
			if (isdir)
				strncat(path, "/", sizeof(path) - strlen(path) - 1);
			if (isdir || !only_suffix ||
			    (strlen(e) > strlen(suffix) && !strcmp(e + strlen(e) - strlen(suffix), suffix)))
				offer(c, path);
		}
		free(list[k]);
	}
	free(list);
}

static void complete_snapshots(struct monitor *mon, struct cand *c)
{
	struct dirent **list;
	int n = scandir(mon->snapdir, &list, NULL, alphasort);

	if (n < 0)
		return;
	for (int k = 0; k < n; k++) {
		char name[256];
		size_t l = strlen(list[k]->d_name);
		if (l > 6 && !strcmp(list[k]->d_name + l - 6, ".nsnap") && l - 6 < sizeof(name)) {
			memcpy(name, list[k]->d_name, l - 6);
			name[l - 6] = '\0';
			offer(c, name);
		}
		free(list[k]);
	}
	free(list);
}

static void complete_spec(struct monitor *mon, struct cand *c, const char *spec)
{
	if (!strcmp(spec, "f")) {
		complete_files(c, false, NULL);
	} else if (!strcmp(spec, "png")) {
		complete_files(c, true, ".png");
	} else if (!strcmp(spec, "s")) {
		complete_snapshots(mon, c);
	} else if (!strcmp(spec, "S")) {
		if (state_register_core(mon->m) == 0)
			for (int i = 0; i < state_count(mon->m); i++)
				offer(c, state_get(mon->m, i)->name);
	} else if (!strcmp(spec, "c")) {
		for (size_t t = 0; t < NTABLES; t++)
			for (const struct mon_cmd *x = cmd_tables[t]; x->name; x++)
				offer(c, x->name);
	} else if (!strcmp(spec, "i")) {
		for (int i = 0; i < mon->ninfo; i++)
			offer(c, mon->info[i].name);
		for (const struct mon_cmd *x = mon_info_cmds; x->name; x++)
			offer(c, x->name);
	} else if (!strncmp(spec, "k:", 2)) {
		char kw[64];
		for (const char *s = spec + 2; *s;) {
			size_t n = strcspn(s, "|");
			if (n < sizeof(kw)) {
				memcpy(kw, s, n);
				kw[n] = '\0';
				offer(c, kw);
			}
			s += n + (s[n] == '|');
		}
	}
}

char *monitor_complete(struct monitor *mon, const char *line, int idx)
{
	char *argv[MAX_ARGS];
	char *buf = strdup(line);
	bool trailing = true;
	int argc;
	struct cand c = { .word = "", .idx = idx };
	char spec[64];

	if (buf == NULL)
		return NULL;
	argc = split_words(buf, argv, MAX_ARGS, &trailing);
	if (argc < 0)
		goto out;
	int pos = trailing ? argc : argc - 1;	/* index of the word being completed */
	c.word = trailing ? "" : argv[argc - 1];
	if (pos == 0) {
		complete_spec(mon, &c, "c");
		goto out;
	}
	const struct mon_cmd *cmd = find_cmd(argv[0]);
	if (cmd == NULL)
		goto out;
	if (!strcmp(cmd->name, "info") && pos >= 2) {
		const struct mon_cmd *sub = NULL;
		for (const struct mon_cmd *x = mon_info_cmds; x->name; x++)
			if (!strcmp(x->name, argv[1]))
				sub = x;
		if (sub)
			complete_spec(mon, &c, arg_spec(sub, pos - 1, spec, sizeof(spec)));
		goto out;
	}
	if (!strcmp(cmd->name, "help") && pos == 2 && !strcmp(argv[1], "info")) {
		complete_spec(mon, &c, "i");
		goto out;
	}
	complete_spec(mon, &c, arg_spec(cmd, pos, spec, sizeof(spec)));
out:
	free(buf);
	return c.found;
}
