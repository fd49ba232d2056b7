/* WebSocket (RFC 6455) on the common HTTP server: the handshake, answered
 * through http_reply__upgrade, and frames on the upgraded socket. Only what
 * a server needs: client frames must be masked, server frames are not; no
 * extensions, no subprotocols. */
#ifndef STRATA_COMMON_WEBSOCKET_H
#define STRATA_COMMON_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/http_server.h"

enum websocket_opcode {
	WEBSOCKET_CONTINUATION = 0x0,
	WEBSOCKET_TEXT = 0x1,
	WEBSOCKET_BINARY = 0x2,
	WEBSOCKET_CLOSE = 0x8,
	WEBSOCKET_PING = 0x9,
	WEBSOCKET_PONG = 0xa,
};

/* Close codes (section 7.4.1) */
#define WEBSOCKET_NORMAL 1000
#define WEBSOCKET_GOING_AWAY 1001
#define WEBSOCKET_PROTOCOL_ERROR 1002
#define WEBSOCKET_POLICY 1008
#define WEBSOCKET_TOO_BIG 1009
#define WEBSOCKET_INTERNAL 1011

/* The largest client frame payload accepted (console input is small). */
#define WEBSOCKET_FRAME_MAX 65536

/* The request asks for a WebSocket (Upgrade: websocket). */
bool websocket__requested(const struct http_request *r);
/* Answers the handshake: 101 with Sec-WebSocket-Accept, then fn owns the
 * socket as http_reply__upgrade says (extra: the first frame bytes). A
 * request without version 13 or a 16-byte key fails (EINVAL). */
int websocket__accept(const struct http_request *r, struct http_reply *rp, http_upgrade_fn fn, void *cls,
		      void (*free_cls)(void *), struct st_err *err);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key + the RFC's GUID)), 29 bytes with the NUL. */
int websocket__accept_key(const char *key, char out[29], struct st_err *err);

/* Frames from the client arrive in pieces: a reader keeps what it has. */
struct websocket_reader {
	uint8_t buf[WEBSOCKET_FRAME_MAX + 14];
	size_t have;
	size_t consumed; /* of the frame websocket__next returned last */
};
struct websocket_frame {
	enum websocket_opcode opcode;
	bool fin;
	uint8_t *data; /* unmasked, in the reader's buffer until the next call */
	size_t len;
};
/* Reads what fd has (one read(2)): 0, or -1 with EPIPE when the peer closed. */
int websocket__fill(struct websocket_reader *rd, int fd, struct st_err *err);
/* The next complete frame: 1 and *f, 0 when more bytes are needed, -1 on a
 * protocol error (*close_code says which code to close with). */
int websocket__next(struct websocket_reader *rd, struct websocket_frame *f, unsigned *close_code, struct st_err *err);

/* One unmasked frame to fd (blocking). */
int websocket__send(int fd, enum websocket_opcode op, const void *data, size_t len, struct st_err *err);
/* A close frame with code and a reason (at most 123 bytes are sent). */
int websocket__close(int fd, unsigned code, const char *reason);

#endif
