/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a tke-softunit service is told at start: where it listens, where its state lives, which
 * instances and units it hosts. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *name; /* NULL: "instance-<suffix>", made at the service's first start */
  guint operational_units;
  guint failover_units;
} TkeSoftunitInstanceConfig;

typedef struct
{
  char *state_dir;
  char *listen_host;
  guint listen_port;
  char *region;
  char *host;           /* NULL: "<host name>-<suffix>", made at the service's first start */
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
/* At the service's first start: the host and the instance names (in the order of
 * config->instances) its units are made with. Where the configuration names none, they differ
 * from every other service's: the machine's host name and a random suffix ("ws1-3f1c",
 * "instance-3f1c"). The service keeps them in its state, with its units. */
void tke_softunit_config_make_names (const TkeSoftunitConfig *config, char **host,
                                     GStrv *instance_names);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeSoftunitConfig, tke_softunit_config_free)

G_END_DECLS
