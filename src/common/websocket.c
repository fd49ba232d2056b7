#include "common/websocket.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/util.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* A header's comma-separated tokens include tok (case-insensitively). */
static bool has_token(const char *value, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = value; p && *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, ",");
		size_t end = len;
		while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (end == n && !strncasecmp(p, tok, n))
			return true;
		p += len;
	}
	return false;
}

bool websocket__requested(const struct http_request *r)
{
	const char *up = http_request__header(r, "Upgrade");
	return up && has_token(up, "websocket");
}

int websocket__accept_key(const char *key, char out[29], struct st_err *err)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	if (!key || base64__decode(BASE64_STD, key, strlen(key), &raw, &raw_len, err) < 0 || raw_len != 16) {
		free(raw);
		return err__fail_class(err, EINVAL, "Sec-WebSocket-Key must be 16 bytes in base64");
	}
	free(raw);
	char joined[128];
	uint8_t sha[20];
	int n = snprintf(joined, sizeof(joined), "%s%s", key, GUID);
	if (n < 0 || (size_t)n >= sizeof(joined) || gnutls_hash_fast(GNUTLS_DIG_SHA1, joined, (size_t)n, sha) < 0)
		return err__fail(err, 0, "Sec-WebSocket-Accept");
	cleanup_free char *b64 = NULL;
	if (base64__encode(BASE64_STD, sha, sizeof(sha), 1, &b64, err) < 0)
		return -1;
	snprintf(out, 29, "%s", b64);
	return 0;
}

int websocket__accept(const struct http_request *r, struct http_reply *rp, http_upgrade_fn fn, void *cls,
		      void (*free_cls)(void *), struct st_err *err)
{
	const char *conn = http_request__header(r, "Connection"), *ver = http_request__header(r, "Sec-WebSocket-Version");
	char accept[29];
	if (strcmp(http_request__method(r), "GET") || !conn || !has_token(conn, "upgrade"))
		err__fail_class(err, EINVAL, "a WebSocket handshake is a GET with Connection: Upgrade");
	else if (!ver || strcmp(ver, "13"))
		err__fail_class(err, EINVAL, "Sec-WebSocket-Version must be 13");
	else if (websocket__accept_key(http_request__header(r, "Sec-WebSocket-Key"), accept, err) == 0) {
		http_reply__upgrade(rp, "websocket", fn, cls, free_cls);
		http_reply__header(rp, "Sec-WebSocket-Accept", accept);
		return 0;
	}
	if (free_cls)
		free_cls(cls);
	return -1;
}

int websocket__fill(struct websocket_reader *rd, int fd, struct st_err *err)
{
	if (rd->consumed) { /* drop the frame handed out last */
		memmove(rd->buf, rd->buf + rd->consumed, rd->have - rd->consumed);
		rd->have -= rd->consumed;
		rd->consumed = 0;
	}
	if (rd->have == sizeof(rd->buf))
		return 0;
	ssize_t n = read(fd, rd->buf + rd->have, sizeof(rd->buf) - rd->have);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return err__fail_errno(err, "websocket read");
	if (n == 0)
		return err__fail(err, EPIPE, "the client closed the connection");
	rd->have += (size_t)n;
	return 0;
}

int websocket__next(struct websocket_reader *rd, struct websocket_frame *f, unsigned *close_code, struct st_err *err)
{
	if (rd->consumed) {
		memmove(rd->buf, rd->buf + rd->consumed, rd->have - rd->consumed);
		rd->have -= rd->consumed;
		rd->consumed = 0;
	}
	uint8_t *b = rd->buf;
	if (rd->have < 2)
		return 0;
	*close_code = WEBSOCKET_PROTOCOL_ERROR;
	if (b[0] & 0x70)
		return err__fail_class(err, EINVAL, "a frame with reserved bits set (no extension was agreed)");
	if (!(b[1] & 0x80))
		return err__fail_class(err, EINVAL, "a client frame must be masked");
	size_t head = 2;
	uint64_t len = b[1] & 0x7f;
	if (len == 126) {
		if (rd->have < 4)
			return 0;
		len = (uint64_t)b[2] << 8 | b[3];
		head = 4;
	} else if (len == 127) {
		if (rd->have < 10)
			return 0;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | b[i];
		head = 10;
	}
	unsigned op = b[0] & 0x0f;
	if (op >= WEBSOCKET_CLOSE && (len > 125 || !(b[0] & 0x80)))
		return err__fail_class(err, EINVAL, "a control frame of over 125 bytes or fragmented");
	if (len > WEBSOCKET_FRAME_MAX) {
		*close_code = WEBSOCKET_TOO_BIG;
		return err__fail_class(err, E2BIG, "a frame of %llu bytes (at most %d)", (unsigned long long)len,
				       WEBSOCKET_FRAME_MAX);
	}
	if (op != WEBSOCKET_CONTINUATION && op != WEBSOCKET_TEXT && op != WEBSOCKET_BINARY && op != WEBSOCKET_CLOSE &&
	    op != WEBSOCKET_PING && op != WEBSOCKET_PONG)
		return err__fail_class(err, EINVAL, "unknown opcode %u", op);
	if (rd->have < head + 4 + len)
		return 0;
	const uint8_t *mask = b + head;
	uint8_t *data = b + head + 4;
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[i % 4];
	*f = (struct websocket_frame){.opcode = (enum websocket_opcode)op, .fin = b[0] & 0x80, .data = data, .len = len};
	rd->consumed = head + 4 + len;
	return 1;
}

int websocket__send(int fd, enum websocket_opcode op, const void *data, size_t len, struct st_err *err)
{
	uint8_t head[10];
	size_t n = 2;
	head[0] = 0x80 | (uint8_t)op;
	if (len < 126) {
		head[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		head[1] = 126;
		head[2] = (uint8_t)(len >> 8);
		head[3] = (uint8_t)len;
		n = 4;
	} else {
		head[1] = 127;
		for (int i = 0; i < 8; i++)
			head[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	if (util__write_all(fd, head, n, err) < 0 || (len && util__write_all(fd, data, len, err) < 0))
		return -1;
	return 0;
}

int websocket__close(int fd, unsigned code, const char *reason)
{
	uint8_t body[125];
	size_t n = strlen(reason);
	if (n > sizeof(body) - 2)
		n = sizeof(body) - 2;
	body[0] = (uint8_t)(code >> 8);
	body[1] = (uint8_t)code;
	memcpy(body + 2, reason, n);
	return websocket__send(fd, WEBSOCKET_CLOSE, body, n + 2, NULL);
}
