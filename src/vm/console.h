/* Where the guest console goes: stdio, a unix socket (one client at a time,
 * with the recent output replayed on connect), a file, or nowhere. */
#ifndef STRATA_VM_CONSOLE_H
#define STRATA_VM_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CONSOLE_HISTORY 65536

enum console_kind { CONSOLE_STDIO, CONSOLE_SOCKET, CONSOLE_FILE, CONSOLE_NONE };

struct console {
	enum console_kind kind;
	pthread_mutex_t lock;
	int out_fd;         /* stdout or the file; -1 for socket/none */
	int in_fd;          /* stdin, or the connected socket client; -1 when none */
	int listen_fd;      /* socket kind */
	char *socket_path;
	int tty_raw;        /* stdin was switched to raw mode (restored at exit) */
	int escape;         /* saw Ctrl-A on a raw tty */
	uint8_t history[CONSOLE_HISTORY];
	size_t hist_len, hist_head;
};

int console__open(struct console *c, const char *spec, struct st_err *err);
void console__write(struct console *c, const uint8_t *buf, size_t n);
/* Accepts a socket client (replacing any previous one) and replays history. */
void console__accept(struct console *c);
/* Reads input into buf; 0 on EOF/hang-up (input then stops), -1 if nothing now. */
long console__read(struct console *c, uint8_t *buf, size_t n);
void console__close(struct console *c);

#endif
