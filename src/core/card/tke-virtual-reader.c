/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The in-process reader manager: readers are slots under one lock, cards are engines. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-error.h"
#include "tke-virtual-reader.h"

typedef struct
{
  gatomicrefcount ref;
  char *name;
  gboolean gone;        /* the reader was removed */
  TkeVirtualCard *card; /* NULL: empty */
  guint64 insertion;    /* counts insertions, so connections know their card left */
  gpointer tx_owner;    /* the connection holding the transaction */
  guint remove_after;   /* fault injection: APDUs until the card is pulled, 0 = never */
} Slot;

struct _TkeVirtualReaderManager
{
  TkeReaderManager parent_instance;

  GMutex lock;
  GCond changed;
  guint64 generation; /* rises with every change a watcher must see */
  GPtrArray *slots;
};

G_DEFINE_FINAL_TYPE (TkeVirtualReaderManager, tke_virtual_reader_manager, TKE_TYPE_READER_MANAGER)

typedef struct
{
  guint64 seen;
  gboolean interrupted;
} WatchState;

#define TKE_TYPE_VIRTUAL_CONNECTION (tke_virtual_connection_get_type ())
G_DECLARE_FINAL_TYPE (TkeVirtualConnection, tke_virtual_connection, TKE, VIRTUAL_CONNECTION,
                      TkeCardConnection)

struct _TkeVirtualConnection
{
  TkeCardConnection parent_instance;

  TkeVirtualReaderManager *manager;
  Slot *slot;
  guint64 insertion;
};

G_DEFINE_FINAL_TYPE (TkeVirtualConnection, tke_virtual_connection, TKE_TYPE_CARD_CONNECTION)

static Slot *
slot_ref (Slot *slot)
{
  g_atomic_ref_count_inc (&slot->ref);
  return slot;
}

static void
slot_unref (Slot *slot)
{
  if (g_atomic_ref_count_dec (&slot->ref))
    {
      g_clear_object (&slot->card);
      g_free (slot->name);
      g_free (slot);
    }
}

static Slot *
find_slot (TkeVirtualReaderManager *self, const char *name)
{
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      if (g_strcmp0 (slot->name, name) == 0)
        return slot;
    }
  return NULL;
}

/* Called with the lock held. */
static void
pull_card_locked (TkeVirtualReaderManager *self, Slot *slot)
{
  if (slot->card == NULL)
    return;
  tke_virtual_card_power_off (slot->card);
  g_clear_object (&slot->card);
  slot->tx_owner = NULL;
  slot->remove_after = 0;
  self->generation++;
  g_cond_broadcast (&self->changed);
}

/* ---- the connection ---- */

/* Called with the lock held: is our card still there? */
static gboolean
check_card_locked (TkeVirtualConnection *self, const char *what, GError **error)
{
  const char *reader = tke_card_connection_get_reader_name (TKE_CARD_CONNECTION (self));

  if (self->slot->gone)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_READER_GONE,
                   /* TRANSLATORS: the first %s is the reader's name, the second what was going
                    * on, such as "a command was being sent". */
                   _ ("The reader \"%s\" was unplugged while %s."), reader, what);
      return FALSE;
    }
  if (self->slot->card == NULL || self->slot->insertion != self->insertion)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED,
                   /* TRANSLATORS: the first %s is the reader's name, the second what was going
                    * on, such as "a command was being sent". */
                   _ ("The card was removed from \"%s\" while %s: insert it again and repeat "
                      "the step."),
                   reader, what);
      return FALSE;
    }
  return TRUE;
}

