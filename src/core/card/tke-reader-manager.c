/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The common half of reader managers: the watching thread and waiting for a card. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-reader-manager.h"

/* How long one wait may block at most: a backstop for an interrupt that raced the wait. */
#define WAIT_SLICE_MS 2000

typedef struct
{
  GMutex lock;
  GThread *thread;
  GCancellable *cancellable;
  gulong cancelled_id;
  gpointer watch_state; /* the watching thread's, while it runs */
  gboolean stop;
  GMainContext *context;
} TkeReaderManagerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (TkeReaderManager, tke_reader_manager, G_TYPE_OBJECT)

enum
{
  SIGNAL_READER_ADDED,
  SIGNAL_READER_REMOVED,
  SIGNAL_CARD_INSERTED,
  SIGNAL_CARD_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  GWeakRef manager;
  guint signal;
  char *reader;
} Emission;

void
tke_reader_status_free (TkeReaderStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->name);
  g_free (status);
}

static int
compare_status_names (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort hands over pointers to the elements. */
  const TkeReaderStatus *x = *(TkeReaderStatus *const *) a;
  const TkeReaderStatus *y = *(TkeReaderStatus *const *) b;

  return g_strcmp0 (x->name, y->name);
}

const TkeReaderStatus *
tke_reader_status_for_role (GPtrArray *statuses, guint role, const char *configured)
{
  g_autoptr (GPtrArray) sorted = NULL;

  g_return_val_if_fail (statuses != NULL, NULL);
  g_return_val_if_fail (role == 1 || role == 2, NULL);

  if (configured != NULL && *configured != '\0')
    {
      for (guint i = 0; i < statuses->len; i++)
        if (g_str_equal (((TkeReaderStatus *) statuses->pdata[i])->name, configured))
          return statuses->pdata[i];
      return NULL;
    }
  if (statuses->len < role)
    return NULL;
  /* Not g_ptr_array_copy: the copy would free the statuses with itself. */
  sorted = g_ptr_array_sized_new (statuses->len);
  for (guint i = 0; i < statuses->len; i++)
    g_ptr_array_add (sorted, statuses->pdata[i]);
  g_ptr_array_sort (sorted, compare_status_names);
  return sorted->pdata[role - 1];
}

static void
emission_free (gpointer data)
{
  Emission *emission = data;

  g_weak_ref_clear (&emission->manager);
  g_free (emission->reader);
  g_free (emission);
}

static gboolean
emit_in_context (gpointer data)
{
  Emission *emission = data;
  g_autoptr (TkeReaderManager) self = g_weak_ref_get (&emission->manager);

  if (self != NULL)
    g_signal_emit (self, signals[emission->signal], 0, emission->reader);
  return G_SOURCE_REMOVE;
}

static void
queue_emission (TkeReaderManager *self, guint signal, const char *reader)
{
  TkeReaderManagerPrivate *priv = tke_reader_manager_get_instance_private (self);
  Emission *emission = g_new0 (Emission, 1);

  g_weak_ref_init (&emission->manager, self);
  emission->signal = signal;
  emission->reader = g_strdup (reader);
  g_main_context_invoke_full (priv->context, G_PRIORITY_DEFAULT, emit_in_context, emission,
                              emission_free);
}

static const TkeReaderStatus *
find_status (GPtrArray *list, const char *name)
{
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      const TkeReaderStatus *status = g_ptr_array_index (list, i);

      if (g_strcmp0 (status->name, name) == 0)
        return status;
    }
  return NULL;
}

/* Emits what changed between two lists: removals first, so that a reader that went away and came
 * back under the same name reads as gone-then-back. */
