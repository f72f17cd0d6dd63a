/*
 * charsock.c - TCP and Unix-domain socket back ends for character devices.
 *
 * A server listens (one peer at a time; a second connection waits in the
 * backlog until the first peer leaves) and, unless `nowait` is given,
 * waits at creation for the first peer before the machine starts. A
 * client connects at creation; when its peer goes away, output is dropped
 * and no input arrives (there is no reconnect). Sockets are non-blocking:
 * output that the kernel cannot take at once is kept in a 64 KiB buffer
 * that every later write or read tries to flush; beyond that, bytes are
 * dropped (a serial line has no flow control here). SIGPIPE is avoided
 * with MSG_NOSIGNAL; a peer that hangs up is closed and a server accepts
 * the next one.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dev/charsock.h"

#define OUT_BUF 65536

struct sock_spec {
	bool unix_domain;
	bool server, wait;
	char host[256];		/* tcp: host (empty = any / localhost) */
	char port[32];		/* tcp: port */
	char path[108];		/* unix: path */
};

struct charsock {
	struct sock_spec spec;
	int listen_fd;		/* server: the listening socket, else -1 */
	int fd;			/* the connected peer, or -1 */
	uint8_t out[OUT_BUF];	/* bytes the socket did not take yet */
	size_t out_len;
	char name[300];		/* the spec, for messages */
};

bool charsock_is_socket(const char *spec)
{
	return spec && (strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "unix:", 5) == 0);
}

static bool opt_on(const char *v, bool *on)
{
	if (v == NULL || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*on = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*on = false;
		return true;
	}
	return false;
}

static int parse(const char *spec, struct sock_spec *s, const char *what, char *err,
		 size_t errlen)
{
	char buf[512], *opt, *save = NULL, *addr;
	bool nowait = false;

	memset(s, 0, sizeof(*s));
	s->wait = true;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "%s back end '%.40s...' is too long", what, spec);
		return -1;
	}
	strcpy(buf, spec);
	s->unix_domain = strncmp(buf, "unix:", 5) == 0;
	addr = buf + (s->unix_domain ? 5 : 4);
	opt = strchr(addr, ',');
	if (opt)
		*opt++ = '\0';
	for (opt = opt ? strtok_r(opt, ",", &save) : NULL; opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		bool on;
		if (eq)
			*eq++ = '\0';
		if (!strcmp(opt, "server") && opt_on(eq, &on))
			s->server = on;
		else if (!strcmp(opt, "nowait") && eq == NULL)
			nowait = true;
		else if (!strcmp(opt, "wait") && opt_on(eq, &on))
			nowait = !on;
		else if (!strcmp(opt, "nodelay") && opt_on(eq, &on))
			;	/* every byte is sent at once anyway */
		else {
			snprintf(err, errlen, "unknown option '%s' in %s back end '%s' "
				 "(use server, nowait)", opt, what, spec);
			return -1;
		}
	}
	s->wait = !nowait;
	if (s->unix_domain) {
		if (addr[0] == '\0' || strlen(addr) >= sizeof(s->path)) {
			snprintf(err, errlen, "invalid %s back end '%s' (use unix:PATH[,server][,nowait]"
				 " with a path shorter than %zu bytes)", what, spec, sizeof(s->path));
			return -1;
		}
		strcpy(s->path, addr);
		return 0;
	}
	char *colon = strrchr(addr, ':');
	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof(s->port) ||
	    (size_t)(colon - addr) >= sizeof(s->host)) {
		snprintf(err, errlen, "invalid %s back end '%s' (use tcp:HOST:PORT[,server][,nowait])",
			 what, spec);
		return -1;
	}
	*colon = '\0';
	strcpy(s->host, addr);
	strcpy(s->port, colon + 1);
	return 0;
}

