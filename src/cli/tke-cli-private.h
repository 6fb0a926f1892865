/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What tkectl's command files share: the run's state, option parsing and output helpers. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-ceremony.h"
#include "tke-cli-config.h"
#include "tke-cli.h"
#include "tke-piv-client.h"
#include "tke-reader-manager.h"
#include "tke-terminal-prompter.h"

G_BEGIN_DECLS

/* Which common options a command takes. */
typedef enum
{
  TKE_CLI_OPT_JSON = 1 << 0,
  TKE_CLI_OPT_PINS = 1 << 1,     /* --pin-file, --card-timeout */
  TKE_CLI_OPT_READERS = 1 << 2,  /* --reader1, --reader2 */
  TKE_CLI_OPT_YES = 1 << 3,      /* --yes */
  TKE_CLI_OPT_PASSWORD = 1 << 4, /* --password-file */
  TKE_CLI_OPT_FILES = 1 << 5,    /* --files-dir */
} TkeCliOptions;

typedef struct
{
  const char *command;
  TkeCliConfig *config;
  GCancellable *cancellable;
  gboolean interactive;

  gboolean json;
  gboolean yes;
  char *pin_file;
  char *password_file;
  char *reader1;
  char *reader2;
  char *files_dir;
  gint card_timeout;

  TkeTerminalPrompter *prompter;
  /* The lines of --password-file, used one per file in the order files are opened. */
  GQueue *passwords;
  /* What to exit with when the command succeeded (cryptounit-compare: the units differ). */
  TkeCliExit exit_code;
} TkeCli;

typedef gboolean (*TkeCliCommandFunc) (TkeCli *cli, int argc, char **argv, GError **error);

typedef struct
{
  const char *name;
  TkeCliCommandFunc func;
  const char *summary;
} TkeCliCommand;

/* Parses argv for the command with its own entries plus the common ones of options; --help
 * prints and exits. Makes cli->prompter from the common options. */
gboolean tke_cli_parse (TkeCli *cli, const GOptionEntry *entries, const char *parameters,
                        const char *description, TkeCliOptions options, int *argc, char ***argv,
                        GError **error);
/* A usage error (exit 2) that names the command's --help. */
gboolean tke_cli_bad_input (TkeCli *cli, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
/* Prints a JSON value on stdout, indented. */
void tke_cli_print_json (json_t *value);
/* Saves the configuration. */
gboolean tke_cli_save_config (TkeCli *cli, GError **error);
/* Reads a password: the next line of --password-file (a file, or - for stdin), else from the
 * terminal with echo off (asked twice when confirm). */
TkeSecret *tke_cli_read_password (TkeCli *cli, const char *prompt, gboolean confirm,
                                  GError **error);
/* The files directory (--files-dir, $TKE_FILES or the default), created private. */
char *tke_cli_files_dir (TkeCli *cli, GError **error);

/* Units: all units of all services, numbered 1..n in the order of services (TkeCeremonyUnit). */
GPtrArray *tke_cli_list_units (TkeCli *cli, GError **error);
/* The selected units among them; an error when none is selected. */
GPtrArray *tke_cli_selected_units (TkeCli *cli, GError **error);
/* The state of each unit (json_t, in order); an unreachable one fails the call. */
GPtrArray *tke_cli_unit_states (TkeCli *cli, GPtrArray *units, GError **error);
/* Runs a ceremony operation through the engine with the terminal prompter, prints its result and
 * returns FALSE with an error when any unit refused or could not be reached. */
gboolean tke_cli_run_ceremony (TkeCli *cli, TkeCeremonyOp op, json_t *params, GError **error);

/* A FILE argument: a path when it has a slash, else a name in the files directory (with or
 * without suffix); an error when there is no such file. */
char *tke_cli_resolve_file (TkeCli *cli, const char *arg, const char *suffix, GError **error);
/* The readers, sorted by name (TkeReaderStatus). */
GPtrArray *tke_cli_list_readers (TkeReaderManager *readers, GError **error);
/* Connects to the card in the reader of role (1 or 2); when there is none, says what to insert
 * (wanted) and waits for it (bounded by --card-timeout, cancelled by Ctrl+C), or fails when
 * wanted is NULL. */
TkePivClient *tke_cli_connect_card (TkeCli *cli, TkeReaderManager *readers, guint role,
                                    const char *wanted, char **reader_name, GError **error);
/* Prints an operation's result (table or JSON) and fails with TKE_ERROR_UNIT_REFUSED or
 * TKE_ERROR_UNIT_UNREACHABLE when a unit did not accept it. */
gboolean tke_cli_report_result (TkeCli *cli, const TkeCeremonyResult *result, GError **error);
/* Whether the operation signs with the selected signature key files instead of cards. */
gboolean tke_cli_signs_with_files (TkeCli *cli);
/* Runs a unit operation signed by the selected signature key files (tke-cli-file-ceremony.c):
 * admin_file is the new administrator's signature key file (admin-add), part_files the key part
 * files (mk-load). */
gboolean tke_cli_run_with_files (TkeCli *cli, TkeCeremonyOp op, json_t *params,
                                 const char *admin_file, char **part_files, GError **error);

extern const TkeCliCommand tke_cli_unit_commands[];
extern const TkeCliCommand tke_cli_card_commands[];
extern const TkeCliCommand tke_cli_file_commands[];

G_END_DECLS
