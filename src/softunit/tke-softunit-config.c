/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The service configuration from a GKeyFile or from the quick command-line flags. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tke-error.h"
#include "tke-softunit-config.h"

static void
instance_free (gpointer data)
{
  TkeSoftunitInstanceConfig *instance = data;

  g_free (instance->name);
  g_free (instance);
}

TkeSoftunitConfig *
tke_softunit_config_new (void)
{
  TkeSoftunitConfig *config = g_new0 (TkeSoftunitConfig, 1);

  config->listen_host = g_strdup ("127.0.0.1");
  config->listen_port = TKE_SOFTUNIT_DEFAULT_PORT;
  config->region = g_strdup ("local");
  config->instances = g_ptr_array_new_with_free_func (instance_free);
  return config;
}

void
tke_softunit_config_free (TkeSoftunitConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->state_dir);
  g_free (config->listen_host);
  g_free (config->region);
  g_free (config->host);
  g_ptr_array_unref (config->instances);
  g_free (config);
}

static void
add_instance (TkeSoftunitConfig *config, const char *name, guint operational, guint failover)
{
  TkeSoftunitInstanceConfig *instance = g_new0 (TkeSoftunitInstanceConfig, 1);

  instance->name = g_strdup (name);
  instance->operational_units = operational;
  instance->failover_units = failover;
  g_ptr_array_add (config->instances, instance);
}

void
tke_softunit_config_set_units (TkeSoftunitConfig *config, guint operational, guint failover)
{
  g_return_if_fail (config != NULL);

  g_ptr_array_set_size (config->instances, 0);
  add_instance (config, NULL, operational, failover);
}

gboolean
tke_softunit_config_set_listen (TkeSoftunitConfig *config, const char *listen, GError **error)
{
  g_autofree char *host = NULL;
  const char *colon;
  guint64 port = TKE_SOFTUNIT_DEFAULT_PORT;

  if (listen == NULL || *listen == '\0')
    goto bad;
  if (listen[0] == '[')
    {
      const char *end = strchr (listen, ']');

      if (end == NULL)
        goto bad;
      host = g_strndup (listen + 1, end - listen - 1);
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        goto bad;
    }
  else
    {
      colon = strrchr (listen, ':');
      host = colon != NULL ? g_strndup (listen, colon - listen) : g_strdup (listen);
    }
  if (colon != NULL && !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    goto bad;
  if (*host == '\0')
    goto bad;
  g_free (config->listen_host);
  config->listen_host = g_steal_pointer (&host);
  config->listen_port = port;
  return TRUE;

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               "The listen address \"%s\" is not HOST:PORT (port 0 picks a free port).",
               listen != NULL ? listen : "");
  return FALSE;
}

TkeSoftunitConfig *
tke_softunit_config_load (const char *path, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (TkeSoftunitConfig) config = tke_softunit_config_new ();
  g_auto (GStrv) groups = NULL;
  g_autofree char *listen = NULL;
  char *value;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return NULL;
  listen = g_key_file_get_string (file, "service", "listen", NULL);
  if (listen != NULL && !tke_softunit_config_set_listen (config, listen, error))
    return NULL;
  if ((value = g_key_file_get_string (file, "service", "state-dir", NULL)) != NULL)
    {
      g_free (config->state_dir);
      config->state_dir = value;
    }
  if ((value = g_key_file_get_string (file, "service", "region", NULL)) != NULL)
    {
      g_free (config->region);
      config->region = value;
    }
  if ((value = g_key_file_get_string (file, "service", "host", NULL)) != NULL)
    {
      g_free (config->host);
      config->host = value;
    }
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autoptr (GError) local = NULL;
      gint operational, failover;

      if (!g_str_has_prefix (groups[i], "instance "))
        continue;
      operational = g_key_file_get_integer (file, groups[i], "operational-units", &local);
      if (local == NULL)
        failover = g_key_file_get_integer (file, groups[i], "failover-units", &local);
      if (local != NULL || operational < 0 || failover < 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       "[%s] needs operational-units and failover-units as whole numbers.",
                       groups[i]);
          return NULL;
        }
      add_instance (config, groups[i] + strlen ("instance "), operational, failover);
    }
  if (config->instances->len == 0)
    tke_softunit_config_set_units (config, 3, 2);
  return g_steal_pointer (&config);
}

static gboolean
is_location_part (const char *text)
{
  if (text == NULL || *text == '\0' || strlen (text) > 32)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

gboolean
tke_softunit_config_validate (TkeSoftunitConfig *config, GError **error)
{
  guint total = 0;

  if (config->state_dir == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "A state directory is needed: --state-dir DIR or state-dir in [service].");
      return FALSE;
    }
  if (!is_location_part (config->region) ||
      (config->host != NULL && !is_location_part (config->host)))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "region and host must be 1 to 32 letters, digits, '-' or '_'.");
      return FALSE;
    }
  for (guint i = 0; i < config->instances->len; i++)
    {
      TkeSoftunitInstanceConfig *instance = config->instances->pdata[i];

      if (instance->name != NULL && !is_location_part (instance->name))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       "The instance name \"%s\" must be 1 to 32 letters, digits, '-' or '_'.",
                       instance->name);
          return FALSE;
        }
      total += instance->operational_units + instance->failover_units;
    }
  if (total == 0 || total > TKE_SOFTUNIT_MAX_UNITS)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "The service must host 1 to %d crypto units.", TKE_SOFTUNIT_MAX_UNITS);
      return FALSE;
    }
  return TRUE;
}

void
tke_softunit_config_make_names (const TkeSoftunitConfig *config, char **host, GStrv *instance_names)
{
  const char *hostname = g_get_host_name ();
  g_autofree char *suffix = g_strdup_printf ("%04x", g_random_int_range (0, 0x10000));
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

  g_return_if_fail (config != NULL && host != NULL && instance_names != NULL);

  if (config->host != NULL)
    *host = g_strdup (config->host);
  else
    {
      /* The machine's name as a location part: up to 27 letters, digits, '-' or '_', then the
       * suffix. */
      GString *text = g_string_new (NULL);

      for (const char *p = hostname; *p != '\0' && *p != '.' && text->len < 27; p++)
        g_string_append_c (text, g_ascii_isalnum (*p) || *p == '-' || *p == '_' ? *p : '-');
      if (text->len == 0)
        g_string_append (text, "softunit");
      g_string_append_printf (text, "-%s", suffix);
      *host = g_string_free (text, FALSE);
    }
  for (guint i = 0; i < config->instances->len; i++)
    {
      TkeSoftunitInstanceConfig *instance = config->instances->pdata[i];

      g_autofree char *name = instance->name != NULL ? g_strdup (instance->name)
                                                     : g_strdup_printf ("instance-%s", suffix);

      g_strv_builder_add (names, name);
    }
  *instance_names = g_strv_builder_end (names);
}
