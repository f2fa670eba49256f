/*
 * Trying a backend where it cannot hurt: in a forked child, with a timeout
 * (p11mux check-config --load, p11mux list).  A backend that hangs, crashes
 * or exits then takes the child, never the command.
 */
#ifndef P11MUX_CLI_PROBE_H
#define P11MUX_CLI_PROBE_H

#include <glib.h>

#include "conf.h"

typedef enum {
    P11MUX_PROBE_LOADED,  /* loaded and initialised */
    P11MUX_PROBE_FAILED,  /* it answered, with an error */
    P11MUX_PROBE_HUNG,    /* no answer within the timeout (the child is killed) */
    P11MUX_PROBE_CRASHED, /* the child died of a signal */
    P11MUX_PROBE_EXITED,  /* the child exited before answering */
} P11muxProbeOutcome;

typedef struct {
    P11muxProbeOutcome outcome;
    char *interface; /* loaded: "3.2", "3.0" or "2.40" */
    guint slots;     /* loaded: slots, and slots with a token */
    guint tokens;
    gint64 elapsed_ms;
    char *error; /* failed: why (a CKR_ name where the backend gave one) */
    int signal;  /* crashed */
    int status;  /* exited */
} P11muxProbe;

void p11mux_probe_free(P11muxProbe *probe);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(P11muxProbe, p11mux_probe_free)

/*
 * Load and initialise the backend conf names name, alone, as the module
 * would (its init string, its interface), in a forked child; the child is
 * killed after timeout_ms.  conf is not changed.  transfer full.
 */
P11muxProbe *p11mux_probe_backend(const P11muxConf *conf, const char *name, guint timeout_ms);

/* "loaded (interface 3.0, 2 slots, 2 tokens, 12 ms)", "failed: ...", "hung
 * (no answer within 10000 ms)", "crashed (SIGSEGV)", "exited (status 3)"
 * (transfer full). */
char *p11mux_probe_describe(const P11muxProbe *probe, guint timeout_ms);

/* Whether the backend can be loaded in this process: it answered. */
static inline gboolean
p11mux_probe_answered(const P11muxProbe *probe)
{
    return probe->outcome == P11MUX_PROBE_LOADED || probe->outcome == P11MUX_PROBE_FAILED;
}

#endif /* P11MUX_CLI_PROBE_H */
