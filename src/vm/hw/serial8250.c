/* 16550A register model (National Semiconductor datasheet): a 64-byte receive
 * FIFO fed by the console, transmit straight to the console, and the IRQ line
 * kept in step with IIR so that the guest driver can run interrupt driven. */
#include "vm/hw/serial8250.h"
#include "vm/console.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

enum { RBR_THR = 0, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define IER_RDI    0x01
#define IER_THRI   0x02
#define IIR_NONE   0x01
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_FIFO   0xc0
#define FCR_ENABLE 0x01
#define FCR_CLR_RX 0x02
#define LCR_DLAB   0x80
#define MCR_LOOP   0x10
#define LSR_DR     0x01
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_DCD_DSR_CTS 0xb0
#define RX_FIFO    64

struct serial8250 {
	struct vm *vm;
	struct console *out;
	pthread_mutex_t lock;
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	int thr_pending;       /* "transmitter empty" interrupt not yet acknowledged */
	int irq_level;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_len;
};

static uint8_t serial__iir(const struct serial8250 *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static void serial__update_irq(struct serial8250 *s)
{
	int level = !(serial__iir(s) & IIR_NONE);
	if (level != s->irq_level) {
		s->irq_level = level;
		kvm__irq_line(&s->vm->kvm, COM1_IRQ, level);
	}
}

static void serial__rx_push(struct serial8250 *s, uint8_t b)
{
	if (s->rx_len < RX_FIFO)
		s->rx[(s->rx_head + s->rx_len++) % RX_FIFO] = b;
}

static uint8_t serial__read(struct serial8250 *s, unsigned reg)
{
	uint8_t v;
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO;
		s->rx_len--;
		return v;
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = serial__iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_pending = 0; /* reading IIR acknowledges THRE */
		return v;
	case LCR: return s->lcr;
	case MCR: return s->mcr;
	case LSR: return LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
	case MSR:
		if (s->mcr & MCR_LOOP) /* modem outputs looped back to inputs */
			return (uint8_t)(((s->mcr & 0x0c) << 4) | ((s->mcr & 0x02) << 3) |
					 ((s->mcr & 0x01) << 5));
		return MSR_DCD_DSR_CTS;
	default: return s->scr;
	}
}

static void serial__write(struct serial8250 *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			serial__rx_push(s, v);
		else
			console__write(s->out, &v, 1);
		s->thr_pending = 1; /* transmitted at once: THR is empty again */
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_pending = 1; /* enabling THRE with an empty THR interrupts */
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		if (v & FCR_CLR_RX)
			s->rx_len = 0;
		s->fcr = v & (FCR_ENABLE | 0xc0);
		break;
	case LCR: s->lcr = v; break;
	case MCR: s->mcr = v & 0x1f; break;
	case SCR: s->scr = v; break;
	default: break;
	}
}

static void serial__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	struct serial8250 *s = opaque;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned reg = (unsigned)(port - COM1_PORT + i) & 7;
		if (is_write)
			serial__write(s, reg, data[i]);
		else
			data[i] = serial__read(s, reg);
	}
	serial__update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial8250__receive(struct serial8250 *s, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&s->lock);
	size_t taken = 0;
	/* In loopback the line is disconnected from the outside. */
	while (!(s->mcr & MCR_LOOP) && taken < n && s->rx_len < RX_FIFO)
		serial__rx_push(s, buf[taken++]);
	serial__update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

void serial8250__reset(struct serial8250 *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = s->fcr = s->lcr = s->mcr = s->scr = s->dll = s->dlm = 0;
	s->thr_pending = s->irq_level = 0;
	s->rx_head = s->rx_len = 0;
	pthread_mutex_unlock(&s->lock);
}

int serial8250__init(struct vm *vm, struct console *out, struct st_err *err)
{
	struct serial8250 *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "serial");
	s->vm = vm;
	s->out = out;
	pthread_mutex_init(&s->lock, NULL);
	vm->serial = s;
	return io__register(&vm->io, COM1_PORT, 8, serial__io, s, err);
}
