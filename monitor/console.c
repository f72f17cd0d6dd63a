/*
 * console.c - the monitor's front ends and the top-level loop.
 *
 *  - stdio: GNU readline through its callback interface
 *    (rl_callback_read_char), so reading a line never blocks the machine;
 *    tab completion from monitor_complete. History: $NESTEMU_HISTORY
 *    (empty: none), else ~/.nestemu_history, read when the monitor opens;
 *    the lines of this session are appended at exit and the file is
 *    trimmed to its last HISTORY_MAX lines.
 *    When stdin is not a terminal, plain lines are read without readline.
 *  - unix:PATH / tcp:HOST:PORT: a listening socket serving one client at
 *    a time (a second one is told the monitor is busy); line-based, each
 *    command's output followed by the "(nestemu) " prompt.
 *  - -monitor-script FILE: lines run in order before the machine starts;
 *    after a "cont", the following lines wait until the machine stops.
 *
 * Single-threaded: machine_run calls console_poll between CPU slices
 * (poll() with a zero timeout), and monitor_run blocks in poll() while
 * the machine is stopped.
 *
 * One exception to "no globals": readline is a process-wide singleton
 * whose line and completion callbacks take no user pointer, so the
 * monitor owning the terminal is kept in `rl_owner`.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "monitor.h"

#define PROMPT "(nestemu) "
#define LINE_MAX_LEN 4096
#define HISTORY_MAX 1000

struct mon_console {
	struct monitor *mon;
	/* stdio */
	bool stdio, tty, rl, stdin_eof;
	char *hist_path;
	int hist_added;		/* history lines entered in this session */
	char sbuf[LINE_MAX_LEN];
	size_t slen;
	/* socket server */
	int listen_fd, client_fd;
	char *unix_path;
	char cbuf[LINE_MAX_LEN];
	size_t clen;
	/* script */
	char **script;
	int nscript, script_pos;
	bool script_wait;	/* a script "cont": the next lines wait for a stop */
	enum machine_stop last_stop;	/* why the machine last stopped by itself */
	int comp_idx;		/* readline completion: candidate index */
};

static struct monitor *rl_owner;	/* see the file comment */

static struct mon_console *con_get(struct monitor *mon)
{
	struct mon_console **slot = mon_console_slot(mon);

	if (*slot == NULL) {
		struct mon_console *c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
		c->mon = mon;
		c->listen_fd = c->client_fd = -1;
		*slot = c;
	}
	return *slot;
}

/* Appends this session's lines to the history file (creating it). */
static void save_history(struct mon_console *c)
{
	if (c->hist_path == NULL || c->hist_added == 0)
		return;
	int n = c->hist_added < HISTORY_MAX ? c->hist_added : HISTORY_MAX;
	if (append_history(n, c->hist_path) != 0)
		(void)write_history(c->hist_path);	/* no file yet */
	(void)history_truncate_file(c->hist_path, HISTORY_MAX);
}

/* $NESTEMU_HISTORY, else ~/.nestemu_history; NULL for none. */
static char *history_path(void)
{
	const char *env = getenv("NESTEMU_HISTORY"), *home = getenv("HOME");
	char *p;

	if (env)
		return *env ? strdup(env) : NULL;
	if (home == NULL || *home == '\0')
		return NULL;
	p = malloc(strlen(home) + sizeof("/.nestemu_history"));
	if (p)
		sprintf(p, "%s/.nestemu_history", home);
	return p;
}

void mon_console_free(struct monitor *mon)
{
	struct mon_console *c = *mon_console_slot(mon);

	if (c == NULL)
		return;
	if (c->rl) {
		rl_callback_handler_remove();
		save_history(c);
		rl_owner = NULL;
	}
	if (c->client_fd >= 0)
		close(c->client_fd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->unix_path) {
		unlink(c->unix_path);
		free(c->unix_path);
	}
	for (int i = 0; i < c->nscript; i++)
		free(c->script[i]);
	free(c->script);
	free(c->hist_path);
	free(c);
	*mon_console_slot(mon) = NULL;
}

/* ---- output ---- */

static void send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

void mon_event(struct monitor *mon, const char *fmt, ...)
{
	struct mon_console *c = *mon_console_slot(mon);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c && c->client_fd >= 0) {
		/* A fresh prompt after the event keeps the client's framing. */
		send_all(c->client_fd, msg, strlen(msg));
		send_all(c->client_fd, "\n" PROMPT, 1 + strlen(PROMPT));
	}
	if (c == NULL || c->stdio || c->nscript || c->client_fd < 0) {
		if (c && c->rl)
			fputc('\n', stdout);
		printf("%s\n", msg);
		fflush(stdout);
		if (c && c->rl) {
			rl_on_new_line();
			rl_redisplay();
		}
	}
}

