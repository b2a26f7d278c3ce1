/*
 * ctl_import.h -- ddnsctl export / import (ctl_import.c), and the two
 * helpers ctl_data.c shares with it.
 */
#ifndef DDNS_CTL_IMPORT_H
#define DDNS_CTL_IMPORT_H

#include <stdio.h>

#include "conf.h"
#include "store.h"

/* "ddnsctl: " + the message + a newline, on stderr. */
void ctl_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open the store of C with FLAGS into *S; says why not.  0 or 1. */
int ctl_open(const struct ddns_conf *c, unsigned flags, ddns_store **s);

/* Write the whole store S as JSON lines to F, from one read transaction.
 * Returns ddnsctl's exit status (0 or 1). */
int ctl_export(ddns_store *s, FILE *f);

/* Import FILE (an export, or a CSV of hosts) into S in one write
 * transaction.  Returns ddnsctl's exit status (0, 1, or 2 for bad input). */
int ctl_import(ddns_store *s, const char *file);

#endif
