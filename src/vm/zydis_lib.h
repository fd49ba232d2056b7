/* Zydis (decoder, encoder, formatter) loaded on first use. Only emulation
 * failures need it — on hardware KVM they never come, and on nested KVM a
 * guest may run long before its first — so a VMM that never assists does
 * not map the library (~170 KiB of RSS) nor resolve it at start-up. */
#ifndef STRATA_VM_ZYDIS_LIB_H
#define STRATA_VM_ZYDIS_LIB_H

#include "common/err.h"

#include <Zydis/Zydis.h>

/* The functions strata-vm uses, named after Zydis' own without the prefix. */
struct zydis_lib {
	ZyanStatus (*DecoderInit)(ZydisDecoder *, ZydisMachineMode, ZydisStackWidth);
	ZyanStatus (*DecoderDecodeFull)(const ZydisDecoder *, const void *, ZyanUSize,
					ZydisDecodedInstruction *, ZydisDecodedOperand *);
	ZyanStatus (*FormatterInit)(ZydisFormatter *, ZydisFormatterStyle);
	ZyanStatus (*FormatterFormatInstruction)(const ZydisFormatter *,
						 const ZydisDecodedInstruction *,
						 const ZydisDecodedOperand *, ZyanU8, char *,
						 ZyanUSize, ZyanU64, void *);
	ZyanStatus (*EncoderDecodedInstructionToEncoderRequest)(const ZydisDecodedInstruction *,
								const ZydisDecodedOperand *,
								ZyanU8, ZydisEncoderRequest *);
	ZyanStatus (*EncoderEncodeInstruction)(const ZydisEncoderRequest *, void *, ZyanUSize *);
	ZydisRegisterClass (*RegisterGetClass)(ZydisRegister);
	ZyanI8 (*RegisterGetId)(ZydisRegister);
	ZydisRegisterWidth (*RegisterGetWidth)(ZydisMachineMode, ZydisRegister);
};

/* Valid once zydis__load() has succeeded. */
extern struct zydis_lib zy;

/* Loads the library the headers belong to (libZydis.so.MAJOR.MINOR) once;
 * thread-safe; later calls return the first call's result. */
int zydis__load(struct st_err *err);

#endif