int charsock_check(const char *spec, const char *what, char *err, size_t errlen)
{
	struct sock_spec s;

	return parse(spec, &s, what, err, errlen);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int open_unix(struct charsock *c, const char *what, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, c->spec.path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a socket for %s: %s", what, strerror(errno));
		return -1;
	}
	if (!c->spec.server) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			snprintf(err, errlen, "cannot connect %s to '%s': %s", what, c->spec.path,
				 strerror(errno));
			close(fd);
			return -1;
		}
		c->fd = fd;
		return 0;
	}
	if (stat(c->spec.path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(c->spec.path);	/* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errlen, "cannot listen on '%s' for %s: %s", c->spec.path, what,
			 strerror(errno));
		close(fd);
		return -1;
	}
	c->listen_fd = fd;
	return 0;
}

static int open_tcp(struct charsock *c, const char *what, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = c->spec.server ? AI_PASSIVE : 0 }, *res, *ai;
	const char *host = c->spec.host[0] ? c->spec.host : NULL;
	int fd = -1, r, e = 0;

	r = getaddrinfo(host, c->spec.port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve '%s' for %s: %s", c->name, what, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (c->spec.server) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
				break;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			break;
		}
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot %s '%s' for %s: %s",
			 c->spec.server ? "listen on" : "connect to", c->name, what,
			 strerror(e ? e : EADDRNOTAVAIL));
		return -1;
	}
	if (c->spec.server) {
		c->listen_fd = fd;
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c->fd = fd;
	}
	return 0;
}

/* Takes a waiting peer when there is none (servers only). */
static void try_accept(struct charsock *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->listen_fd, .events = POLLIN };
	int fd;

	if (c->listen_fd < 0 || c->fd >= 0)
		return;
	if (poll(&p, 1, timeout_ms) != 1 || !(p.revents & POLLIN))
		return;
	fd = accept(c->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	set_nonblock(fd);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	c->fd = fd;
}

static void drop_peer(struct charsock *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->out_len = 0;
}

/* Sends what the buffer holds, as far as the socket takes it now. */
static void flush_out(struct charsock *c)
{
	size_t done = 0;

	while (c->fd >= 0 && done < c->out_len) {
		ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			drop_peer(c);
			return;
		}
	}
	memmove(c->out, c->out + done, c->out_len - done);
	c->out_len -= done;
}

struct charsock *charsock_open(const char *spec, const char *what, char *err, size_t errlen)
{
	struct charsock *c = calloc(1, sizeof(*c));
	int r;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory opening '%s' for %s", spec, what);
		return NULL;
	}
	c->listen_fd = c->fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", spec);
	if (parse(spec, &c->spec, what, err, errlen) < 0) {
		free(c);
		return NULL;
	}
	r = c->spec.unix_domain ? open_unix(c, what, err, errlen) : open_tcp(c, what, err, errlen);
	if (r < 0) {
		free(c);
		return NULL;
	}
	if (c->fd >= 0)
		set_nonblock(c->fd);
	if (c->listen_fd >= 0 && c->spec.wait) {
		fprintf(stderr, "nestemu: waiting for a connection on %s (%s)\n", spec, what);
		while (c->fd < 0)
			try_accept(c, -1);
	}
	return c;
}

void charsock_close(struct charsock *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0) {
		/* Give the peer what is still buffered, briefly, then hang up. */
		for (int i = 0; i < 100 && c->out_len && c->fd >= 0; i++) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };
			poll(&p, 1, 10);
			flush_out(c);
		}
		drop_peer(c);
	}
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		if (c->spec.unix_domain)
			unlink(c->spec.path);
	}
	free(c);
}

void charsock_write(struct charsock *c, uint8_t byte)
{
	try_accept(c, 0);
	if (c->fd < 0)
		return;
	if (c->out_len < OUT_BUF)
		c->out[c->out_len++] = byte;
	flush_out(c);
}

int charsock_read(struct charsock *c)
{
	uint8_t byte;
	ssize_t n;

	try_accept(c, 0);
	if (c->fd < 0)
		return -1;
	if (c->out_len)
		flush_out(c);
	if (c->fd < 0)
		return -1;
	n = recv(c->fd, &byte, 1, MSG_DONTWAIT);
	if (n == 1)
		return byte;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		drop_peer(c);	/* hung up: a server takes the next peer */
	return -1;
}
