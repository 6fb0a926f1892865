/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo's world: the embedded service, the in-process readers and the wallet of cards, with
 * what each card holds read through the card profile on a thread. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "tke-card-profile.h"
#include "tke-demo-world.h"
#include "tke-error.h"
#include "tke-softunit-service.h"
#include "tke-vcard-engine.h"
#include "tke-virtual-reader.h"

/* The reader the wallet reads its cards in: private to that one read, never watched. */
#define WALLET_READER_NAME "Demo wallet"
/* How long a swapped card waits for the watchers to report the removal of the card before it. */
#define SWAP_FALLBACK_MS 1000
#define FIRST_SERIAL     1001

struct _TkeDemoCard
{
  GObject parent_instance;

  char *label;
  guint32 serial;
  TkeDemoLocation location;
  char *summary;
  TkeVcardEngine *engine;

  guint reads;  /* reads under way (each holds the engine while it runs) */
  guint64 move; /* rises on every insert and removal: a read of an earlier stay is stale */
};

G_DEFINE_FINAL_TYPE (TkeDemoCard, tke_demo_card, G_TYPE_OBJECT)

enum
{
  CARD_PROP_0,
  CARD_PROP_LABEL,
  CARD_PROP_SERIAL,
  CARD_PROP_LOCATION,
  CARD_PROP_SUMMARY,
  CARD_PROP_READING,
  CARD_N_PROPS
};

static GParamSpec *card_props[CARD_N_PROPS];

typedef struct
{
  TkeDemoCard *card;     /* in the reader, or NULL */
  TkeDemoCard *incoming; /* waiting to go in, or NULL */
  gboolean removal_unseen;
  guint fallback_id;
} ReaderSlot;

struct _TkeDemoWorld
{
  GObject parent_instance;

  TkeSoftunitService *service;
  TkeReaderManager *readers;
  GListStore *cards;
  char *workspace;
  GCancellable *cancellable;
  ReaderSlot slots[3]; /* indexed by TkeDemoLocation; 0 unused */
};

G_DEFINE_FINAL_TYPE (TkeDemoWorld, tke_demo_world, G_TYPE_OBJECT)

enum
{
  SIGNAL_READERS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *const reader_names[3] = { NULL, TKE_DEMO_READER_1_NAME, TKE_DEMO_READER_2_NAME };

typedef struct
{
  TkeDemoCard *card;
  TkeVcardEngine *engine;
  TkeDemoLocation reader; /* where it is read: the wallet or a world reader */
  guint64 move;
} ReadJob;

static void try_insert (TkeDemoWorld *self, TkeDemoLocation reader);

/* ---- the card ---- */

static void
tke_demo_card_finalize (GObject *object)
{
  TkeDemoCard *self = TKE_DEMO_CARD (object);

  g_free (self->label);
  g_free (self->summary);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (tke_demo_card_parent_class)->finalize (object);
}

static void
tke_demo_card_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeDemoCard *self = TKE_DEMO_CARD (object);

