/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tkectl's remembered state, kept as one JSON file written atomically with owner-only access. */
#include "config.h"

#include "tke-cli-config.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-secmem.h"

#define CONFIG_FILE_NAME "config.json"
/* More than any workstation's list of services and selections. */
#define CONFIG_MAX_SIZE (1024 * 1024)

static void
service_free (TkeCliService *service)
{
  g_free (service->url);
  g_free (service->fingerprint);
  if (service->api_key != NULL)
    tke_wipe_string_free (service->api_key);
  g_free (service);
}

void
tke_cli_config_free (TkeCliConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->dir);
  g_ptr_array_unref (config->services);
  g_ptr_array_unref (config->units);
  g_ptr_array_unref (config->sigkeys);
  g_free (config->reader1);
  g_free (config->reader2);
  g_free (config);
}

char *
tke_cli_config_get_default_dir (void)
{
  const char *dir = g_getenv ("TKE_CONFIG_DIR");

  if (dir != NULL && *dir != '\0')
    return g_strdup (dir);
  return g_build_filename (g_get_user_config_dir (), "opentke", NULL);
}

static gboolean
read_strings (json_t *root, const char *key, GPtrArray *into, const char *path, GError **error)
{
  json_t *array = json_object_get (root, key);
  size_t i;
  json_t *value;

  if (array == NULL)
    return TRUE;
  if (!json_is_array (array))
    goto bad;
  json_array_foreach (array, i, value)
    {
      if (!json_is_string (value))
        goto bad;
      g_ptr_array_add (into, g_strdup (json_string_value (value)));
    }
  return TRUE;

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
               "The configuration %s is damaged (“%s” is not a list of strings): repair or remove "
               "it.",
               path, key);
  return FALSE;
}

static char *
dup_string (json_t *object, const char *key)
{
  const char *value = json_string_value (json_object_get (object, key));

  return value != NULL ? g_strdup (value) : NULL;
}

TkeCliConfig *
tke_cli_config_load (const char *dir, GError **error)
{
  g_autoptr (TkeCliConfig) config = g_new0 (TkeCliConfig, 1);
  g_autofree char *path = g_build_filename (dir, CONFIG_FILE_NAME, NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  json_auto_t *root = NULL;
  json_error_t json_error;
  json_t *services;
  gsize len = 0;

  config->dir = g_strdup (dir);
  config->services = g_ptr_array_new_with_free_func ((GDestroyNotify) service_free);
  config->units = g_ptr_array_new_with_free_func (g_free);
  config->sigkeys = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&config);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (len > CONFIG_MAX_SIZE)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "The configuration %s is too large to be tkectl's: repair or remove it.", path);
      return NULL;
    }
  root = json_loadb (contents, len, 0, &json_error);
  tke_wipe (contents, len);
  if (!json_is_object (root))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "The configuration %s is damaged (%s): repair or remove it.", path,
                   root == NULL ? json_error.text : "not a JSON object");
      return NULL;
    }

  services = json_object_get (root, "services");
  if (services != NULL)
    {
      size_t i;
      json_t *value;

      if (!json_is_array (services))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                       "The configuration %s is damaged (services): repair or remove it.", path);
          return NULL;
        }
      json_array_foreach (services, i, value)
        {
          TkeCliService *service = g_new0 (TkeCliService, 1);

          service->url = dup_string (value, "url");
          service->fingerprint = dup_string (value, "fingerprint");
          service->api_key = dup_string (value, "api_key");
          g_ptr_array_add (config->services, service);
          if (service->url == NULL || service->fingerprint == NULL || service->api_key == NULL)
            {
              g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                           "The configuration %s is damaged (service %zu lacks its URL, "
                           "fingerprint or API key): repair or remove it.",
                           path, i + 1);
              return NULL;
            }
        }
    }
  if (!read_strings (root, "units", config->units, path, error) ||
      !read_strings (root, "sigkeys", config->sigkeys, path, error))
    return NULL;
  config->reader1 = dup_string (root, "reader1");
  config->reader2 = dup_string (root, "reader2");
  return g_steal_pointer (&config);
}

static json_t *
strings_to_json (GPtrArray *strings)
{
  json_t *array = json_array ();

  for (guint i = 0; i < strings->len; i++)
    json_array_append_new (array, json_string (strings->pdata[i]));
  return array;
}

gboolean
tke_cli_config_save (TkeCliConfig *config, GError **error)
{
  g_autofree char *path = g_build_filename (config->dir, CONFIG_FILE_NAME, NULL);
  json_auto_t *root = json_object ();
  json_t *services = json_array ();
  char *text;
  gboolean ok;

  if (g_mkdir_with_parents (config->dir, 0700) != 0 || g_chmod (config->dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "The configuration directory %s can't be made private: %s.", config->dir,
                   g_strerror (saved));
      json_decref (services);
      return FALSE;
    }

  for (guint i = 0; i < config->services->len; i++)
    {
      TkeCliService *service = config->services->pdata[i];

      json_array_append_new (services,
                             json_pack ("{s:s, s:s, s:s}", "url", service->url, "fingerprint",
                                        service->fingerprint, "api_key", service->api_key));
    }
  json_object_set_new (root, "services", services);
  json_object_set_new (root, "units", strings_to_json (config->units));
  json_object_set_new (root, "sigkeys", strings_to_json (config->sigkeys));
  if (config->reader1 != NULL)
    json_object_set_new (root, "reader1", json_string (config->reader1));
  if (config->reader2 != NULL)
    json_object_set_new (root, "reader2", json_string (config->reader2));

  text = json_dumps (root, JSON_INDENT (2) | JSON_SORT_KEYS);
  if (text == NULL)
    {
      g_set_error_literal (error, TKE_ERROR, TKE_ERROR_FAILED,
                           "The configuration could not be encoded.");
      return FALSE;
    }
  ok = g_file_set_contents_full (
      path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
  tke_wipe (text, strlen (text));
  free (text);
  return ok;
}

gboolean
tke_cli_config_has_unit (TkeCliConfig *config, const char *id)
{
  for (guint i = 0; i < config->units->len; i++)
    if (g_str_equal (config->units->pdata[i], id))
      return TRUE;
  return FALSE;
}
