/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The workstation's view of its crypto units. Everything here runs on the main thread with async
 * calls; the ceremonies themselves run on the worker with units copied from here. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-unit-client.h"
#include "tke-unit-repin.h"
#include "tke-workspace.h"

#define SERVICES_FILE "services.json"

typedef struct
{
  char *url;
  char *fingerprint;
  char *api_key;
  gboolean persist;
  TkeUnitClient *client;
  GPtrArray *listed; /* TkeUnitInfo from the last listing */
} Service;

struct _TkeWorkspace
{
  GObject parent_instance;

  char *dir;
  GSettings *settings;
  TkeJournal *journal;
  TkeUnitPins *pins;
  GPtrArray *services;  /* Service */
  GPtrArray *units;     /* TkeCeremonyUnit */
  GHashTable *selected; /* unit id set */
  GHashTable *states;   /* unit id -> json_t */
  guint pending;        /* async calls of the refresh in flight */
  guint generation;     /* refreshes started; answers of older ones are dropped */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (TkeWorkspace, tke_workspace, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  SIGNAL_REFRESH_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
service_free (Service *service)
{
  g_free (service->url);
  g_free (service->fingerprint);
  tke_wipe_string_free (service->api_key);
  g_clear_object (&service->client);
  g_clear_pointer (&service->listed, g_ptr_array_unref);
  g_free (service);
}

static Service *
service_new (const char *url, const char *fingerprint, const char *api_key, gboolean persist)
{
  Service *service = g_new0 (Service, 1);

  service->url = g_strdup (url);
  service->fingerprint = g_strdup (fingerprint);
  service->api_key = g_strdup (api_key);
  service->persist = persist;
  service->client = tke_unit_client_new (url, fingerprint, api_key);
  return service;
}

/* services.json: the services to connect to at start, with their API keys: 0600 in a 0700 dir. */
static gboolean
save_services (TkeWorkspace *self, GError **error)
{
  json_auto_t *list = json_array ();
  g_autofree char *path = g_build_filename (self->dir, SERVICES_FILE, NULL);
  g_autofree char *text = NULL;
  gboolean ok;

  for (guint i = 0; i < self->services->len; i++)
    {
      Service *service = self->services->pdata[i];

      if (service->persist)
        json_array_append_new (list,
                               json_pack ("{s:s, s:s, s:s}", "url", service->url, "fingerprint",
                                          service->fingerprint, "api_key", service->api_key));
    }
  text = json_dumps (list, JSON_INDENT (2));
  ok = g_file_set_contents_full (
      path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
  tke_wipe (text, strlen (text));
  return ok;
}

static gboolean
load_services (TkeWorkspace *self, GError **error)
{
  g_autofree char *path = g_build_filename (self->dir, SERVICES_FILE, NULL);
  json_auto_t *list = NULL;
  json_error_t json_error;
  size_t i;
  json_t *entry;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;

  list = json_load_file (path, JSON_REJECT_DUPLICATES, &json_error);
  if (!json_is_array (list))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "The list of crypto unit services %s is damaged (%s): fix or remove it.", path,
                   json_error.text);
      return FALSE;
    }
  json_array_foreach (list, i, entry)
    {
      const char *url = NULL, *fingerprint = NULL, *api_key = NULL;

      if (json_unpack (entry, "{s:s, s:s, s:s}", "url", &url, "fingerprint", &fingerprint,
                       "api_key", &api_key) != 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                       "Entry %zu of the list of crypto unit services %s is damaged: fix or "
                       "remove it.",
                       i + 1, path);
          return FALSE;
        }
      g_ptr_array_add (self->services, service_new (url, fingerprint, api_key, TRUE));
    }
  return TRUE;
}

/* Units and states ---------------------------------------------------------------------------- */

static void
rebuild_units (TkeWorkspace *self)
{
  g_ptr_array_set_size (self->units, 0);
  for (guint s = 0; s < self->services->len; s++)
    {
      Service *service = self->services->pdata[s];

      for (guint i = 0; service->listed != NULL && i < service->listed->len; i++)
        {
          TkeUnitInfo *info = service->listed->pdata[i];

          info->num = self->units->len + 1;
          g_ptr_array_add (self->units,
                           tke_ceremony_unit_new_listed (info, service->url, service->fingerprint,
                                                         service->api_key, self->pins));
        }
    }
}

typedef struct
{
  TkeWorkspace *self;
  guint generation;
  Service *service;
  char *unit_id;
} Pending;