/* ---- stdio ---- */

static void exec_stdio(struct monitor *mon, const char *line)
{
	monitor_exec(mon, line, stdout);
	fflush(stdout);
}

static void rl_line(char *line)
{
	struct monitor *mon = rl_owner;

	if (mon == NULL) {
		free(line);
		return;
	}
	struct mon_console *c = *mon_console_slot(mon);
	if (line == NULL) {	/* EOF (Ctrl-D) */
		rl_callback_handler_remove();
		c->stdin_eof = true;
		fputc('\n', stdout);
		free(line);
		return;
	}
	if (*line) {
		add_history(line);
		c->hist_added++;
	}
	exec_stdio(mon, line);
	free(line);
}

static char *rl_gen(const char *text, int state)
{
	char prefix[LINE_MAX_LEN];
	size_t n = (size_t)rl_point < sizeof(prefix) - 1 ? (size_t)rl_point : sizeof(prefix) - 1;

	(void)text;
	if (rl_owner == NULL)
		return NULL;
	memcpy(prefix, rl_line_buffer, n);
	prefix[n] = '\0';
	/* state is 0 on the first call for this word, nonzero afterwards. */
	struct mon_console *c = *mon_console_slot(rl_owner);
	c->comp_idx = state == 0 ? 0 : c->comp_idx + 1;
	return monitor_complete(rl_owner, prefix, c->comp_idx);
}

static char **mon_rl_complete(const char *text, int start, int end)
{
	(void)start;
	(void)end;
	char **matches;

	rl_attempted_completion_over = 1;	/* no default file-name completion */
	rl_completion_append_character = ' ';
	matches = rl_completion_matches(text, rl_gen);
	/* A directory is not the end of a path: no space after it. */
	if (matches && matches[0] && matches[1] == NULL) {
		size_t n = strlen(matches[0]);
		if (n && matches[0][n - 1] == '/')
			rl_completion_append_character = '\0';
	}
	return matches;
}

static void read_stdin_plain(struct monitor *mon, struct mon_console *c)
{
	ssize_t n = read(0, c->sbuf + c->slen, sizeof(c->sbuf) - 1 - c->slen);

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		c->stdin_eof = true;
		if (c->slen) {
			c->sbuf[c->slen] = '\0';
			c->slen = 0;
			exec_stdio(mon, c->sbuf);
		}
		return;
	}
	c->slen += (size_t)n;
	for (;;) {
		char *nl = memchr(c->sbuf, '\n', c->slen);
		if (nl == NULL) {
			if (c->slen == sizeof(c->sbuf) - 1)
				c->slen = 0;	/* overlong line: drop it */
			return;
		}
		*nl = '\0';
		char line[LINE_MAX_LEN];
		size_t len = (size_t)(nl - c->sbuf);
		memcpy(line, c->sbuf, len + 1);
		memmove(c->sbuf, nl + 1, c->slen - len - 1);
		c->slen -= len + 1;
		exec_stdio(mon, line);
		if (mon_machine(mon)->stop == STOP_EXIT)
			return;
	}
}

/* ---- sockets ---- */

static int open_unix(struct mon_console *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "monitor socket path '%s' is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);	/* a stale socket from an earlier run */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errlen, "cannot listen on monitor socket '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c->unix_path = strdup(path);
	c->listen_fd = fd;
	return 0;
}

static int open_tcp(struct mon_console *c, const char *hostport, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *res, *ai;
	int fd = -1, r, e = 0;

	if (colon == NULL || colon[1] == '\0' || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(err, errlen, "invalid monitor address 'tcp:%s' (use tcp:HOST:PORT)", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	r = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "cannot resolve monitor address 'tcp:%s': %s", hostport,
			 gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on monitor address 'tcp:%s': %s", hostport,
			 strerror(e ? e : EADDRNOTAVAIL));
		return -1;
	}
	c->listen_fd = fd;
	return 0;
}

