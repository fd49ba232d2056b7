/* Guest side of the Linux test's vsock echo (built static on the host by the
 * test and put on the guest's root disk; busybox has no vsock client):
 *   vsock-echo CID PORT BYTES
 * connects to CID:PORT, sends BYTES bytes of a fixed pattern, reads as many
 * back and says on stdout whether the echo matched, byte for byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 8) + 1); }

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: vsock-echo CID PORT BYTES\n");
		return 2;
	}
	size_t len = strtoul(argv[3], NULL, 10);
	unsigned char *out = malloc(len), *in = malloc(len);
	if (!out || !in)
		return 2;
	for (size_t i = 0; i < len; i++)
		out[i] = pattern(i);
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = (unsigned)atoi(argv[1]),
				 .svm_port = (unsigned)atoi(argv[2])};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("vsock-echo: connect: %s\n", strerror(errno));
		return 1;
	}
	size_t sent = 0, got = 0;
	/* Interleave so that neither side's buffers have to hold the whole echo. */
	while (got < len) {
		if (sent < len) {
			ssize_t n = write(fd, out + sent, len - sent > 4096 ? 4096 : len - sent);
			if (n <= 0) {
				printf("vsock-echo: write: %s\n", strerror(errno));
				return 1;
			}
			sent += (size_t)n;
		}
		while (got < sent) {
			ssize_t n = read(fd, in + got, len - got);
			if (n <= 0) {
				printf("vsock-echo: read after %zu bytes: %s\n", got, n ? strerror(errno) : "EOF");
				return 1;
			}
			got += (size_t)n;
		}
	}
	if (memcmp(in, out, len)) {
		printf("vsock-echo: echo differs\n");
		return 1;
	}
	printf("vsock-echo: %zu bytes echoed intact\n", len);
	return 0;
}