static void
pending_done (Pending *pending)
{
  TkeWorkspace *self = pending->self;

  if (pending->generation == self->generation && --self->pending == 0)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  g_free (pending->unit_id);
  g_object_unref (self);
  g_free (pending);
}

static Pending *
pending_new (TkeWorkspace *self)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->generation = self->generation;
  self->pending++;
  return pending;
}

static void
state_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *pending = data;
  g_autoptr (GError) error = NULL;
  json_t *state = tke_unit_client_get_state_finish (TKE_UNIT_CLIENT (source), result, &error);

  if (pending->generation == pending->self->generation)
    {
      if (state != NULL)
        g_hash_table_replace (pending->self->states, g_strdup (pending->unit_id), state);
      else
        g_signal_emit (pending->self, signals[SIGNAL_REFRESH_FAILED], 0, error->message);
    }
  else
    json_decref (state);
  pending_done (pending);
}

static void
read_selected_states (TkeWorkspace *self)
{
  for (guint i = 0; i < self->units->len; i++)
    {
      TkeCeremonyUnit *unit = self->units->pdata[i];
      Pending *pending;

      if (!g_hash_table_contains (self->selected, unit->id))
        continue;
      for (guint s = 0; s < self->services->len; s++)
        {
          Service *service = self->services->pdata[s];

          if (!g_str_equal (service->url, unit->service_url))
            continue;
          pending = pending_new (self);
          pending->unit_id = g_strdup (unit->id);
          tke_unit_client_get_state_async (service->client, unit->id, self->cancellable, state_read,
                                           pending);
          break;
        }
    }
}

static void
units_listed (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *pending = data;
  TkeWorkspace *self = pending->self;
  g_autoptr (GError) error = NULL;
  GPtrArray *listed = tke_unit_client_list_units_finish (TKE_UNIT_CLIENT (source), result, &error);

  if (pending->generation != self->generation)
    {
      g_clear_pointer (&listed, g_ptr_array_unref);
      pending_done (pending);
      return;
    }

  if (listed == NULL)
    {
      g_autofree char *message = g_strdup_printf (_ ("The crypto unit service %s could not be "
                                                     "read: %s"),
                                                  pending->service->url, error->message);
      g_signal_emit (self, signals[SIGNAL_REFRESH_FAILED], 0, message);
    }
  else
    {
      g_clear_pointer (&pending->service->listed, g_ptr_array_unref);
      pending->service->listed = listed;
    }

  /* When the last listing is in, the units are numbered and their states read. */
  if (self->pending == 1)
    {
      rebuild_units (self);
      /* Loudly: nothing will be signed for such a unit, and the operator must find out why. */
      for (guint i = 0; i < self->units->len; i++)
        {
          TkeCeremonyUnit *unit = self->units->pdata[i];

          if (unit->identity_error != NULL)
            g_signal_emit (self, signals[SIGNAL_REFRESH_FAILED], 0, unit->identity_error);
        }
      read_selected_states (self);
    }
  pending_done (pending);
}

void
tke_workspace_refresh (TkeWorkspace *self)
{
  g_return_if_fail (TKE_IS_WORKSPACE (self));

  self->generation++;
  self->pending = 0;
  g_hash_table_remove_all (self->states);

  if (self->services->len == 0)
    {
      rebuild_units (self);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      return;
    }
  for (guint s = 0; s < self->services->len; s++)
    {
      Pending *pending = pending_new (self);

      pending->service = self->services->pdata[s];
      tke_unit_client_list_units_async (pending->service->client, self->cancellable, units_listed,
                                        pending);
    }
}

gboolean
tke_workspace_is_refreshing (TkeWorkspace *self)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), FALSE);
  return self->pending > 0;
}

/* Services ---------------------------------------------------------------------------------- */

static void
service_checked (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  TkeWorkspace *self = g_task_get_source_object (task);
  Service *service = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GPtrArray *listed = tke_unit_client_list_units_finish (TKE_UNIT_CLIENT (source), result, &error);

  /* The task data has no destroy notify: the service is freed here or kept. */
  if (listed == NULL)
    {
      service_free (service);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_ptr_array_unref (listed);

  g_ptr_array_add (self->services, service);
  if (!save_services (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  tke_workspace_refresh (self);
  g_task_return_boolean (task, TRUE);
}

void
tke_workspace_add_service_async (TkeWorkspace *self, const char *url, const char *fingerprint,
                                 const char *api_key, gboolean persist, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Service *service;

  g_return_if_fail (TKE_IS_WORKSPACE (self));
  g_return_if_fail (url != NULL && fingerprint != NULL && api_key != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tke_workspace_add_service_async);

  for (guint s = 0; s < self->services->len; s++)
    if (g_str_equal (((Service *) self->services->pdata[s])->url, url))
      {
        g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                                 _ ("The service %s is connected already."), url);
        return;
      }

  service = service_new (url, fingerprint, api_key, persist);
  g_task_set_task_data (task, service, NULL);
  tke_unit_client_list_units_async (service->client, cancellable, service_checked,
                                    g_steal_pointer (&task));
}

gboolean
tke_workspace_add_service_finish (TkeWorkspace *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

guint
tke_workspace_get_n_services (TkeWorkspace *self)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), 0);
  return self->services->len;
}