  switch (prop_id)
    {
      case CARD_PROP_LABEL:
        g_value_set_string (value, self->label);
        break;
      case CARD_PROP_SERIAL:
        g_value_set_uint (value, self->serial);
        break;
      case CARD_PROP_LOCATION:
        g_value_set_uint (value, self->location);
        break;
      case CARD_PROP_SUMMARY:
        g_value_set_string (value, self->summary);
        break;
      case CARD_PROP_READING:
        g_value_set_boolean (value, self->reads > 0);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_demo_card_class_init (TkeDemoCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_demo_card_finalize;
  object_class->get_property = tke_demo_card_get_property;

  card_props[CARD_PROP_LABEL] =
      g_param_spec_string ("label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  card_props[CARD_PROP_SERIAL] = g_param_spec_uint ("serial", NULL, NULL, 0, G_MAXUINT32, 0,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  card_props[CARD_PROP_LOCATION] =
      g_param_spec_uint ("location", NULL, NULL, TKE_DEMO_LOCATION_WALLET,
                         TKE_DEMO_LOCATION_READER_2, TKE_DEMO_LOCATION_WALLET,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  card_props[CARD_PROP_SUMMARY] =
      g_param_spec_string ("summary", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  card_props[CARD_PROP_READING] =
      g_param_spec_boolean ("reading", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, CARD_N_PROPS, card_props);
}

static void
tke_demo_card_init (TkeDemoCard *self)
{
}

static TkeDemoCard *
tke_demo_card_new (guint index)
{
  TkeDemoCard *self = g_object_new (TKE_TYPE_DEMO_CARD, NULL);

  /* Translators: the name of a virtual card in the demo's wallet. */
  self->label = g_strdup_printf (_ ("Card %u"), index + 1);
  self->serial = FIRST_SERIAL + index;
  self->engine = tke_vcard_engine_new_blank (self->serial, TKE_VCARD_MGMT_ALG_AES192);
  self->summary = g_strdup (_ ("Blank card"));
  return self;
}

static void
card_set_location (TkeDemoCard *card, TkeDemoLocation location)
{
  card->location = location;
  card->move++;
  g_object_notify_by_pspec (G_OBJECT (card), card_props[CARD_PROP_LOCATION]);
}

static void
card_set_summary (TkeDemoCard *card, char *summary)
{
  g_free (card->summary);
  card->summary = summary;
  g_object_notify_by_pspec (G_OBJECT (card), card_props[CARD_PROP_SUMMARY]);
}

const char *
tke_demo_card_get_label (TkeDemoCard *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_CARD (self), NULL);
  return self->label;
}

guint32
tke_demo_card_get_serial (TkeDemoCard *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_CARD (self), 0);
  return self->serial;
}

TkeDemoLocation
tke_demo_card_get_location (TkeDemoCard *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_CARD (self), TKE_DEMO_LOCATION_WALLET);
  return self->location;
}

const char *
tke_demo_card_get_summary (TkeDemoCard *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_CARD (self), NULL);
  return self->summary;
}

gboolean
tke_demo_card_get_reading (TkeDemoCard *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_CARD (self), FALSE);
  return self->reads > 0;
}

/* ---- reading what a card holds ---- */