static void
emit_differences (TkeReaderManager *self, GPtrArray *before, GPtrArray *after)
{
  for (guint i = 0; i < before->len; i++)
    {
      const TkeReaderStatus *old = g_ptr_array_index (before, i);
      const TkeReaderStatus *now = find_status (after, old->name);

      if (old->card_present && (now == NULL || !now->card_present))
        queue_emission (self, SIGNAL_CARD_REMOVED, old->name);
      if (now == NULL)
        queue_emission (self, SIGNAL_READER_REMOVED, old->name);
    }
  for (guint i = 0; i < after->len; i++)
    {
      const TkeReaderStatus *now = g_ptr_array_index (after, i);
      const TkeReaderStatus *old = find_status (before, now->name);

      if (old == NULL)
        queue_emission (self, SIGNAL_READER_ADDED, now->name);
      if (now->card_present && (old == NULL || !old->card_present))
        queue_emission (self, SIGNAL_CARD_INSERTED, now->name);
    }
}

static GPtrArray *
list_or_empty (TkeReaderManager *self, gpointer state)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *list = TKE_READER_MANAGER_GET_CLASS (self)->list (self, state, &error);

  if (list == NULL)
    {
      g_debug ("Listing readers failed while watching: %s", error->message);
      list = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_reader_status_free);
    }
  return list;
}

static gpointer
watch_thread (gpointer data)
{
  TkeReaderManager *self = data;
  TkeReaderManagerPrivate *priv = tke_reader_manager_get_instance_private (self);
  TkeReaderManagerClass *klass = TKE_READER_MANAGER_GET_CLASS (self);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) known = NULL;
  gpointer state;
  gboolean stop;

  state = klass->thread_state_new (self, &error);
  if (state == NULL)
    {
      g_warning ("Cannot watch the card readers: %s", error->message);
      return NULL;
    }

  g_mutex_lock (&priv->lock);
  priv->watch_state = state;
  stop = priv->stop;
  g_mutex_unlock (&priv->lock);

  known = list_or_empty (self, state);
  while (!stop)
    {
      g_autoptr (GPtrArray) now = NULL;

      if (!klass->wait (self, state, WAIT_SLICE_MS, &error) && error != NULL)
        {
          g_debug ("Waiting for reader events failed: %s", error->message);
          g_clear_error (&error);
          g_usleep (200 * 1000);
        }

      g_mutex_lock (&priv->lock);
      stop = priv->stop;
      g_mutex_unlock (&priv->lock);
      if (stop)
        break;

      now = list_or_empty (self, state);
      emit_differences (self, known, now);
      g_ptr_array_unref (known);
      known = g_steal_pointer (&now);
    }

  g_mutex_lock (&priv->lock);
  priv->watch_state = NULL;
  g_mutex_unlock (&priv->lock);
  klass->thread_state_free (self, state);
  return NULL;
}

static void
watch_cancelled_cb (GCancellable *cancellable, gpointer data)
{
  TkeReaderManager *self = data;
  TkeReaderManagerPrivate *priv = tke_reader_manager_get_instance_private (self);

  g_mutex_lock (&priv->lock);
  priv->stop = TRUE;
  if (priv->watch_state != NULL)
    TKE_READER_MANAGER_GET_CLASS (self)->interrupt (self, priv->watch_state);
  g_mutex_unlock (&priv->lock);
}

static void
tke_reader_manager_dispose (GObject *object)
{
  tke_reader_manager_stop_watching (TKE_READER_MANAGER (object));

  G_OBJECT_CLASS (tke_reader_manager_parent_class)->dispose (object);
}

static void
tke_reader_manager_finalize (GObject *object)
{
  TkeReaderManager *self = TKE_READER_MANAGER (object);
  TkeReaderManagerPrivate *priv = tke_reader_manager_get_instance_private (self);

  g_mutex_clear (&priv->lock);

  G_OBJECT_CLASS (tke_reader_manager_parent_class)->finalize (object);
}