/* Selection --------------------------------------------------------------------------------- */

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort hands over pointers to the elements. */
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static void
save_selection (TkeWorkspace *self)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  if (self->settings == NULL)
    return;
  g_hash_table_iter_init (&iter, self->selected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (ids, key);
  g_ptr_array_sort (ids, compare_ids);
  g_ptr_array_add (ids, NULL);
  g_settings_set_strv (self->settings, "selected-units", (const char *const *) ids->pdata);
}

void
tke_workspace_set_selected (TkeWorkspace *self, const char *unit_id, gboolean selected)
{
  g_return_if_fail (TKE_IS_WORKSPACE (self));
  g_return_if_fail (unit_id != NULL);

  if (selected == g_hash_table_contains (self->selected, unit_id))
    return;
  if (selected)
    g_hash_table_add (self->selected, g_strdup (unit_id));
  else
    g_hash_table_remove (self->selected, unit_id);
  save_selection (self);
  tke_workspace_refresh (self);
}

gboolean
tke_workspace_select_nums (TkeWorkspace *self, const guint *nums, guint n_nums, gboolean selected,
                           GError **error)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), FALSE);

  for (guint i = 0; i < n_nums; i++)
    if (nums[i] < 1 || nums[i] > self->units->len)
      {
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("There is no crypto unit %u: the connected services have units 1 to %u."),
                     nums[i], self->units->len);
        return FALSE;
      }

  for (guint i = 0; i < n_nums; i++)
    {
      TkeCeremonyUnit *unit = self->units->pdata[nums[i] - 1];

      if (selected)
        g_hash_table_add (self->selected, g_strdup (unit->id));
      else
        g_hash_table_remove (self->selected, unit->id);
    }
  save_selection (self);
  tke_workspace_refresh (self);
  return TRUE;
}

gboolean
tke_workspace_is_selected (TkeWorkspace *self, const char *unit_id)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), FALSE);
  return g_hash_table_contains (self->selected, unit_id);
}

GPtrArray *
tke_workspace_get_units (TkeWorkspace *self)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), NULL);
  return self->units;
}

GPtrArray *
tke_workspace_dup_selected (TkeWorkspace *self)
{
  GPtrArray *selected = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);

  g_return_val_if_fail (TKE_IS_WORKSPACE (self), selected);

  for (guint i = 0; i < self->units->len; i++)
    {
      TkeCeremonyUnit *unit = self->units->pdata[i];

      if (g_hash_table_contains (self->selected, unit->id))
        g_ptr_array_add (selected, tke_ceremony_unit_copy (unit));
    }
  return selected;
}

json_t *
tke_workspace_get_state (TkeWorkspace *self, const char *unit_id)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), NULL);
  return g_hash_table_lookup (self->states, unit_id);
}

const char *
tke_workspace_get_dir (TkeWorkspace *self)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), NULL);
  return self->dir;
}

/* Identity pins ------------------------------------------------------------------------------ */

/* Unit num and its service's listing of it now, or NULL with an error. */
static const TkeUnitInfo *
presented_info (TkeWorkspace *self, guint num, TkeCeremonyUnit **unit_out, GError **error)
{
  TkeCeremonyUnit *unit;

  if (num == 0 || num > self->units->len)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("There is no crypto unit %u: the CRYPTO UNIT NUMs are 1 to %u."), num,
                   self->units->len);
      return NULL;
    }
  unit = self->units->pdata[num - 1];
  if (unit->identity_error == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("Crypto unit %u presents the identity key pinned for it (%s): nothing to "
                      "do."),
                   num, unit->thumbprint);
      return NULL;
    }
  for (guint s = 0; s < self->services->len; s++)
    {
      Service *service = self->services->pdata[s];

      for (guint i = 0; g_str_equal (service->url, unit->service_url) && service->listed != NULL &&
                        i < service->listed->len;
           i++)
        if (g_str_equal (((TkeUnitInfo *) service->listed->pdata[i])->id, unit->id))
          {
            *unit_out = unit;
            return service->listed->pdata[i];
          }
    }
  g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
               _ ("Crypto unit %u is no longer listed by its service."), num);
  return NULL;
}