static GBytes *
tke_virtual_connection_transmit_raw (TkeCardConnection *connection, GBytes *command, GError **error)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (connection);
  TkeVirtualReaderManager *manager = self->manager;
  GBytes *response = NULL;

  g_mutex_lock (&manager->lock);
  /* A transaction of another connection holds the card: wait as pcsc-lite does. */
  while (self->slot->tx_owner != NULL && self->slot->tx_owner != self && self->slot->card != NULL)
    g_cond_wait (&manager->changed, &manager->lock);
  if (check_card_locked (self,
                         /* TRANSLATORS: what was going on, after "while". */
                         _ ("a command was being sent"), error))
    {
      response = tke_virtual_card_transmit (self->slot->card, command);
      if (self->slot->remove_after > 0 && --self->slot->remove_after == 0)
        {
          /* The card leaves with this APDU unanswered, as a card pulled mid-exchange. */
          g_clear_pointer (&response, g_bytes_unref);
          pull_card_locked (manager, self->slot);
          check_card_locked (self,
                             /* TRANSLATORS: what was going on, after "while". */
                             _ ("a command was being sent"), error);
        }
    }
  g_mutex_unlock (&manager->lock);
  return response;
}

static gboolean
tke_virtual_connection_begin_transaction (TkeCardConnection *connection, GError **error)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (connection);
  TkeVirtualReaderManager *manager = self->manager;
  gboolean ok;

  g_mutex_lock (&manager->lock);
  while (self->slot->tx_owner != NULL && self->slot->tx_owner != self && self->slot->card != NULL)
    g_cond_wait (&manager->changed, &manager->lock);
  ok = check_card_locked (self,
                          /* TRANSLATORS: what was going on, after "while". */
                          _ ("the card was being reserved"), error);
  if (ok)
    self->slot->tx_owner = self;
  g_mutex_unlock (&manager->lock);
  return ok;
}

static void
tke_virtual_connection_end_transaction (TkeCardConnection *connection)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (connection);
  TkeVirtualReaderManager *manager = self->manager;

  g_mutex_lock (&manager->lock);
  if (self->slot->tx_owner == self)
    {
      self->slot->tx_owner = NULL;
      g_cond_broadcast (&manager->changed);
    }
  g_mutex_unlock (&manager->lock);
}

static GBytes *
tke_virtual_connection_get_atr (TkeCardConnection *connection)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (connection);
  GBytes *atr = NULL;

  g_mutex_lock (&self->manager->lock);
  if (self->slot->card != NULL && self->slot->insertion == self->insertion)
    atr = tke_virtual_card_get_atr (self->slot->card);
  g_mutex_unlock (&self->manager->lock);
  return atr != NULL ? atr : g_bytes_new (NULL, 0);
}

static void
tke_virtual_connection_disconnect (TkeCardConnection *connection, gboolean reset)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (connection);
  TkeVirtualReaderManager *manager = self->manager;

  if (self->slot == NULL)
    return;
  g_mutex_lock (&manager->lock);
  if (self->slot->tx_owner == self)
    {
      self->slot->tx_owner = NULL;
      g_cond_broadcast (&manager->changed);
    }
  if (reset && self->slot->card != NULL && self->slot->insertion == self->insertion)
    tke_virtual_card_reset (self->slot->card);
  g_mutex_unlock (&manager->lock);
}

static void
tke_virtual_connection_dispose (GObject *object)
{
  TkeVirtualConnection *self = TKE_VIRTUAL_CONNECTION (object);

  tke_card_connection_disconnect (TKE_CARD_CONNECTION (self), FALSE);
  g_clear_pointer (&self->slot, slot_unref);
  g_clear_object (&self->manager);

  G_OBJECT_CLASS (tke_virtual_connection_parent_class)->dispose (object);
}

static void
tke_virtual_connection_class_init (TkeVirtualConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TkeCardConnectionClass *connection_class = TKE_CARD_CONNECTION_CLASS (klass);

  object_class->dispose = tke_virtual_connection_dispose;

  connection_class->transmit_raw = tke_virtual_connection_transmit_raw;
  connection_class->begin_transaction = tke_virtual_connection_begin_transaction;
  connection_class->end_transaction = tke_virtual_connection_end_transaction;
  connection_class->get_atr = tke_virtual_connection_get_atr;
  connection_class->disconnect = tke_virtual_connection_disconnect;
}

