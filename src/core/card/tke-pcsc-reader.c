/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The PC/SC reader manager and its card connections, over pcsc-lite. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <winscard.h>

#include "tke-error.h"
#include "tke-part10.h"
#include "tke-pcsc-reader.h"

#define PNP_READER "\\\\?PnP?\\Notification"

/* How long a failed transmit waits for pcscd to notice that the card left (it polls the reader
 * every 400 ms), to tell "card removed" from other failures. */
#define REMOVAL_GRACE_MS 1500
/* How long a card pcscd lists as present may take to answer a connection. */
#define SETTLE_MS 2000

struct _TkePcscReaderManager
{
  TkeReaderManager parent_instance;
};

G_DEFINE_FINAL_TYPE (TkePcscReaderManager, tke_pcsc_reader_manager, TKE_TYPE_READER_MANAGER)

/* The per-thread state: one SCARDCONTEXT and the reader states last seen through it. */
typedef struct
{
  SCARDCONTEXT context;
  GMutex lock;
  gboolean interrupted;
  GPtrArray *names;
  GArray *event_states; /* DWORD per name */
  DWORD pnp_state;
} PcscState;

#define TKE_TYPE_PCSC_CONNECTION (tke_pcsc_connection_get_type ())
G_DECLARE_FINAL_TYPE (TkePcscConnection, tke_pcsc_connection, TKE, PCSC_CONNECTION,
                      TkeCardConnection)

struct _TkePcscConnection
{
  TkeCardConnection parent_instance;

  SCARDCONTEXT context;
  SCARDHANDLE card;
  DWORD protocol;
  gboolean open;
  gboolean features_known;
  TkePart10Features features;
};

G_DEFINE_FINAL_TYPE (TkePcscConnection, tke_pcsc_connection, TKE_TYPE_CARD_CONNECTION)

static gboolean
pcsc_failed (GError **error, LONG rv, const char *reader, const char *what)
{
  switch (rv)
    {
      case SCARD_E_NO_SERVICE:
      case SCARD_E_SERVICE_STOPPED:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                     _ ("The smart card service (pcscd) is not running: start it and try "
                        "again."));
        break;
      case SCARD_E_NO_READERS_AVAILABLE:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                     _ ("No smart card reader is connected: plug one in."));
        break;
      case SCARD_E_UNKNOWN_READER:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                     _ ("The reader \"%s\" is not connected: plug it in or choose another."),
                     reader);
        break;
      case SCARD_E_READER_UNAVAILABLE:
        g_set_error (error, TKE_ERROR, TKE_ERROR_READER_GONE,
                     /* TRANSLATORS: the first %s is the reader's name, the second what was going
                      * on, such as "a command was being sent". */
                     _ ("The reader \"%s\" was unplugged while %s."), reader, what);
        break;
      case SCARD_E_NO_SMARTCARD:
        g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD, _ ("There is no card in \"%s\"."),
                     reader);
        break;
      case SCARD_W_REMOVED_CARD:
        g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED,
                     /* TRANSLATORS: the first %s is the reader's name, the second what was going
                      * on, such as "a command was being sent". */
                     _ ("The card was removed from \"%s\" while %s: insert it again and repeat "
                        "the step."),
                     reader, what);
        break;
      case SCARD_E_SHARING_VIOLATION:
        g_set_error (error, TKE_ERROR, TKE_ERROR_SHARING_VIOLATION,
                     _ ("Another program is using the card in \"%s\": close it and try again."),
                     reader);
        break;
      case SCARD_W_UNRESPONSIVE_CARD:
      case SCARD_W_UNPOWERED_CARD:
        g_set_error (error, TKE_ERROR, TKE_ERROR_TRANSMIT_FAILED,
                     _ ("The card in \"%s\" does not respond: take it out and insert it again."),
                     reader);
        break;
      default:
        g_set_error (error, TKE_ERROR, TKE_ERROR_TRANSMIT_FAILED,
                     /* TRANSLATORS: the first %s is the reader's name, the second what was going
                      * on, such as "a command was being sent", the third the smart card service's
                      * reason. */
                     _ ("Talking to the card in \"%s\" failed while %s: %s."), reader, what,
                     pcsc_stringify_error (rv));
        break;
    }
  return FALSE;
}

