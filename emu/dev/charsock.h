/*
 * charsock.h - socket back ends for character devices (serial ports, the
 * debug console): `tcp:HOST:PORT[,server][,nowait]` and
 * `unix:PATH[,server][,nowait]`, QEMU's spellings.
 *
 * Everything is non-blocking and polled by its user (the UART polls for
 * input while its guest waits for it), so one host thread serves every
 * socket; the only blocking step is the wait for the first client of a
 * server without `nowait`, at creation, as QEMU does.
 */
#ifndef NESTEMU_DEV_CHARSOCK_H
#define NESTEMU_DEV_CHARSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct charsock;

/* True when spec starts with "tcp:" or "unix:" (a socket back end). */
bool charsock_is_socket(const char *spec);
/* Checks the syntax of spec without opening anything: 0, or -1 with err set. */
int charsock_check(const char *spec, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Opens spec for the device named `what` (messages): NULL with err set on failure. */
struct charsock *charsock_open(const char *spec, const char *what, char *err, size_t errlen);
void charsock_close(struct charsock *s);
/* Queues one byte for the peer; dropped when no peer is connected. */
void charsock_write(struct charsock *s, uint8_t c);
/* One byte from the peer if available without blocking: 0..255, or -1. */
int charsock_read(struct charsock *s);

#endif
