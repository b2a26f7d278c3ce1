/*
 * ctl_data.h -- ddnsctl's whole-store commands: migrate, backup, restore,
 * export, import (ctl_data.c).  They open the store their own way (or,
 * restore, not at all), so ddnsctl.c hands them the command line as is.
 */
#ifndef DDNS_CTL_DATA_H
#define DDNS_CTL_DATA_H

#include <stdbool.h>
#include <stdio.h>

/* True if WORD names one of these commands. */
bool ctl_data_is_cmd(const char *word);

/* Their lines of ddnsctl's usage text, written to F. */
void ctl_data_usage(FILE *f);

/*
 * Run the command in ARGV[0] (ARGC words, options included) with the
 * configuration file CONF (may be NULL: a usage error).  Returns
 * ddnsctl's exit status: 0 done, 1 failed, 2 usage or configuration.
 */
int ctl_data_main(const char *conf, int argc, char **argv);

#endif
