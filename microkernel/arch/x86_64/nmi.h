// nmi.h: NMI handling and the NMI-based "stop every other CPU" used by panic.
#pragma once

namespace kern::arch {

// Installs the NMI handler and registers nmi_stop_others() with
// set_stop_others_hook() (boot CPU, once).
void nmi_init();
// Stops every other online CPU: the first caller sends an NMI to all but
// itself and waits (bounded) until they parked; a later caller (a second CPU
// failing at the same time) halts for good instead, so one report wins.
void nmi_stop_others();
// CPUs parked by a stop request so far.
unsigned nmi_parked_count();

}  // namespace kern::arch
