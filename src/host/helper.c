#include "host/helper.h"
#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int helper__run(const char *const *argv, char **out, struct st_err *err)
{
	int outp[2], errp[2];
	if (pipe2(outp, O_CLOEXEC) < 0)
		return err__fail_errno(err, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(outp[0]), close(outp[1]);
		return err__fail_errno(err, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* stratad blocks the signals its main thread waits for: a helper (a
	 * daemon like dnsmasq above all) must not inherit that */
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(outp[1]);
	close(errp[1]);
	cleanup_close int ofd = outp[0], efd = errp[0];
	if (rc)
		return err__fail(err, rc, "cannot run %s", argv[0]);
	size_t olen = 0, elen = 0, ocap = 4096;
	char *obuf = malloc(ocap), ebuf[4096];
	/* the tools run here write little on stderr: read stdout to EOF, then stderr */
	for (ssize_t n; obuf && (n = read(ofd, obuf + olen, ocap - olen - 1)) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		olen += (size_t)n;
		if (olen + 1 == ocap) {
			char *bigger = realloc(obuf, ocap *= 2);
			if (!bigger)
				break;
			obuf = bigger;
		}
	}
	for (ssize_t n; (n = read(efd, ebuf + elen, sizeof(ebuf) - elen - 1)) > 0;)
		elen += (size_t)n;
	ebuf[elen] = 0;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (obuf)
		obuf[olen] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		free(obuf);
		while (elen && ebuf[elen - 1] == '\n')
			ebuf[--elen] = 0;
		char *line = strrchr(ebuf, '\n');
		return err__fail_class(err, EIO, "%s", line ? line + 1 : elen ? ebuf : "failed");
	}
	if (out)
		*out = obuf;
	else
		free(obuf);
	return 0;
}