static void
tke_reader_manager_class_init (TkeReaderManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const char *names[N_SIGNALS] = { "reader-added", "reader-removed", "card-inserted",
                                   "card-removed" };

  object_class->dispose = tke_reader_manager_dispose;
  object_class->finalize = tke_reader_manager_finalize;

  for (guint i = 0; i < N_SIGNALS; i++)
    signals[i] = g_signal_new (names[i], G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                               NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tke_reader_manager_init (TkeReaderManager *self)
{
  TkeReaderManagerPrivate *priv = tke_reader_manager_get_instance_private (self);

  g_mutex_init (&priv->lock);
}

GPtrArray *
tke_reader_manager_list (TkeReaderManager *self, GError **error)
{
  g_return_val_if_fail (TKE_IS_READER_MANAGER (self), NULL);
  return TKE_READER_MANAGER_GET_CLASS (self)->list (self, NULL, error);
}

TkeCardConnection *
tke_reader_manager_connect (TkeReaderManager *self, const char *reader, GError **error)
{
  g_return_val_if_fail (TKE_IS_READER_MANAGER (self), NULL);
  g_return_val_if_fail (reader != NULL, NULL);
  return TKE_READER_MANAGER_GET_CLASS (self)->connect (self, reader, error);
}

typedef struct
{
  TkeReaderManager *self;
  gpointer state;
} WaitInterrupt;

static void
wait_cancelled_cb (GCancellable *cancellable, gpointer data)
{
  WaitInterrupt *wi = data;

  TKE_READER_MANAGER_GET_CLASS (wi->self)->interrupt (wi->self, wi->state);
}

gboolean
tke_reader_manager_wait_for_card (TkeReaderManager *self, const char *reader, guint timeout_ms,
                                  GCancellable *cancellable, GError **error)
{
  TkeReaderManagerClass *klass;
  WaitInterrupt wi;
  gulong handler = 0;
  gint64 deadline;
  gboolean found = FALSE;

  g_return_val_if_fail (TKE_IS_READER_MANAGER (self), FALSE);
  g_return_val_if_fail (reader != NULL, FALSE);
  klass = TKE_READER_MANAGER_GET_CLASS (self);

  wi.self = self;
  wi.state = klass->thread_state_new (self, error);
  if (wi.state == NULL)
    return FALSE;
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wait_cancelled_cb), &wi, NULL);

  deadline = timeout_ms > 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : G_MAXINT64;
  for (;;)
    {
      g_autoptr (GPtrArray) list = NULL;
      const TkeReaderStatus *status;
      gint64 left_ms;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      list = klass->list (self, wi.state, error);
      if (list == NULL)
        break;
      status = find_status (list, reader);
      if (status != NULL && status->card_present)
        {
          found = TRUE;
          break;
        }
      left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      if (left_ms <= 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                       _ ("No card was inserted into \"%s\" in time."), reader);
          break;
        }
      {
        GError *wait_error = NULL;

        if (!klass->wait (self, wi.state, MIN (left_ms, WAIT_SLICE_MS), &wait_error) &&
            wait_error != NULL)
          {
            g_propagate_error (error, wait_error);
            break;
          }
      }
    }

  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  klass->thread_state_free (self, wi.state);
  return found;
}

void
tke_reader_manager_watch (TkeReaderManager *self, GCancellable *cancellable)
{
  TkeReaderManagerPrivate *priv;

  g_return_if_fail (TKE_IS_READER_MANAGER (self));
  priv = tke_reader_manager_get_instance_private (self);
  g_return_if_fail (priv->thread == NULL);

  priv->stop = FALSE;
  priv->context = g_main_context_ref_thread_default ();
  priv->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  priv->thread = g_thread_new ("tke-reader-watch", watch_thread, self);
  priv->cancelled_id =
      g_cancellable_connect (priv->cancellable, G_CALLBACK (watch_cancelled_cb), self, NULL);
}

void
tke_reader_manager_stop_watching (TkeReaderManager *self)
{
  TkeReaderManagerPrivate *priv;

  g_return_if_fail (TKE_IS_READER_MANAGER (self));
  priv = tke_reader_manager_get_instance_private (self);

  if (priv->thread == NULL)
    return;

  g_cancellable_cancel (priv->cancellable);
  g_thread_join (g_steal_pointer (&priv->thread));
  g_cancellable_disconnect (priv->cancellable, priv->cancelled_id);
  priv->cancelled_id = 0;
  g_clear_object (&priv->cancellable);
  g_clear_pointer (&priv->context, g_main_context_unref);
}
