/* Where the guest console goes: stdio, a unix socket (one client at a time,
 * with the recent output replayed on connect), a file, or nowhere; and where
 * its input comes from (stdin or the socket's client), watched on the main
 * loop and handed to the console device as it makes room. */
#ifndef STRATA_VM_CONSOLE_H
#define STRATA_VM_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vm/loop.h"

#define CONSOLE_HISTORY 65536

enum console_kind { CONSOLE_STDIO, CONSOLE_SOCKET, CONSOLE_FILE, CONSOLE_NONE };

/* Where input goes: take() accepts what fits now (the UART's FIFO) and returns
 * how many bytes it took; quit() is Ctrl-A x on a raw tty. */
struct console_sink {
	size_t (*take)(void *opaque, const uint8_t *buf, size_t n);
	void (*quit)(void *opaque);
	void *opaque;
};

/* Input read but not yet taken by the sink, and the main loop's watches. */
struct console_input {
	struct console_sink sink;
	struct loop_watch in, listen;
	bool in_watched;
	uint8_t pending[4096];
	size_t pending_len, pending_off;
};

struct console {
	enum console_kind kind;
	pthread_mutex_t lock;
	int out_fd;         /* stdout or the file; -1 for socket/none */
	int in_fd;          /* stdin, or the connected socket client; -1 when none */
	int listen_fd;      /* socket kind */
	char *socket_path;
	int tty_raw;        /* stdin was switched to raw mode (restored at exit) */
	int escape;         /* saw Ctrl-A on a raw tty */
	struct console_input input;
	uint8_t history[CONSOLE_HISTORY];
	size_t hist_len, hist_head;
};

int console__open(struct console *c, const char *spec, struct st_err *err);
void console__write(struct console *c, const uint8_t *buf, size_t n);
void console__close(struct console *c);

/* Watches the input (stdin, or the socket's connections) on the main loop
 * (loop.h, initialised) and hands it to sink. */
int console__watch_input(struct console *c, const struct console_sink *sink, struct st_err *err);
/* Input read but not yet taken: the main loop should call console__feed soon. */
bool console__input_waiting(const struct console *c);
/* Offers the waiting input to the sink again (its device has made room). */
void console__feed(struct console *c);

#endif