static void
tke_virtual_connection_init (TkeVirtualConnection *self)
{
}

/* ---- the manager ---- */

static gpointer
tke_virtual_reader_manager_thread_state_new (TkeReaderManager *manager, GError **error)
{
  return g_new0 (WatchState, 1);
}

static void
tke_virtual_reader_manager_thread_state_free (TkeReaderManager *manager, gpointer state)
{
  g_free (state);
}

static GPtrArray *
tke_virtual_reader_manager_list (TkeReaderManager *manager, gpointer data, GError **error)
{
  TkeVirtualReaderManager *self = TKE_VIRTUAL_READER_MANAGER (manager);
  WatchState *state = data;
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_reader_status_free);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);
      TkeReaderStatus *status = g_new0 (TkeReaderStatus, 1);

      status->name = g_strdup (slot->name);
      status->card_present = slot->card != NULL;
      g_ptr_array_add (result, status);
    }
  if (state != NULL)
    state->seen = self->generation;
  g_mutex_unlock (&self->lock);
  return result;
}

static gboolean
tke_virtual_reader_manager_wait (TkeReaderManager *manager, gpointer data, guint timeout_ms,
                                 GError **error)
{
  TkeVirtualReaderManager *self = TKE_VIRTUAL_READER_MANAGER (manager);
  WatchState *state = data;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean changed;

  g_mutex_lock (&self->lock);
  while (self->generation == state->seen && !state->interrupted)
    if (!g_cond_wait_until (&self->changed, &self->lock, deadline))
      break;
  changed = self->generation != state->seen;
  g_mutex_unlock (&self->lock);
  return changed;
}

static void
tke_virtual_reader_manager_interrupt (TkeReaderManager *manager, gpointer data)
{
  TkeVirtualReaderManager *self = TKE_VIRTUAL_READER_MANAGER (manager);
  WatchState *state = data;

  g_mutex_lock (&self->lock);
  state->interrupted = TRUE;
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
}

static TkeCardConnection *
tke_virtual_reader_manager_connect (TkeReaderManager *manager, const char *reader, GError **error)
{
  TkeVirtualReaderManager *self = TKE_VIRTUAL_READER_MANAGER (manager);
  TkeVirtualConnection *connection = NULL;
  Slot *slot;

  g_mutex_lock (&self->lock);
  slot = find_slot (self, reader);
  if (slot == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                 _ ("The reader \"%s\" is not connected: plug it in or choose another."), reader);
  else if (slot->card == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD, _ ("There is no card in \"%s\"."), reader);
  else
    {
      connection = g_object_new (TKE_TYPE_VIRTUAL_CONNECTION, "reader-name", reader, NULL);
      connection->manager = g_object_ref (self);
      connection->slot = slot_ref (slot);
      connection->insertion = slot->insertion;
    }
  g_mutex_unlock (&self->lock);
  return connection != NULL ? TKE_CARD_CONNECTION (connection) : NULL;
}

static void
tke_virtual_reader_manager_finalize (GObject *object)
{
  TkeVirtualReaderManager *self = TKE_VIRTUAL_READER_MANAGER (object);

  for (guint i = 0; i < self->slots->len; i++)
    {
      Slot *slot = g_ptr_array_index (self->slots, i);

      slot->gone = TRUE;
      pull_card_locked (self, slot);
    }
  g_ptr_array_unref (self->slots);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->changed);

  G_OBJECT_CLASS (tke_virtual_reader_manager_parent_class)->finalize (object);
}

static void
tke_virtual_reader_manager_class_init (TkeVirtualReaderManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TkeReaderManagerClass *manager_class = TKE_READER_MANAGER_CLASS (klass);

  object_class->finalize = tke_virtual_reader_manager_finalize;

  manager_class->thread_state_new = tke_virtual_reader_manager_thread_state_new;
  manager_class->thread_state_free = tke_virtual_reader_manager_thread_state_free;
  manager_class->list = tke_virtual_reader_manager_list;
  manager_class->wait = tke_virtual_reader_manager_wait;
  manager_class->interrupt = tke_virtual_reader_manager_interrupt;
  manager_class->connect = tke_virtual_reader_manager_connect;
}

