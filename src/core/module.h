/*
 * Helpers shared by the hand-written entry points (module-*.c).
 */
#ifndef P11MUX_MODULE_H
#define P11MUX_MODULE_H

#include "conf.h"
#include "router.h"

#define P11MUX_VERSION_MAJOR 0
#define P11MUX_VERSION_MINOR 1

/* A message for the administrator: stderr and syslog. */
void p11mux_module_report(const char *message);

#endif /* P11MUX_MODULE_H */
