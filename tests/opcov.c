/*
 * opcov - the opcode coverage report.
 *
 * Reads the files the instruction tests wrote to DIR (one opcode-table
 * index per line, see tests/unit/harness.c) and lists every table entry
 * whose handler is implemented but that no test decoded. Exits non-zero
 * when there is one, so `make check` fails on an untested opcode.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/cpu/decode.h"
#include "emu/cpu/insn.h"

static const char *map_name[] = { "", "0F ", "0F38 ", "0F3A " };
static const char *pfx_name[] = { "", "NP ", "66 ", "F3 ", "F2 " };

static int implemented(const struct opdesc *d)
{
	for (int k = 0; k < 4; k++)
		if (d->fn[k] && d->fn[k] != insn_unimplemented)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: opcov DIR\n");
		return 2;
	}
	unsigned char *seen = calloc(opcode_table_len, 1);
	DIR *dir = opendir(argv[1]);
	if (!dir) {
		fprintf(stderr, "opcov: cannot open %s: run the unit tests with NESTEMU_COVERAGE_DIR set\n", argv[1]);
		return 2;
	}
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "cov-", 4) != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		FILE *f = fopen(path, "r");
		unsigned k;
		while (f && fscanf(f, "%u", &k) == 1)
			if (k < opcode_table_len)
				seen[k] = 1;
		if (f)
			fclose(f);
	}
	closedir(dir);
	unsigned impl = 0, covered = 0, unimpl = 0;
	for (unsigned k = 0; k < opcode_table_len; k++) {
		const struct opdesc *d = &opcode_table[k];
		if (!implemented(d)) {
			unimpl++;
			continue;
		}
		impl++;
		if (seen[k]) {
			covered++;
			continue;
		}
		printf("untested: %s%s%02X %-10s %s (entry %u)\n", pfx_name[d->pfx], map_name[d->map], d->opcode,
		       d->mnem, d->operands, k);
	}
	printf("opcode coverage: %u of %u implemented entries tested; %u entries not implemented yet\n",
	       covered, impl, unimpl);
	free(seen);
	return covered == impl ? 0 : 1;
}