/* ---- the connection ---- */

static const char *
reader_of (TkePcscConnection *self)
{
  return tke_card_connection_get_reader_name (TKE_CARD_CONNECTION (self));
}

/* After a failure: did the card leave? pcscd learns of it at its next poll of the reader. */
static gboolean
card_left (TkePcscConnection *self)
{
  SCARD_READERSTATE state = { 0 };
  gint64 deadline = g_get_monotonic_time () + REMOVAL_GRACE_MS * 1000;

  state.szReader = reader_of (self);
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  for (;;)
    {
      LONG rv = SCardGetStatusChange (self->context, 0, &state, 1);
      gint64 left;

      if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
        return rv == SCARD_E_UNKNOWN_READER;
      if (state.dwEventState & (SCARD_STATE_EMPTY | SCARD_STATE_UNKNOWN))
        return TRUE;
      left = (deadline - g_get_monotonic_time ()) / 1000;
      if (left <= 0)
        return FALSE;
      state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
      rv = SCardGetStatusChange (self->context, left, &state, 1);
      if (rv == SCARD_E_TIMEOUT)
        return FALSE;
      if (rv != SCARD_S_SUCCESS)
        return rv == SCARD_E_UNKNOWN_READER;
      state.dwCurrentState = SCARD_STATE_UNAWARE;
    }
}

static gboolean
transmit_failed (TkePcscConnection *self, LONG rv, const char *what, GError **error)
{
  if (rv != SCARD_W_REMOVED_CARD && rv != SCARD_E_NO_SMARTCARD &&
      rv != SCARD_E_READER_UNAVAILABLE && rv != SCARD_E_SHARING_VIOLATION && card_left (self))
    rv = SCARD_W_REMOVED_CARD;
  if (rv == SCARD_E_NO_SMARTCARD)
    rv = SCARD_W_REMOVED_CARD; /* we had a card: it is gone */
  return pcsc_failed (error, rv, reader_of (self), what);
}

static GBytes *
tke_pcsc_connection_transmit_raw (TkeCardConnection *connection, GBytes *command, GError **error)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);
  const SCARD_IO_REQUEST *pci = self->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  guint8 answer[TKE_APDU_MAX_LE + 2];
  DWORD len = sizeof answer;
  LONG rv;

  rv = SCardTransmit (self->card, pci, g_bytes_get_data (command, NULL), g_bytes_get_size (command),
                      NULL, answer, &len);
  if (rv != SCARD_S_SUCCESS)
    {
      transmit_failed (self, rv,
                       /* TRANSLATORS: what was going on, after "while". */
                       _ ("a command was being sent"), error);
      return NULL;
    }
  if (len > sizeof answer)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The reader returned more bytes than it was given room for."));
      return NULL;
    }
  /* A reader whose card left mid-exchange may hand back nothing at all (vpcd does). */
  if (len < 2 && card_left (self))
    {
      pcsc_failed (error, SCARD_W_REMOVED_CARD, reader_of (self),
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("a command was being sent"));
      return NULL;
    }
  return g_bytes_new (answer, len);
}

static gboolean
tke_pcsc_connection_begin_transaction (TkeCardConnection *connection, GError **error)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);
  LONG rv = SCardBeginTransaction (self->card);

  if (rv == SCARD_W_RESET_CARD)
    {
      /* Another program reset the card: our handle must learn it before it can go on. */
      DWORD protocol = 0;

      rv = SCardReconnect (self->card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                           SCARD_LEAVE_CARD, &protocol);
      if (rv == SCARD_S_SUCCESS)
        {
          self->protocol = protocol;
          rv = SCardBeginTransaction (self->card);
        }
    }
  if (rv != SCARD_S_SUCCESS)
    return transmit_failed (self, rv,
                            /* TRANSLATORS: what was going on, after "while". */
                            _ ("the card was being reserved"), error);
  return TRUE;
}