static void
tke_virtual_reader_manager_init (TkeVirtualReaderManager *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->changed);
  self->slots = g_ptr_array_new_with_free_func ((GDestroyNotify) slot_unref);
}

TkeReaderManager *
tke_virtual_reader_manager_new (void)
{
  return g_object_new (TKE_TYPE_VIRTUAL_READER_MANAGER, NULL);
}

gboolean
tke_virtual_reader_manager_add_reader (TkeVirtualReaderManager *self, const char *name,
                                       GError **error)
{
  Slot *slot;
  gboolean ok = FALSE;

  g_return_val_if_fail (TKE_IS_VIRTUAL_READER_MANAGER (self), FALSE);
  g_return_val_if_fail (name != NULL && *name != '\0', FALSE);

  g_mutex_lock (&self->lock);
  if (find_slot (self, name) != NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                 _ ("A reader named \"%s\" is already connected."), name);
  else
    {
      slot = g_new0 (Slot, 1);
      g_atomic_ref_count_init (&slot->ref);
      slot->name = g_strdup (name);
      g_ptr_array_add (self->slots, slot);
      self->generation++;
      g_cond_broadcast (&self->changed);
      ok = TRUE;
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

void
tke_virtual_reader_manager_remove_reader (TkeVirtualReaderManager *self, const char *name)
{
  Slot *slot;

  g_return_if_fail (TKE_IS_VIRTUAL_READER_MANAGER (self));

  g_mutex_lock (&self->lock);
  slot = find_slot (self, name);
  if (slot != NULL)
    {
      pull_card_locked (self, slot);
      slot->gone = TRUE;
      g_ptr_array_remove (self->slots, slot);
      self->generation++;
      g_cond_broadcast (&self->changed);
    }
  g_mutex_unlock (&self->lock);
}

gboolean
tke_virtual_reader_manager_insert (TkeVirtualReaderManager *self, const char *reader,
                                   TkeVirtualCard *card, GError **error)
{
  Slot *slot;
  gboolean ok = FALSE;

  g_return_val_if_fail (TKE_IS_VIRTUAL_READER_MANAGER (self), FALSE);
  g_return_val_if_fail (TKE_IS_VIRTUAL_CARD (card), FALSE);

  g_mutex_lock (&self->lock);
  slot = find_slot (self, reader);
  if (slot == NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER, _ ("The reader \"%s\" is not connected."),
                 reader);
  else if (slot->card != NULL)
    g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                 _ ("The reader \"%s\" already holds a card: remove it first."), reader);
  else
    {
      slot->card = g_object_ref (card);
      slot->insertion++;
      tke_virtual_card_power_on (card);
      self->generation++;
      g_cond_broadcast (&self->changed);
      ok = TRUE;
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

void
tke_virtual_reader_manager_remove (TkeVirtualReaderManager *self, const char *reader)
{
  Slot *slot;

  g_return_if_fail (TKE_IS_VIRTUAL_READER_MANAGER (self));

  g_mutex_lock (&self->lock);
  slot = find_slot (self, reader);
  if (slot != NULL)
    pull_card_locked (self, slot);
  g_mutex_unlock (&self->lock);
}

void
tke_virtual_reader_manager_remove_after (TkeVirtualReaderManager *self, const char *reader, guint n)
{
  Slot *slot;

  g_return_if_fail (TKE_IS_VIRTUAL_READER_MANAGER (self));

  g_mutex_lock (&self->lock);
  slot = find_slot (self, reader);
  if (slot != NULL && slot->card != NULL)
    slot->remove_after = n;
  g_mutex_unlock (&self->lock);
}
