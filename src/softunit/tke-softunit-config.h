/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a tke-softunit service is told at start: where it listens, where its state lives, which
 * instances and units it hosts. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *name;
  guint operational_units;
  guint failover_units;
} TkeSoftunitInstanceConfig;

typedef struct
{
  char *state_dir;
  char *listen_host;
  guint listen_port;
  char *region;
  char *host;
  GPtrArray *instances; /* TkeSoftunitInstanceConfig */
} TkeSoftunitConfig;

#define TKE_SOFTUNIT_DEFAULT_PORT 8443
#define TKE_SOFTUNIT_MAX_UNITS    64

TkeSoftunitConfig *tke_softunit_config_new (void);
void tke_softunit_config_free (TkeSoftunitConfig *config);
/* Sets one instance with these numbers of units (the quick flags). */
void tke_softunit_config_set_units (TkeSoftunitConfig *config, guint operational, guint failover);
/* "HOST:PORT", "[V6]:PORT" or "HOST"; port 0 means an ephemeral port. */
gboolean tke_softunit_config_set_listen (TkeSoftunitConfig *config, const char *listen,
                                         GError **error);
/* [service] listen, state-dir, region, host; one [instance NAME] group per instance with
 * operational-units and failover-units. */
TkeSoftunitConfig *tke_softunit_config_load (const char *path, GError **error);
gboolean tke_softunit_config_validate (TkeSoftunitConfig *config, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeSoftunitConfig, tke_softunit_config_free)

G_END_DECLS
