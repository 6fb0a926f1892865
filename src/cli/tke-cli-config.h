/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What tkectl remembers between runs: the services (URL, pinned fingerprint, API key), the
 * selected crypto units and signature key files, and the readers, in a private config dir. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *url;
  char *fingerprint;
  char *api_key;
} TkeCliService;

typedef struct
{
  char *dir;
  GPtrArray *services; /* TkeCliService */
  GPtrArray *units;    /* selected units: ids (strings) */
  GPtrArray *sigkeys;  /* selected signature key files: paths */
  char *reader1;
  char *reader2;
} TkeCliConfig;

void tke_cli_config_free (TkeCliConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeCliConfig, tke_cli_config_free)

/* $TKE_CONFIG_DIR, else $XDG_CONFIG_HOME/opentke. */
char *tke_cli_config_get_default_dir (void);
/* Reads dir/config.json (an absent file is an empty configuration). */
TkeCliConfig *tke_cli_config_load (const char *dir, GError **error);
/* Writes it atomically: the dir 0700, the file 0600 (it holds API keys). */
gboolean tke_cli_config_save (TkeCliConfig *config, GError **error);
gboolean tke_cli_config_has_unit (TkeCliConfig *config, const char *id);

G_END_DECLS