static void accept_client(struct mon_console *c)
{
	int fd = accept(c->listen_fd, NULL, NULL);
	static const char busy[] = "error: the monitor is busy (one client at a time)\n";
	static const char banner[] = "nestemu monitor - type 'help' for the commands\n" PROMPT;

	if (fd < 0)
		return;
	if (c->client_fd >= 0) {
		send_all(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	c->client_fd = fd;
	c->clen = 0;
	send_all(fd, banner, sizeof(banner) - 1);
}

static void read_client(struct monitor *mon, struct mon_console *c)
{
	ssize_t n = recv(c->client_fd, c->cbuf + c->clen, sizeof(c->cbuf) - 1 - c->clen, 0);

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		close(c->client_fd);
		c->client_fd = -1;
		return;
	}
	c->clen += (size_t)n;
	for (;;) {
		char *nl = memchr(c->cbuf, '\n', c->clen);
		if (nl == NULL) {
			if (c->clen == sizeof(c->cbuf) - 1)
				c->clen = 0;
			return;
		}
		size_t len = (size_t)(nl - c->cbuf);
		char line[LINE_MAX_LEN];
		memcpy(line, c->cbuf, len);
		line[len] = '\0';
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		memmove(c->cbuf, nl + 1, c->clen - len - 1);
		c->clen -= len + 1;
		char *out = monitor_exec_str(mon, line);
		if (out) {
			send_all(c->client_fd, out, strlen(out));
			free(out);
		}
		if (mon_machine(mon)->stop == STOP_EXIT) {
			close(c->client_fd);
			c->client_fd = -1;
			return;
		}
		send_all(c->client_fd, PROMPT, strlen(PROMPT));
	}
}

/* ---- polling ---- */

/* Serves every ready front end; waits up to timeout_ms (-1: forever). */
static void console_serve(struct monitor *mon, int timeout_ms)
{
	struct mon_console *c = *mon_console_slot(mon);
	struct pollfd p[3];
	int n = 0, i_stdin = -1, i_listen = -1, i_client = -1;

	if (c == NULL)
		return;
	if (c->stdio && !c->stdin_eof) {
		i_stdin = n;
		p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
	}
	if (c->listen_fd >= 0) {
		i_listen = n;
		p[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	}
	if (c->client_fd >= 0) {
		i_client = n;
		p[n++] = (struct pollfd){ .fd = c->client_fd, .events = POLLIN };
	}
	if (n == 0 || poll(p, (nfds_t)n, timeout_ms) <= 0)
		return;
	if (i_stdin >= 0 && (p[i_stdin].revents & (POLLIN | POLLHUP | POLLERR))) {
		if (c->rl)
			rl_callback_read_char();
		else
			read_stdin_plain(mon, c);
	}
	if (i_client >= 0 && c->client_fd >= 0 && (p[i_client].revents & (POLLIN | POLLHUP | POLLERR)))
		read_client(mon, c);
	if (i_listen >= 0 && (p[i_listen].revents & POLLIN))
		accept_client(c);
}

static void console_poll(struct machine *m)
{
	if (m->monitor)
		console_serve(m->monitor, 0);
}

/* True when a front end could still deliver a command. */
static bool can_serve(const struct mon_console *c)
{
	return c && ((c->stdio && !c->stdin_eof) || c->listen_fd >= 0 || c->client_fd >= 0);
}

bool monitor_active(const struct monitor *mon)
{
	const struct mon_console *c = mon ? *mon_console_slot((struct monitor *)mon) : NULL;

	return c && (can_serve(c) || c->nscript > 0);
}

int monitor_open(struct monitor *mon, const char *spec, char *err, size_t errlen)
{
	struct mon_console *c = con_get(mon);

	if (c == NULL) {
		snprintf(err, errlen, "out of memory opening the monitor");
		return -1;
	}
	if (!strcmp(spec, "stdio")) {
		if (c->stdio) {
			snprintf(err, errlen, "the monitor is already on stdio");
			return -1;
		}
		c->stdio = true;
		c->tty = isatty(0) && isatty(1);
		if (c->tty) {
			if (rl_owner != NULL) {
				snprintf(err, errlen, "another monitor already owns the terminal");
				return -1;
			}
			rl_owner = mon;
			rl_readline_name = "nestemu";
			rl_attempted_completion_function = mon_rl_complete;
			stifle_history(HISTORY_MAX);
			c->hist_path = history_path();
			if (c->hist_path)
				(void)read_history(c->hist_path);
			rl_callback_handler_install(PROMPT, rl_line);
			c->rl = true;
		}
		return 0;
	}
	if (c->listen_fd >= 0) {
		snprintf(err, errlen, "only one -monitor socket is supported");
		return -1;
	}
	if (!strncmp(spec, "unix:", 5)) {
		char path[1024];
		size_t n = strcspn(spec + 5, ",");
		const char *opt = spec + 5 + n;
		if (n == 0 || n >= sizeof(path)) {
			snprintf(err, errlen, "invalid monitor socket '%s' (use unix:PATH[,server])", spec);
			return -1;
		}
		while (*opt == ',') {
			size_t k = strcspn(opt + 1, ",");
			if (!(k == 6 && !strncmp(opt + 1, "server", 6)) &&
			    !(k == 6 && !strncmp(opt + 1, "nowait", 6)) &&
			    !(k == 8 && !strncmp(opt + 1, "wait=off", 8))) {
				snprintf(err, errlen, "unknown option '%.*s' in '%s' (use unix:PATH[,server])",
					 (int)k, opt + 1, spec);
				return -1;
			}
			opt += 1 + k;
		}
		memcpy(path, spec + 5, n);
		path[n] = '\0';
		return open_unix(c, path, err, errlen);
	}
	if (!strncmp(spec, "tcp:", 4)) {
		char hp[300];
		size_t n = strcspn(spec + 4, ",");
		if (n >= sizeof(hp)) {
			snprintf(err, errlen, "invalid monitor address '%s'", spec);
			return -1;
		}
		memcpy(hp, spec + 4, n);
		hp[n] = '\0';
		return open_tcp(c, hp, err, errlen);
	}
	snprintf(err, errlen, "unknown monitor '%s' (use stdio, unix:PATH or tcp:HOST:PORT)", spec);
	return -1;
}

int monitor_load_script(struct monitor *mon, const char *path, char *err, size_t errlen)
{
	struct mon_console *c = con_get(mon);
	FILE *f;
	char line[LINE_MAX_LEN];

	if (c == NULL) {
		snprintf(err, errlen, "out of memory opening the monitor");
		return -1;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open monitor script '%s': %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		const char *s = line + strspn(line, " \t");
		if (*s == '\0' || *s == '#')
			continue;
		char **ns = realloc(c->script, (size_t)(c->nscript + 1) * sizeof(*ns));
		char *dup = strdup(s);
		if (ns == NULL || dup == NULL) {
			free(dup);
			if (ns)
				c->script = ns;
			fclose(f);
			snprintf(err, errlen, "out of memory reading monitor script '%s'", path);
			return -1;
		}
		c->script = ns;
		c->script[c->nscript++] = dup;
	}
	fclose(f);
	return 0;
}

void mon_script_resumed(struct monitor *mon)
{
	struct mon_console *c = *mon_console_slot(mon);

	if (c && mon_in_script(mon))
		c->script_wait = true;
}

/* Runs script lines until the end, a "cont" (then waits for a stop) or quit. */
static void run_script(struct monitor *mon, struct mon_console *c)
{
	struct machine *m = mon_machine(mon);

	if (m->paused)
		c->script_wait = false;
	while (c->script_pos < c->nscript && !c->script_wait && m->stop != STOP_EXIT) {
		const char *line = c->script[c->script_pos++];
		printf(PROMPT "%s\n", line);
		mon_exec_script_line(mon, line, stdout);
		fflush(stdout);
	}
}

static const char *stop_reason(enum machine_stop s)
{
	switch (s) {
	case STOP_HALTED: return "the vCPU halted";
	case STOP_ERROR: return "an emulation error";
	case STOP_ICOUNT: return "the -max-insns limit";
	default: return "a stop request";
	}
}

enum machine_stop monitor_run(struct machine *m)
{
	struct monitor *mon = monitor_get(m);
	struct mon_console *c = mon ? con_get(mon) : NULL;

	if (c == NULL)
		return machine_run(m);
	if (can_serve(c))
		m->monitor_poll = console_poll;
	for (;;) {
		run_script(mon, c);
		if (m->stop == STOP_EXIT)
			break;
		if (m->paused) {
			if (c->script_pos < c->nscript)
				continue;
			if (!can_serve(c)) {
				if (c->last_stop != STOP_NONE)
					return c->last_stop;
				fprintf(stderr, "nestemu: the machine is stopped and no monitor is left to continue it; exiting.\n");
				return STOP_HALTED;
			}
			console_serve(mon, -1);
			continue;
		}
		monitor_set_started(mon, true);
		enum machine_stop s = machine_run(m);
		if (s == STOP_PAUSED)
			continue;
		if (s == STOP_EXIT || s == STOP_RESET)
			return s;
		c->last_stop = s;
		if (!can_serve(c) && c->script_pos >= c->nscript)
			return s;
		m->paused = true;
		mon_event(mon, "machine stopped (%s)", stop_reason(s));
	}
	return STOP_EXIT;
}
