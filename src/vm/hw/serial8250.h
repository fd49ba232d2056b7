/* A 16550A UART (COM1) as the guest console, interrupt driven. */
#ifndef STRATA_VM_HW_SERIAL8250_H
#define STRATA_VM_HW_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ  4

struct vm;
struct console;
struct serial8250;

int serial8250__init(struct vm *vm, struct console *out, struct st_err *err);
/* Power-on state (for a reboot: the IRQ line belongs to a new irqchip). */
void serial8250__reset(struct serial8250 *s);
/* Queues input bytes for the guest; returns how many fitted in the FIFO. */
size_t serial8250__receive(struct serial8250 *s, const uint8_t *buf, size_t n);

#endif