static char *
summary_of (const TkeCardInfo *info)
{
  g_autoptr (GString) text = NULL;

  if (!info->initialized)
    return g_strdup (info->admin_name != NULL ? _ ("PIV card with a signature key, not a TKE card")
                                              : _ ("Blank card"));

  /* Translators: %s is the description an operator gave the card. */
  text = g_string_new (NULL);
  g_string_append_printf (text, _ ("TKE card “%s”"), info->description);
  if (info->admin_name != NULL)
    /* Translators: %s is the administrator's name on the card. */
    g_string_append_printf (text, _ (" · administrator %s"), info->admin_name);
  if (info->parts->len > 0)
    g_string_append_printf (
        text, g_dngettext (GETTEXT_PACKAGE, " · %u key part", " · %u key parts", info->parts->len),
        info->parts->len);
  else if (info->admin_name == NULL)
    g_string_append (text, _ (" · no key parts"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
read_job_free (ReadJob *job)
{
  g_clear_object (&job->card);
  g_clear_object (&job->engine);
  g_free (job);
}

static TkeCardInfo *
read_card_info (TkeReaderManager *readers, const char *reader, GError **error)
{
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  TkeCardInfo *info;

  connection = tke_reader_manager_connect (readers, reader, error);
  if (connection == NULL)
    return NULL;
  piv = tke_piv_client_new (connection);
  info = tke_card_profile_read_info (piv, error);
  tke_card_connection_disconnect (connection, FALSE);
  return info;
}

/* On a pool thread. A wallet card is read in a reader of its own, which nothing else can reach:
 * the card is not in a world reader until this read is over (see try_insert). */
static void
read_card_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TkeDemoWorld *self = source;
  ReadJob *job = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardInfo) info = NULL;

  if (job->reader == TKE_DEMO_LOCATION_WALLET)
    {
      g_autoptr (TkeReaderManager) wallet = tke_virtual_reader_manager_new ();
      TkeVirtualReaderManager *manager = TKE_VIRTUAL_READER_MANAGER (wallet);

      if (tke_virtual_reader_manager_add_reader (manager, WALLET_READER_NAME, &error) &&
          tke_virtual_reader_manager_insert (manager, WALLET_READER_NAME,
                                             TKE_VIRTUAL_CARD (job->engine), &error))
        {
          info = read_card_info (wallet, WALLET_READER_NAME, &error);
          tke_virtual_reader_manager_remove (manager, WALLET_READER_NAME);
        }
    }
  else
    info = read_card_info (self->readers, reader_names[job->reader], &error);

  if (info == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, summary_of (info), g_free);
}

static void
read_card_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TkeDemoWorld *self = TKE_DEMO_WORLD (source);
  ReadJob *job = g_task_get_task_data (G_TASK (result));
  TkeDemoCard *card = job->card;
  g_autoptr (GError) error = NULL;
  g_autofree char *summary = g_task_propagate_pointer (G_TASK (result), &error);

  card->reads--;
  /* A card pulled while it was read in a reader reads as removed: its wallet read says more. */
  if (card->move == job->move)
    {
      if (summary != NULL)
        card_set_summary (card, g_steal_pointer (&summary));
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        /* Translators: %s says why the card could not be read. */
        card_set_summary (card, g_strdup_printf (_ ("Could not be read: %s"), error->message));
    }
  if (card->reads == 0)
    g_object_notify_by_pspec (G_OBJECT (card), card_props[CARD_PROP_READING]);

  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (self->slots[r].incoming == card)
      try_insert (self, r);
}

static void
read_card (TkeDemoWorld *self, TkeDemoCard *card)
{
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, read_card_done, NULL);
  ReadJob *job = g_new0 (ReadJob, 1);

  job->card = g_object_ref (card);
  job->engine = g_object_ref (card->engine);
  job->reader = card->location;
  job->move = card->move;
  g_task_set_source_tag (task, read_card);
  g_task_set_task_data (task, job, (GDestroyNotify) read_job_free);

  if (card->reads++ == 0)
    g_object_notify_by_pspec (G_OBJECT (card), card_props[CARD_PROP_READING]);
  g_task_run_in_thread (task, read_card_thread);
}

/* ---- the readers ---- */

static void
clear_incoming (TkeDemoWorld *self, TkeDemoLocation reader)
{
  ReaderSlot *slot = &self->slots[reader];

  g_clear_object (&slot->incoming);
}

/* The card in reader goes back to the wallet, where it is read again. */
static void
pull_card (TkeDemoWorld *self, TkeDemoLocation reader)
{
  ReaderSlot *slot = &self->slots[reader];
  g_autoptr (TkeDemoCard) card = g_steal_pointer (&slot->card);

  if (card == NULL)
    return;
  tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (self->readers),
                                     reader_names[reader]);
  slot->removal_unseen = TRUE;
  card_set_location (card, TKE_DEMO_LOCATION_WALLET);
  read_card (self, card);
}

static gboolean
swap_fallback_cb (gpointer data)
{
  TkeDemoWorld *self = data;

  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (self->slots[r].fallback_id != 0 &&
        g_source_get_id (g_main_current_source ()) == self->slots[r].fallback_id)
      {
        self->slots[r].fallback_id = 0;
        self->slots[r].removal_unseen = FALSE;
        try_insert (self, r);
      }
  return G_SOURCE_REMOVE;
}

/* Inserts the incoming card of reader when nothing holds it back: a removal that watchers have
 * not reported yet (they would see a swap as no change at all), or a read of the card in the
 * wallet (the card must be in one place at a time). */