static void
tke_pcsc_connection_end_transaction (TkeCardConnection *connection)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);
  LONG rv = SCardEndTransaction (self->card, SCARD_LEAVE_CARD);

  if (rv != SCARD_S_SUCCESS)
    g_debug ("Ending the transaction on \"%s\": %s", reader_of (self), pcsc_stringify_error (rv));
}

static GBytes *
tke_pcsc_connection_get_atr (TkeCardConnection *connection)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);
  guint8 atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr;
  DWORD state = 0, protocol = 0;
  LONG rv;

  rv = SCardStatus (self->card, NULL, NULL, &state, &protocol, atr, &atr_len);
  if (rv != SCARD_S_SUCCESS || atr_len > sizeof atr)
    return g_bytes_new (NULL, 0);
  return g_bytes_new (atr, atr_len);
}

static gboolean
tke_pcsc_connection_has_pin_pad (TkeCardConnection *connection)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);

  if (!self->features_known)
    {
      g_autoptr (GError) error = NULL;

      if (!tke_part10_get_features (self->card, &self->features, &error))
        g_debug ("No part 10 features for \"%s\": %s", reader_of (self), error->message);
      self->features_known = TRUE;
    }
  return self->features.verify_pin_direct != 0;
}

static gboolean
tke_pcsc_connection_verify_pin_pad (TkeCardConnection *connection, guint8 reference, guint16 *sw,
                                    GError **error)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);

  tke_pcsc_connection_has_pin_pad (connection);
  return tke_part10_verify_pin (self->card, self->features.verify_pin_direct, reference, sw, error);
}

static void
tke_pcsc_connection_disconnect (TkeCardConnection *connection, gboolean reset)
{
  TkePcscConnection *self = TKE_PCSC_CONNECTION (connection);

  if (!self->open)
    return;
  SCardDisconnect (self->card, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
  SCardReleaseContext (self->context);
  self->open = FALSE;
}

static void
tke_pcsc_connection_dispose (GObject *object)
{
  tke_card_connection_disconnect (TKE_CARD_CONNECTION (object), FALSE);

  G_OBJECT_CLASS (tke_pcsc_connection_parent_class)->dispose (object);
}

static void
tke_pcsc_connection_class_init (TkePcscConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TkeCardConnectionClass *connection_class = TKE_CARD_CONNECTION_CLASS (klass);

  object_class->dispose = tke_pcsc_connection_dispose;

  connection_class->transmit_raw = tke_pcsc_connection_transmit_raw;
  connection_class->begin_transaction = tke_pcsc_connection_begin_transaction;
  connection_class->end_transaction = tke_pcsc_connection_end_transaction;
  connection_class->get_atr = tke_pcsc_connection_get_atr;
  connection_class->has_pin_pad = tke_pcsc_connection_has_pin_pad;
  connection_class->verify_pin_pad = tke_pcsc_connection_verify_pin_pad;
  connection_class->disconnect = tke_pcsc_connection_disconnect;
}

static void
tke_pcsc_connection_init (TkePcscConnection *self)
{
}

/* ---- the manager ---- */

static void
pcsc_state_clear_readers (PcscState *state)
{
  g_ptr_array_set_size (state->names, 0);
  g_array_set_size (state->event_states, 0);
}

static gpointer
tke_pcsc_reader_manager_thread_state_new (TkeReaderManager *manager, GError **error)
{
  PcscState *state = g_new0 (PcscState, 1);
  LONG rv = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &state->context);

  if (rv != SCARD_S_SUCCESS)
    {
      g_free (state);
      pcsc_failed (error, rv, "",
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("connecting to the smart card service"));
      return NULL;
    }
  g_mutex_init (&state->lock);
  state->names = g_ptr_array_new_with_free_func (g_free);
  state->event_states = g_array_new (FALSE, TRUE, sizeof (DWORD));
  return state;
}

