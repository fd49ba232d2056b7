/* Runtime core: start-up, libc bits, console, command line, exit. */
#include "rt.h"

const struct hvm_start_info *rt_start_info;

void *memcpy(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	char *d = dst;
	while (n--)
		*d++ = (char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

bool rt_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts until a guest asks */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 (IRQ line enable) */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + 5) & 0x20)) /* THR empty */
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_num(uint64_t v, unsigned base, int width, char pad, bool neg)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (n < width)
		serial_putc(pad), width--;
	while (n)
		serial_putc(buf[--n]);
}

/* %s %c %d %u %x %p with optional 0-padding width and the l/ll modifiers */
void rt_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			rt_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, false);
			break;
		case 'x':
			put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, false);
			break;
		case 'p':
			rt_puts("0x");
			put_num((uint64_t)va_arg(ap, void *), 16, width, pad, false);
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			serial_putc('?');
		}
	}
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
}

void rt_exit(uint32_t code)
{
	if (code > 0xff)
		outl(DEBUG_EXIT_PORT, code);
	else
		outb(DEBUG_EXIT_PORT, (uint8_t)code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void rt_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_puts("FAIL: ");
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_puts("\n");
	rt_exit(RT_FAIL);
}

const char *rt_cmdline(void)
{
	if (!rt_start_info || !rt_start_info->cmdline_paddr)
		return "";
	return (const char *)rt_start_info->cmdline_paddr;
}

bool rt_cmdline_get(const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = rt_cmdline();
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) > klen && !memcmp(word, key, klen) && word[klen] == '=') {
			size_t n = 0;
			for (const char *v = word + klen + 1; v < p && n + 1 < len; v++)
				buf[n++] = *v;
			buf[n] = 0;
			return true;
		}
	}
	return false;
}

uint64_t rt_cmdline_u64(const char *key, uint64_t dflt)
{
	char buf[24];
	if (!rt_cmdline_get(key, buf, sizeof(buf)))
		return dflt;
	uint64_t v = 0;
	const char *s = buf;
	unsigned base = 10;
	if (s[0] == '0' && s[1] == 'x')
		base = 16, s += 2;
	for (; *s; s++) {
		unsigned d = (*s >= '0' && *s <= '9') ? (unsigned)(*s - '0')
			     : (*s >= 'a' && *s <= 'f') ? (unsigned)(*s - 'a' + 10) : 99;
		if (d >= base)
			rt_fail("cmdline: %s=%s is not a number", key, buf);
		v = v * base + d;
	}
	return v;
}

extern uint32_t rt_multiboot_magic, rt_multiboot_info;

void rt_start(uint32_t start_info_paddr);
void rt_start(uint32_t start_info_paddr)
{
	serial_init();
	if (rt_multiboot_magic || rt_multiboot_info) /* entered at rt_mb_start */
		rt_exit((uint32_t)guest_main());
	const struct hvm_start_info *si = (const void *)(uint64_t)start_info_paddr;
	if (!si || si->magic != HVM_START_MAGIC)
		rt_fail("hvm_start_info at %p has magic %x, expected %x", (void *)si,
			si ? si->magic : 0, HVM_START_MAGIC);
	rt_start_info = si;
	rt_exit((uint32_t)guest_main());
}
