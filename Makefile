# nestemu - one non-recursive Makefile. Run ./configure first.
#
#   make            build ./nestemu (release)
#   make check      build and run every test (unit, instruction, guest, system)
#   make asan       build with AddressSanitizer and run the test suite
#   make ubsan      build with UndefinedBehaviorSanitizer and run the test suite
#   make bench      run the benchmarks (prints "bench NAME VALUE UNIT" lines)
#   make install    install nestemu under $(PREFIX)
#
# Objects go to build/$(MODE)/; MODE is release, debug, asan or ubsan.
# With clang (make CC=clang [MODE=...] check) they go to build/$(MODE)-clang/,
# beside the gcc build; CC=clang ./configure makes clang the default.

ifeq ($(wildcard config.mk),)
$(error config.mk is missing: run ./configure first)
endif
include config.mk

MODE ?= $(DEFAULT_MODE)
B := build/$(MODE)$(if $(findstring clang,$(CC)),-clang)

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 $(WARN) -I. -Iemu -D_GNU_SOURCE -fno-strict-aliasing -g
MODE_CFLAGS_release := -O2
MODE_CFLAGS_debug := -O0
MODE_CFLAGS_asan := -O1 -fsanitize=address -fno-omit-frame-pointer
MODE_CFLAGS_ubsan := -O1 -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
MODE_LDFLAGS_asan := -fsanitize=address
MODE_LDFLAGS_ubsan := -fsanitize=undefined

ALL_CFLAGS = $(BASE_CFLAGS) $(MODE_CFLAGS_$(MODE)) $(ZLIB_CFLAGS) $(SDL_CFLAGS) $(READLINE_CFLAGS) $(CAPSTONE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(MODE_LDFLAGS_$(MODE)) $(LDFLAGS)
LIBS = $(ZLIB_LIBS) $(READLINE_LIBS) $(SDL_LIBS) $(CAPSTONE_LIBS) -lm

# Every .c under these folders is part of the emulator library; the
# program's entry point is emu/main.c.
SRC_DIRS := emu emu/block emu/cpu emu/cpu/jit emu/mmu emu/vmx emu/svm emu/dev emu/nic monitor
LIB_SRCS := $(filter-out emu/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
MAIN_OBJ := $(B)/emu/main.o
DEPS := $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(B)/%.o)
GUEST_SRCS := $(wildcard tests/guests/*.asm)
GUEST_BINS := $(GUEST_SRCS:tests/guests/%.asm=$(B)/guests/%.bin)

NESTEMU := $(B)/nestemu

.PHONY: all check unit guests asan ubsan debug bench install clean distclean coverage run
all: $(NESTEMU) $(if $(filter yes,$(HAVE_NASM)),$(GUEST_BINS))
ifeq ($(B),build/release)
	@ln -sf $(NESTEMU) nestemu
endif

$(B)/%.o: %.c config.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Objects are linked directly, not through an archive: the opcode table
# refers to handlers weakly, which would not pull archive members in.
$(NESTEMU): $(MAIN_OBJ) $(LIB_OBJS)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB_OBJS) $(LIBS)

# Guest test programs: flat binaries assembled with nasm.
$(B)/guests/%.bin: tests/guests/%.asm $(wildcard tests/guests/*.inc)
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@nasm -f bin -I tests/guests/ -o $@ $<

$(B)/tests/unit/%.o: ALL_CFLAGS += $(CRITERION_CFLAGS)
$(B)/unit-tests: $(UNIT_OBJS) $(LIB_OBJS)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJS) $(LIB_OBJS) $(LIBS) $(CRITERION_LIBS)

$(B)/opcov: $(B)/tests/opcov.o $(LIB_OBJS)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(B)/tests/opcov.o $(LIB_OBJS) $(LIBS)

guests: $(GUEST_BINS)

unit: $(B)/unit-tests
	$(B)/unit-tests --jobs=2

check: $(NESTEMU) $(B)/unit-tests $(B)/opcov $(GUEST_BINS)
	@echo "== unit and instruction tests (Criterion) =="
	@rm -rf $(B)/cov && mkdir -p $(B)/cov
	NESTEMU_COVERAGE_DIR=$(B)/cov $(B)/unit-tests --jobs=2
	@echo "== opcode coverage =="
	$(B)/opcov $(B)/cov
	@echo "== guest programs =="
	sh tests/guests/run.sh $(NESTEMU) $(B)/guests
	@echo "== command line =="
	sh tests/cli/run.sh $(NESTEMU) $(B)/guests
	@echo "== monitor =="
	sh tests/monitor/run.sh $(NESTEMU) $(B)/guests
	@echo "== system tests (Debian's kernel and busybox) =="
	sh tests/system/run.sh $(NESTEMU)

# The default guest: Debian's kernel with a busybox initramfs, built from
# Debian packages on first use (tests/images/build.sh), shell on ttyS0.
LINUX_IMG := tests/images/cache
run: $(NESTEMU)
	@sh tests/images/build.sh --if-stale
	$(NESTEMU) -m 512 -kernel $(LINUX_IMG)/vmlinuz -initrd $(LINUX_IMG)/initrd.gz \
		-append "console=ttyS0" -display none -serial stdio

asan:
	$(MAKE) MODE=asan check
ubsan:
	$(MAKE) MODE=ubsan check
debug:
	$(MAKE) MODE=debug all

bench: $(NESTEMU) $(GUEST_BINS)
	sh tests/bench/run.sh $(NESTEMU) $(B)/guests

install: $(NESTEMU)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(NESTEMU) $(DESTDIR)$(PREFIX)/bin/nestemu

clean:
	rm -rf build nestemu
distclean: clean
	rm -f config.h config.mk

-include $(DEPS) $(UNIT_OBJS:.o=.d)
