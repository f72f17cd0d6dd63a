/*
 * testdev.h - pc-testdev, the test device kvm-unit-tests' x86 kernels
 * expect next to isa-debug-exit (enabled with `-device pc-testdev`).
 */
#ifndef NESTEMU_DEV_TESTDEV_H
#define NESTEMU_DEV_TESTDEV_H

#include <stddef.h>
#include <stdint.h>

struct machine;
struct testdev;

#define TESTDEV_IOMEM_BASE 0xff000000ull
#define TESTDEV_IOMEM_SIZE 0x10000u
#define TESTDEV_IRQ_PORT 0x2000u
#define TESTDEV_NIRQ 24

/* Claims the ports and the MMIO window; NULL with err set on failure. */
struct testdev *testdev_create(struct machine *m, char *err, size_t errlen);
void testdev_destroy(struct testdev *t);

#endif
