/*
 * rtc.h - MC146818 real-time clock and CMOS RAM (index 0x70, data 0x71),
 * interrupting on ISA IRQ 8. Port 0x70 bit 7 is the NMI mask (kept in
 * struct machine as nmi_mask).
 */
#ifndef NESTEMU_DEV_RTC_H
#define NESTEMU_DEV_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dev/irq.h"

struct machine;
struct rtc;

/* What the firmware finds in CMOS (SeaBIOS/QEMU conventions). */
struct rtc_config {
	uint64_t ram_below_4g;	/* bytes of RAM below 4 GiB */
	uint64_t ram_above_4g;	/* bytes of RAM at and above 4 GiB */
	int ncpus;
	const char *boot_order;	/* QEMU -boot order letters (a, c, d, n); NULL = "cad" */
};

/* Claims 0x70-0x71; the time starts at the host's (UTC). NULL with err set. */
struct rtc *rtc_create(struct machine *m, struct irq irq8, const struct rtc_config *cfg,
		       char *err, size_t errlen);
void rtc_destroy(struct rtc *r);
/* Reset pin: clears PIE, AIE, UIE, SQWE and the flags; time and CMOS stay. */
void rtc_reset(struct rtc *r);

/* Sets the RTC's time (seconds since 1970, UTC) at the current guest time;
 * the next update-ended event comes one second later. */
void rtc_set_time(struct rtc *r, time_t t);
/* Raw CMOS access (index 0-127) for the board and other devices. */
uint8_t rtc_cmos_read(struct rtc *r, unsigned index);
void rtc_cmos_write(struct rtc *r, unsigned index, uint8_t v);

#endif
