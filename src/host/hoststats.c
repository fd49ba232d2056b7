/* The dashboard's samples; see hoststats.h. */
#include "host/hoststats.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* The kernel's running totals at one moment. */
struct counters {
	uint64_t cpu_busy, cpu_total;
	uint64_t disk_read, disk_write; /* bytes */
	uint64_t net_rx, net_tx;        /* bytes */
};

struct sample {
	int64_t t_ms;
	double cpu;
	uint64_t mem_total, mem_used;
	uint64_t disk_read, disk_write, net_rx, net_tx; /* per second */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static pthread_t thread;
static bool running, stopping;
static struct sample ring[HOSTSTATS_KEEP];
static size_t ring_next, ring_len;

static int64_t epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /proc/stat's first line: cpu user nice system idle iowait irq softirq steal ... */
static void read_cpu(struct counters *c)
{
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[8] = {0};
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			&v[6], &v[7]) == 8) {
		c->cpu_total = 0;
		for (int i = 0; i < 8; i++)
			c->cpu_total += v[i];
		c->cpu_busy = c->cpu_total - v[3] - v[4]; /* idle and iowait are not busy */
	}
	if (f)
		fclose(f);
}

static void read_mem(struct sample *s)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb, total = 0, avail = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			total = kb;
		else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			avail = kb;
	}
	if (f)
		fclose(f);
	s->mem_total = total * 1024;
	s->mem_used = (total - (avail < total ? avail : total)) * 1024;
}

/* Every interface but loopback: what the host sends and receives. */
static void read_net(struct counters *c)
{
	FILE *f = fopen("/proc/net/dev", "re");
	char line[512], name[64];
	unsigned long long rx, tx, skip;
	c->net_rx = c->net_tx = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* the two header lines */
		*colon = ' ';
		if (sscanf(line, " %63s %llu %llu %llu %llu %llu %llu %llu %llu %llu", name, &rx, &skip, &skip, &skip,
			   &skip, &skip, &skip, &skip, &tx) == 10 && strcmp(name, "lo")) {
			c->net_rx += rx;
			c->net_tx += tx;
		}
	}
	if (f)
		fclose(f);
}

/* Whole disks only (a partition's sectors are its disk's too); no loop or RAM disks. */
static bool whole_disk(const char *name)
{
	char path[128];
	if (!strncmp(name, "loop", 4) || !strncmp(name, "ram", 3) || !strncmp(name, "zram", 4))
		return false;
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	return access(path, F_OK) == 0;
}

/* /proc/diskstats: major minor name reads merged sectors_read ms writes merged sectors_written ... */
static void read_disk(struct counters *c)
{
	FILE *f = fopen("/proc/diskstats", "re");
	char line[512], name[64];
	unsigned major, minor;
	unsigned long long rd, wr, skip;
	c->disk_read = c->disk_write = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %u %u %63s %llu %llu %llu %llu %llu %llu %llu", &major, &minor, name, &skip, &skip, &rd,
			   &skip, &skip, &skip, &wr) == 10 && whole_disk(name)) {
			c->disk_read += rd * 512;
			c->disk_write += wr * 512;
		}
	}
	if (f)
		fclose(f);
}

static void read_counters(struct counters *c)
{
	read_cpu(c);
	read_net(c);
	read_disk(c);
}

static uint64_t rate(uint64_t now, uint64_t before, int64_t ms)
{
	return now < before || ms <= 0 ? 0 : (now - before) * 1000 / (uint64_t)ms;
}

static void take(const struct counters *prev, const struct counters *cur, int64_t prev_ms, int64_t now_ms)
{
	struct sample s = {.t_ms = now_ms};
	int64_t ms = now_ms - prev_ms;
	uint64_t dt = cur->cpu_total - prev->cpu_total;
	s.cpu = dt ? (double)(cur->cpu_busy - prev->cpu_busy) / (double)dt : 0;
	read_mem(&s);
	s.disk_read = rate(cur->disk_read, prev->disk_read, ms);
	s.disk_write = rate(cur->disk_write, prev->disk_write, ms);
	s.net_rx = rate(cur->net_rx, prev->net_rx, ms);
	s.net_tx = rate(cur->net_tx, prev->net_tx, ms);
	pthread_mutex_lock(&lock);
	ring[ring_next] = s;
	ring_next = (ring_next + 1) % HOSTSTATS_KEEP;
	if (ring_len < HOSTSTATS_KEEP)
		ring_len++;
	pthread_mutex_unlock(&lock);
}

static void *sampler(void *arg)
{
	(void)arg;
	struct counters prev = {0}, cur;
	read_counters(&prev);
	int64_t prev_ms = epoch_ms();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&lock);
	while (!stopping) {
		next.tv_sec += HOSTSTATS_INTERVAL_MS / 1000;
		while (!stopping && pthread_cond_timedwait(&wake, &lock, &next) != ETIMEDOUT)
			;
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		cur = (struct counters){0};
		read_counters(&cur);
		int64_t now_ms = epoch_ms();
		take(&prev, &cur, prev_ms, now_ms);
		prev = cur;
		prev_ms = now_ms;
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int hoststats__start(struct st_err *err)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	stopping = false;
	ring_len = ring_next = 0;
	int rc = pthread_create(&thread, NULL, sampler, NULL);
	if (rc)
		return err__fail(err, rc, "the host statistics thread");
	running = true;
	return 0;
}

void hoststats__stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_cond_destroy(&wake);
	running = false;
}

json_t *hoststats__since(int64_t since_ms)
{
	static const char *const names[] = {"t", "cpu", "mem_total", "mem_used", "disk_read", "disk_write", "net_rx",
					    "net_tx"};
	json_t *col[8];
	for (size_t i = 0; i < 8; i++)
		col[i] = json_array();
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ring_len; i++) {
		const struct sample *s = &ring[(ring_next + HOSTSTATS_KEEP - ring_len + i) % HOSTSTATS_KEEP];
		if (s->t_ms <= since_ms)
			continue;
		json_array_append_new(col[0], json_integer(s->t_ms));
		json_array_append_new(col[1], json_real(s->cpu));
		const uint64_t v[6] = {s->mem_total, s->mem_used, s->disk_read, s->disk_write, s->net_rx, s->net_tx};
		for (size_t k = 0; k < 6; k++)
			json_array_append_new(col[k + 2], json_integer((json_int_t)v[k]));
	}
	pthread_mutex_unlock(&lock);
	json_t *o = json_pack("{s:i}", "interval_ms", HOSTSTATS_INTERVAL_MS);
	for (size_t i = 0; i < 8; i++)
		json_object_set_new(o, names[i], col[i]);
	return o;
}