static void
try_insert (TkeDemoWorld *self, TkeDemoLocation reader)
{
  ReaderSlot *slot = &self->slots[reader];
  g_autoptr (GError) error = NULL;
  TkeDemoCard *card = slot->incoming;

  if (card == NULL || slot->card != NULL || card->reads > 0)
    return;
  if (slot->removal_unseen)
    {
      if (slot->fallback_id == 0)
        slot->fallback_id = g_timeout_add (SWAP_FALLBACK_MS, swap_fallback_cb, self);
      return;
    }

  if (!tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (self->readers),
                                          reader_names[reader], TKE_VIRTUAL_CARD (card->engine),
                                          &error))
    {
      /* Only another hand on the readers (a test) gets here: the card stays in the wallet. */
      g_warning ("%s could not go into %s: %s", card->label, reader_names[reader], error->message);
      clear_incoming (self, reader);
      g_signal_emit (self, signals[SIGNAL_READERS_CHANGED], 0);
      return;
    }
  slot->card = g_steal_pointer (&slot->incoming);
  card_set_location (card, reader);
  g_signal_emit (self, signals[SIGNAL_READERS_CHANGED], 0);
}

static void
card_removed_cb (TkeReaderManager *readers, const char *name, gpointer data)
{
  TkeDemoWorld *self = data;

  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (g_strcmp0 (name, reader_names[r]) == 0 && self->slots[r].removal_unseen)
      {
        self->slots[r].removal_unseen = FALSE;
        g_clear_handle_id (&self->slots[r].fallback_id, g_source_remove);
        try_insert (self, r);
      }
}

/* ---- the world ---- */

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else if (g_unlink (child) != 0)
          g_warning ("Could not remove %s from the demo workspace: %s", child, g_strerror (errno));
      }
  if (g_rmdir (path) != 0)
    g_warning ("Could not remove the demo workspace %s: %s", path, g_strerror (errno));
}

static void
tke_demo_world_dispose (GObject *object)
{
  TkeDemoWorld *self = TKE_DEMO_WORLD (object);

  g_cancellable_cancel (self->cancellable);
  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    {
      g_clear_handle_id (&self->slots[r].fallback_id, g_source_remove);
      g_clear_object (&self->slots[r].incoming);
      g_clear_object (&self->slots[r].card);
    }
  if (self->readers != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->readers, self);
      for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
        tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (self->readers),
                                           reader_names[r]);
    }
  g_clear_object (&self->readers);
  if (self->service != NULL)
    tke_softunit_service_stop (self->service);
  g_clear_object (&self->service);
  g_clear_object (&self->cards);
  if (self->workspace != NULL)
    remove_tree (self->workspace);
  g_clear_pointer (&self->workspace, g_free);

  G_OBJECT_CLASS (tke_demo_world_parent_class)->dispose (object);
}

static void
tke_demo_world_finalize (GObject *object)
{
  TkeDemoWorld *self = TKE_DEMO_WORLD (object);

  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (tke_demo_world_parent_class)->finalize (object);
}

