/* Static files for the web UI; see web_static.h. */
#include "host/web_static.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/http_path.h"

#define WEB_PATH_MAX 512

static const struct {
	const char *ext, *ctype;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".map", "application/json"},
};

const char *web_static__content_type(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && !strcmp(name + n - e, types[i].ext))
			return types[i].ctype;
	}
	return "application/octet-stream";
}

/* The raw path as a relative file name: each segment decoded and checked. */
static int relative_name(const char *raw, char *out, size_t size, struct st_err *err)
{
	size_t n = 0;
	out[0] = 0;
	for (const char *p = raw; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		cleanup_free char *seg = NULL;
		if (http_path__decode(p, len, true, false, &seg, err) < 0)
			return err__fail_class(err, EINVAL, "bad path: %s", err->msg);
		if (!strcmp(seg, ".") || !strcmp(seg, "..") || strchr(seg, '\\') || seg[0] == '.')
			return err__fail_class(err, EINVAL, "bad path: no '.', '..' or hidden segments");
		int w = snprintf(out + n, size - n, "%s%s", n ? "/" : "", seg);
		if (w < 0 || (size_t)w >= size - n)
			return err__fail_class(err, EINVAL, "path too long");
		n += (size_t)w;
		p += len;
	}
	if (!n || raw[strlen(raw) - 1] == '/') { /* a directory: its index.html */
		int w = snprintf(out + n, size - n, "%sindex.html", n ? "/" : "");
		if (w < 0 || (size_t)w >= size - n)
			return err__fail_class(err, EINVAL, "path too long");
	}
	return 0;
}

static int open_beneath(const char *root_dir, const char *name, struct st_err *err)
{
	cleanup_close int dir = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return err__fail_class(err, ENOENT, "the web UI is not installed (%s: %s)", root_dir, strerror(errno));
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));
	if (fd < 0)
		/* outside the tree (EXDEV), missing, or not ours to read: all "no such file" */
		return err__fail_class(err, ENOENT, "no such file: /%s", name);
	return fd;
}

int web_static__serve(struct http_request *r, struct http_reply *rp, const char *root_dir, struct st_err *err)
{
	const char *method = http_request__method(r);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return http_reply__error(rp, 405, "the web UI's files are read with GET");
	char name[WEB_PATH_MAX];
	if (relative_name(http_request__path(r), name, sizeof(name), err) < 0)
		return -1;
	cleanup_close int fd = open_beneath(root_dir, name, err);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err__fail_class(err, ENOENT, "no such file: /%s", name);
	char etag[64];
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
	const char *inm = http_request__header(r, "If-None-Match");
	if (inm && !strcmp(inm, etag)) {
		http_reply__text(rp, 304, NULL, strdup(""));
	} else {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		http_reply__file(rp, 200, web_static__content_type(name), fd, (uint64_t)st.st_size);
		fd = -1; /* the reply owns it */
	}
	/* always revalidated: a new stratad's page never mixes with an old cached module */
	http_reply__header(rp, "Cache-Control", "no-cache");
	http_reply__header(rp, "ETag", etag);
	http_reply__header(rp, "X-Content-Type-Options", "nosniff");
	http_reply__header(rp, "X-Frame-Options", "DENY");
	http_reply__header(rp, "Referrer-Policy", "no-referrer");
	/* styles may be inline: xterm.js (the console) sets its theme and cell
	 * sizes in <style> elements it makes; scripts stay 'self' only */
	http_reply__header(rp, "Content-Security-Policy",
			   "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
			   "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
			   "form-action 'self'");
	return 0;
}