char *
tke_workspace_describe_repin (TkeWorkspace *self, guint num, GError **error)
{
  TkeCeremonyUnit *unit = NULL;
  const TkeUnitInfo *info;

  g_return_val_if_fail (TKE_IS_WORKSPACE (self), NULL);

  info = presented_info (self, num, &unit, error);
  return info != NULL ? tke_unit_repin_describe (unit, info, self->pins, error) : NULL;
}

gboolean
tke_workspace_repin (TkeWorkspace *self, guint num, GError **error)
{
  TkeCeremonyUnit *unit = NULL;
  const TkeUnitInfo *info;

  g_return_val_if_fail (TKE_IS_WORKSPACE (self), FALSE);

  info = presented_info (self, num, &unit, error);
  if (info == NULL || !tke_unit_repin (unit, info, self->pins, self->journal, error))
    return FALSE;
  rebuild_units (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

TkeJournal *
tke_workspace_get_journal (TkeWorkspace *self)
{
  g_return_val_if_fail (TKE_IS_WORKSPACE (self), NULL);
  return self->journal;
}

gboolean
tke_parse_unit_nums (const char *text, GArray **nums, GError **error)
{
  g_auto (GStrv) words = NULL;
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (text != NULL && nums != NULL, FALSE);

  words = g_strsplit_set (text, " \t,", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      guint64 value;

      if (*words[i] == '\0')
        continue;
      if (!g_ascii_string_to_unsigned (words[i], 10, 1, 999, &value, NULL))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("“%s” is not a CRYPTO UNIT NUM: give numbers separated by spaces."),
                       words[i]);
          return FALSE;
        }
      g_array_append_vals (out, &(guint){ value }, 1);
    }
  if (out->len == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("Give the numbers of the crypto units, separated by spaces."));
      return FALSE;
    }
  *nums = g_steal_pointer (&out);
  return TRUE;
}

/* The object -------------------------------------------------------------------------------- */

static void
tke_workspace_dispose (GObject *object)
{
  TkeWorkspace *self = TKE_WORKSPACE (object);

  g_cancellable_cancel (self->cancellable);

  G_OBJECT_CLASS (tke_workspace_parent_class)->dispose (object);
}

static void
tke_workspace_finalize (GObject *object)
{
  TkeWorkspace *self = TKE_WORKSPACE (object);

  g_free (self->dir);
  g_clear_object (&self->settings);
  g_clear_object (&self->journal);
  g_clear_object (&self->pins);
  g_ptr_array_unref (self->services);
  g_ptr_array_unref (self->units);
  g_hash_table_unref (self->selected);
  g_hash_table_unref (self->states);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (tke_workspace_parent_class)->finalize (object);
}

static void
tke_workspace_class_init (TkeWorkspaceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tke_workspace_dispose;
  object_class->finalize = tke_workspace_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_REFRESH_FAILED] =
      g_signal_new ("refresh-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tke_workspace_init (TkeWorkspace *self)
{
  self->services = g_ptr_array_new_with_free_func ((GDestroyNotify) service_free);
  self->units = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);
  self->selected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->states =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_decref);
  self->cancellable = g_cancellable_new ();
}

TkeWorkspace *
tke_workspace_new (const char *dir, GSettings *settings, GError **error)
{
  g_autoptr (TkeWorkspace) self = NULL;
  g_autofree char *journal_path = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _ ("The workspace %s could not be made: %s"), dir, g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (TKE_TYPE_WORKSPACE, NULL);
  self->dir = g_strdup (dir);
  self->settings = settings ? g_object_ref (settings) : NULL;

  if (settings != NULL)
    {
      g_auto (GStrv) ids = g_settings_get_strv (settings, "selected-units");

      for (guint i = 0; ids[i] != NULL; i++)
        g_hash_table_add (self->selected, g_strdup (ids[i]));
    }

  journal_path = g_build_filename (dir, TKE_JOURNAL_FILE_NAME, NULL);
  self->journal = tke_journal_open (journal_path, error);
  if (self->journal == NULL || !load_services (self, error))
    return NULL;
  self->pins = tke_unit_pins_load (dir, error);
  if (self->pins == NULL)
    return NULL;
  return g_steal_pointer (&self);
}
