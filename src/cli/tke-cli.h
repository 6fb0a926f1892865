/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl: the command-line front end of the ceremonies; its commands and exit codes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The exit codes, documented in docs/cli.md and tkectl(1). */
typedef enum
{
  TKE_CLI_EXIT_OK = 0,
  TKE_CLI_EXIT_FAILED = 1,       /* anything not below */
  TKE_CLI_EXIT_BAD_INPUT = 2,    /* usage, unknown NUM, a value out of range, a missing answer */
  TKE_CLI_EXIT_REFUSED = 3,      /* at least one crypto unit refused the command */
  TKE_CLI_EXIT_CARD = 4,         /* reader or card: none there, wrong PIN, blocked, pulled */
  TKE_CLI_EXIT_CANCELLED = 5,    /* the operator cancelled or declined */
  TKE_CLI_EXIT_UNREACHABLE = 6,  /* a service could not be reached or its certificate changed */
  TKE_CLI_EXIT_KEY_FILE = 7,     /* a key file: wrong password, damaged */
  TKE_CLI_EXIT_UNITS_DIFFER = 8, /* cryptounit-compare: the selected units differ */
} TkeCliExit;

/* Runs tkectl with its command line; returns the exit code. */
int tke_cli_main (int argc, char **argv);
/* The exit code for an error. */
TkeCliExit tke_cli_exit_for_error (const GError *error);

G_END_DECLS
