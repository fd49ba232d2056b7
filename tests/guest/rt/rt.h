/* Runtime shared by the freestanding test guests: PVH boot, long mode,
 * port I/O, serial console, interrupts, ACPI table lookup, small delays.
 * Guests implement guest_main(); its return value becomes the debug-exit
 * code (0 = pass, >= 16 = failure, see docs/vm-machine.md). */
#ifndef STRATA_GUEST_RT_H
#define STRATA_GUEST_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define RT_FAIL 16           /* generic failure exit code */
#define RT_FAIL_EXCEPTION 64 /* + vector, for an unexpected CPU exception */

int guest_main(void);

/* port I/O and MSRs */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* sti's one-instruction shadow makes "sti; hlt" race-free */
static inline void irq_enable_and_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline void rt_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}
/* SSE on: CR0.EM off, CR0.MP on, CR4.OSFXSR and OSXMMEXCPT */
static inline void rt_sse_enable(void)
{
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(1ull << 2)) | (1ull << 1);
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1ull << 9) | (1ull << 10);
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
}
static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

/* libc bits the compiler may call */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* console (COM1, polled output) */
#define COM1 0x3f8
void serial_init(void);
void serial_putc(char c);
void rt_puts(const char *s);
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rt_vprintf(const char *fmt, va_list ap);

/* ends the VM through the debug-exit port; never returns */
#define DEBUG_EXIT_PORT 0xf4
__attribute__((noreturn)) void rt_exit(uint32_t code);
/* prints "FAIL: ..." and exits with RT_FAIL */
__attribute__((noreturn)) void rt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* PVH start info (Xen's struct hvm_start_info, version 1) */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
extern const struct hvm_start_info *rt_start_info;
const char *rt_cmdline(void);
/* value of key=VALUE on the command line, copied into buf; false if absent */
bool rt_cmdline_get(const char *key, char *buf, size_t len);
uint64_t rt_cmdline_u64(const char *key, uint64_t dflt);
bool rt_streq(const char *a, const char *b);

/* interrupts: IDT with handlers for vectors 0..RT_NR_VECTORS-1 */
#define RT_NR_VECTORS 48
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*rt_handler)(struct rt_frame *f);
void idt_init(void);
void idt_load(void); /* on an AP: the IDT idt_init built */
void idt_set_handler(unsigned vector, rt_handler h);

/* local APIC / IOAPIC (in-kernel irqchip) */
extern bool rt_x2apic;
/* switches this CPU's local APIC to x2APIC mode (MSRs); false if CPUID lacks it */
bool lapic_x2apic_enable(void);
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void pic_mask_all(void);
/* routes an ISA IRQ (MADT overrides applied) or a GSI to vector on the BSP */
void ioapic_route_isa_irq(unsigned irq, unsigned vector);
void ioapic_route_gsi(unsigned gsi, unsigned vector, bool level, bool active_low);

/* ACPI */
struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));
#define ACPI_MAX_CPUS 64
struct acpi_info {
	uint64_t rsdp;
	const struct acpi_header *root; /* XSDT, or RSDT for ACPI 1.0 */
	unsigned ncpus;
	uint32_t apic_ids[ACPI_MAX_CPUS];
	uint64_t lapic_addr, ioapic_addr;
	uint32_t ioapic_gsi_base;
	bool have_ioapic;
	/* ISA IRQ -> GSI overrides (type 2) */
	uint32_t isa_gsi[16];
	uint16_t isa_flags[16];
};
extern struct acpi_info rt_acpi;
uint8_t acpi_checksum(const void *p, size_t len);
/* finds the RSDP and parses the MADT; -1 with a printed reason on failure */
int acpi_init(void);
/* n-th table with this signature (n from 0), checksum verified; NULL if none */
const struct acpi_header *acpi_find(const char *sig, unsigned n);

struct acpi_pm {
	uint16_t evt_blk, cnt_blk; /* PM1a */
	uint8_t evt_len;
	uint16_t smi_cmd;
	uint8_t acpi_enable;
	uint16_t sci_irq;
	bool hw_reduced;
	const struct acpi_header *dsdt;
};
/* the PM1a blocks and DSDT from the FADT; -1 with a printed reason */
int acpi_pm_init(struct acpi_pm *pm);
/* SLP_TYPa of \_S5 from the DSDT's AML; -1 if not found */
int acpi_s5_slp_typ(const struct acpi_header *dsdt);
/* routes the SCI (MADT override applied) to vector on the BSP */
void acpi_route_sci(const struct acpi_pm *pm, unsigned vector);
/* switches to ACPI mode through SMI_CMD when the firmware model needs it */
void acpi_enable_sci(const struct acpi_pm *pm);
/* writes SLP_TYP|SLP_EN; returns only if the VM did not power off */
void acpi_poweroff(const struct acpi_pm *pm, int slp_typ);

/* time: PIT channel 2 busy-wait and CMOS RTC */
void rt_udelay(uint32_t us);
struct rtc_time {
	unsigned year, month, day, hour, min, sec;
};
void rtc_read(struct rtc_time *t);

#endif