static void
tke_demo_world_class_init (TkeDemoWorldClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tke_demo_world_dispose;
  object_class->finalize = tke_demo_world_finalize;

  /* A card went into a reader or came out of one (or a card on its way in was turned back). */
  signals[SIGNAL_READERS_CHANGED] =
      g_signal_new ("readers-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
}

static void
tke_demo_world_init (TkeDemoWorld *self)
{
  self->cancellable = g_cancellable_new ();
  self->cards = g_list_store_new (TKE_TYPE_DEMO_CARD);
}

TkeDemoWorld *
tke_demo_world_new (GError **error)
{
  g_autoptr (TkeDemoWorld) self = g_object_new (TKE_TYPE_DEMO_WORLD, NULL);
  g_autoptr (GError) local_error = NULL;

  self->workspace = g_dir_make_tmp ("tke-demo-XXXXXX", &local_error);
  if (self->workspace == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The demo could not make its workspace directory: %s", local_error->message);
      return NULL;
    }

  self->service =
      tke_softunit_service_new_ephemeral (TKE_DEMO_OPERATIONAL, TKE_DEMO_FAILOVER, &local_error);
  if (self->service == NULL || !tke_softunit_service_start (self->service, &local_error))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The demo's crypto unit service could not start: %s", local_error->message);
      return NULL;
    }

  self->readers = tke_virtual_reader_manager_new ();
  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (!tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (self->readers),
                                                reader_names[r], error))
      return NULL;
  g_signal_connect (self->readers, "card-removed", G_CALLBACK (card_removed_cb), self);

  for (guint i = 0; i < TKE_DEMO_N_CARDS; i++)
    {
      g_autoptr (TkeDemoCard) card = tke_demo_card_new (i);

      g_list_store_append (self->cards, card);
      read_card (self, card);
    }

  return g_steal_pointer (&self);
}

TkeReaderManager *
tke_demo_world_get_reader_manager (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return self->readers;
}

const char *
tke_demo_world_get_reader_name (TkeDemoWorld *self, TkeDemoLocation reader)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  g_return_val_if_fail (
      reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2, NULL);
  return reader_names[reader];
}

const char *
tke_demo_world_get_service_url (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return tke_softunit_service_get_url (self->service);
}

const char *
tke_demo_world_get_service_fingerprint (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return tke_softunit_service_get_fingerprint (self->service);
}

const char *
tke_demo_world_get_service_api_key (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return tke_softunit_service_get_api_key (self->service);
}

const char *
tke_demo_world_get_workspace_dir (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return self->workspace;
}

GListModel *
tke_demo_world_get_cards (TkeDemoWorld *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  return G_LIST_MODEL (self->cards);
}

TkeDemoCard *
tke_demo_world_get_card_in (TkeDemoWorld *self, TkeDemoLocation reader)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  g_return_val_if_fail (
      reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2, NULL);
  return self->slots[reader].card;
}

TkeDemoCard *
tke_demo_world_get_card_coming (TkeDemoWorld *self, TkeDemoLocation reader)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), NULL);
  g_return_val_if_fail (
      reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2, NULL);
  return self->slots[reader].incoming;
}

gboolean
tke_demo_world_insert (TkeDemoWorld *self, TkeDemoCard *card, TkeDemoLocation reader,
                       GError **error)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (self), FALSE);
  g_return_val_if_fail (TKE_IS_DEMO_CARD (card), FALSE);

  if (reader != TKE_DEMO_LOCATION_READER_1 && reader != TKE_DEMO_LOCATION_READER_2)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   "The demo has reader 1 and reader 2 only.");
      return FALSE;
    }
  if (card->location == reader)
    return TRUE;

  /* The card leaves where it is (another reader, or the way into one) ... */
  if (card->location != TKE_DEMO_LOCATION_WALLET)
    pull_card (self, card->location);
  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (self->slots[r].incoming == card)
      clear_incoming (self, r);
  /* ... and the card in the reader makes room for it. */
  pull_card (self, reader);
  g_set_object (&self->slots[reader].incoming, card);
  g_signal_emit (self, signals[SIGNAL_READERS_CHANGED], 0);

  try_insert (self, reader);
  return TRUE;
}

void
tke_demo_world_remove (TkeDemoWorld *self, TkeDemoLocation reader)
{
  g_return_if_fail (TKE_IS_DEMO_WORLD (self));
  g_return_if_fail (reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2);

  clear_incoming (self, reader);
  pull_card (self, reader);
  g_signal_emit (self, signals[SIGNAL_READERS_CHANGED], 0);
}

void
tke_demo_world_refresh (TkeDemoWorld *self)
{
  g_return_if_fail (TKE_IS_DEMO_WORLD (self));

  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    if (self->slots[r].card != NULL)
      read_card (self, self->slots[r].card);
}