static void
tke_pcsc_reader_manager_thread_state_free (TkeReaderManager *manager, gpointer data)
{
  PcscState *state = data;

  SCardReleaseContext (state->context);
  g_mutex_clear (&state->lock);
  g_ptr_array_unref (state->names);
  g_array_unref (state->event_states);
  g_free (state);
}

static GPtrArray *
tke_pcsc_reader_manager_list (TkeReaderManager *manager, gpointer data, GError **error)
{
  PcscState *state = data;
  PcscState *own = NULL;
  g_autoptr (GPtrArray) result = NULL;
  g_autofree SCARD_READERSTATE *states = NULL;
  g_autofree char *multi = NULL;
  DWORD multi_len = 0;
  guint n = 0;
  LONG rv;

  if (state == NULL)
    {
      own = tke_pcsc_reader_manager_thread_state_new (manager, error);
      if (own == NULL)
        return NULL;
      state = own;
    }

  result = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_reader_status_free);
  pcsc_state_clear_readers (state);

  rv = SCardListReaders (state->context, NULL, NULL, &multi_len);
  if (rv == SCARD_S_SUCCESS && multi_len > 0)
    {
      multi = g_malloc0 (multi_len + 1);
      rv = SCardListReaders (state->context, NULL, multi, &multi_len);
    }
  if (rv == SCARD_E_NO_READERS_AVAILABLE)
    rv = SCARD_S_SUCCESS;
  else if (rv == SCARD_S_SUCCESS && multi != NULL)
    {
      for (const char *p = multi; *p != '\0' && p < multi + multi_len; p += strlen (p) + 1)
        g_ptr_array_add (state->names, g_strdup (p));
    }
  if (rv != SCARD_S_SUCCESS)
    {
      pcsc_failed (error, rv, "",
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("listing the readers"));
      goto out;
    }

  n = state->names->len;
  states = g_new0 (SCARD_READERSTATE, n + 1);
  for (guint i = 0; i < n; i++)
    {
      states[i].szReader = g_ptr_array_index (state->names, i);
      states[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
  states[n].szReader = PNP_READER;
  states[n].dwCurrentState = SCARD_STATE_UNAWARE;

  rv = SCardGetStatusChange (state->context, 0, states, n + 1);
  if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
    {
      pcsc_failed (error, rv, "",
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("asking the readers for their cards"));
      goto out;
    }

  g_array_set_size (state->event_states, n);
  for (guint i = 0; i < n; i++)
    {
      TkeReaderStatus *status = g_new0 (TkeReaderStatus, 1);
      DWORD event = states[i].dwEventState & ~SCARD_STATE_CHANGED;

      g_array_index (state->event_states, DWORD, i) = event;
      if (event & SCARD_STATE_UNKNOWN)
        {
          g_free (status);
          continue; /* it left between the two calls */
        }
      status->name = g_strdup (states[i].szReader);
      status->card_present = (event & SCARD_STATE_PRESENT) != 0;
      g_ptr_array_add (result, status);
    }
  state->pnp_state = states[n].dwEventState & ~SCARD_STATE_CHANGED;

out:
  if (own != NULL)
    tke_pcsc_reader_manager_thread_state_free (manager, own);
  if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
    return NULL;
  return g_steal_pointer (&result);
}

static gboolean
tke_pcsc_reader_manager_wait (TkeReaderManager *manager, gpointer data, guint timeout_ms,
                              GError **error)
{
  PcscState *state = data;
  guint n = state->names->len;
  g_autofree SCARD_READERSTATE *states = g_new0 (SCARD_READERSTATE, n + 1);
  gboolean interrupted;
  LONG rv;

  for (guint i = 0; i < n; i++)
    {
      states[i].szReader = g_ptr_array_index (state->names, i);
      states[i].dwCurrentState = g_array_index (state->event_states, DWORD, i);
    }
  states[n].szReader = PNP_READER;
  states[n].dwCurrentState = state->pnp_state;

  g_mutex_lock (&state->lock);
  interrupted = state->interrupted;
  g_mutex_unlock (&state->lock);
  if (interrupted)
    return FALSE;

  rv = SCardGetStatusChange (state->context, timeout_ms, states, n + 1);
  switch (rv)
    {
      case SCARD_S_SUCCESS:
      case SCARD_E_TIMEOUT:
      case SCARD_E_UNKNOWN_READER:
        return TRUE;
      case SCARD_E_CANCELLED:
        return FALSE;
      default:
        return pcsc_failed (error, rv, "",
                            /* TRANSLATORS: what was going on, after "while". */
                            _ ("waiting for cards"));
    }
}

static void
tke_pcsc_reader_manager_interrupt (TkeReaderManager *manager, gpointer data)
{
  PcscState *state = data;

  g_mutex_lock (&state->lock);
  state->interrupted = TRUE;
  g_mutex_unlock (&state->lock);
  /* SCardCancel on the waiting thread's own context: that is the one blocked. */
  SCardCancel (state->context);
}

static gboolean
reader_says_present (SCARDCONTEXT context, const char *reader)
{
  SCARD_READERSTATE state = { 0 };

  state.szReader = reader;
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  return SCardGetStatusChange (context, 0, &state, 1) == SCARD_S_SUCCESS &&
         (state.dwEventState & SCARD_STATE_PRESENT) && !(state.dwEventState & SCARD_STATE_MUTE);
}

static TkeCardConnection *
tke_pcsc_reader_manager_connect (TkeReaderManager *manager, const char *reader, GError **error)
{
  g_autoptr (TkePcscConnection) connection = NULL;
  LONG rv;

  connection = g_object_new (TKE_TYPE_PCSC_CONNECTION, "reader-name", reader, NULL);
  rv = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &connection->context);
  if (rv != SCARD_S_SUCCESS)
    {
      pcsc_failed (error, rv, reader,
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("connecting"));
      return NULL;
    }
  for (gint64 deadline = g_get_monotonic_time () + SETTLE_MS * 1000;;)
    {
      rv = SCardConnect (connection->context, reader, SCARD_SHARE_SHARED,
                         SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0, &connection->card,
                         &connection->protocol);
      /* A card that has just arrived may be listed before pcscd has powered it: while the
       * reader still says a card is there, give it a moment. */
      if ((rv != SCARD_E_NO_SMARTCARD && rv != SCARD_W_REMOVED_CARD &&
           rv != SCARD_W_UNPOWERED_CARD && rv != SCARD_W_UNRESPONSIVE_CARD) ||
          g_get_monotonic_time () > deadline || !reader_says_present (connection->context, reader))
        break;
      g_debug ("Connecting to \"%s\": %s; trying again", reader, pcsc_stringify_error (rv));
      g_usleep (50 * 1000);
    }
  if (rv != SCARD_S_SUCCESS)
    {
      SCardReleaseContext (connection->context);
      if (rv == SCARD_W_REMOVED_CARD)
        rv = SCARD_E_NO_SMARTCARD;
      pcsc_failed (error, rv, reader,
                   /* TRANSLATORS: what was going on, after "while". */
                   _ ("connecting"));
      return NULL;
    }
  connection->open = TRUE;
  return TKE_CARD_CONNECTION (g_steal_pointer (&connection));
}

static void
tke_pcsc_reader_manager_class_init (TkePcscReaderManagerClass *klass)
{
  TkeReaderManagerClass *manager_class = TKE_READER_MANAGER_CLASS (klass);

  manager_class->thread_state_new = tke_pcsc_reader_manager_thread_state_new;
  manager_class->thread_state_free = tke_pcsc_reader_manager_thread_state_free;
  manager_class->list = tke_pcsc_reader_manager_list;
  manager_class->wait = tke_pcsc_reader_manager_wait;
  manager_class->interrupt = tke_pcsc_reader_manager_interrupt;
  manager_class->connect = tke_pcsc_reader_manager_connect;
}

static void
tke_pcsc_reader_manager_init (TkePcscReaderManager *self)
{
}

TkeReaderManager *
tke_pcsc_reader_manager_new (void)
{
  return g_object_new (TKE_TYPE_PCSC_READER_MANAGER, NULL);
}
