/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The reader layer against a scripted card: GET RESPONSE, 6Cxx, chaining, transactions, removal
 * and the events a ceremony waits for; part 10 secure PIN entry against a fake SCardControl. */
#include "config.h"

#include <string.h>

#include <reader.h>

#include "tke-error.h"
#include "tke-part10.h"
#include "tke-reader-manager.h"
#include "tke-virtual-reader.h"

/* ---- a scripted card ---- */

#define TEST_TYPE_SCRIPT_CARD (test_script_card_get_type ())
G_DECLARE_FINAL_TYPE (TestScriptCard, test_script_card, TEST, SCRIPT_CARD, GObject)

struct _TestScriptCard
{
  GObject parent_instance;

  GPtrArray *commands; /* every raw C-APDU received, as GBytes */
  GByteArray *chained; /* data received through chaining so far */
  GByteArray *pending; /* what GET RESPONSE still has to give */
  gboolean powered;
  guint hostile; /* 0xCB: 61xx with no data for ever; 0xCC: 6Cxx and 61xx in turn */
};

static void test_script_card_iface_init (TkeVirtualCardInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestScriptCard, test_script_card, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TKE_TYPE_VIRTUAL_CARD,
                                                      test_script_card_iface_init))

static GBytes *
answer (const guint8 *data, gsize len, guint16 sw)
{
  GByteArray *out = g_byte_array_new ();

  if (len > 0)
    g_byte_array_append (out, data, len);
  g_byte_array_append (out, (guint8[]){ sw >> 8, sw & 0xFF }, 2);
  return g_byte_array_free_to_bytes (out);
}

/* Hands out up to 256 bytes of pending, with 61xx while more is left. */
static GBytes *
give_pending (TestScriptCard *self)
{
  gsize n = MIN (self->pending->len, 256);
  guint16 sw = 0x9000;
  GBytes *out;

  if (self->pending->len > n)
    sw = 0x6100 | MIN (self->pending->len - n, 0xFF);
  out = answer (self->pending->data, n, sw);
  g_byte_array_remove_range (self->pending, 0, n);
  return out;
}

static GBytes *
test_script_card_transmit (TkeVirtualCard *card, GBytes *command)
{
  TestScriptCard *self = TEST_SCRIPT_CARD (card);
  TkeApdu apdu;

  g_ptr_array_add (self->commands, g_bytes_ref (command));
  if (!tke_apdu_decode (g_bytes_get_data (command, NULL), g_bytes_get_size (command), &apdu, NULL))
    return answer (NULL, 0, 0x6700);
  if (!self->powered)
    return answer (NULL, 0, 0x6F00);

  if (self->hostile == 0xCB && (apdu.ins == 0xCB || apdu.ins == 0xC0))
    return answer (NULL, 0, 0x6110);
  if (self->hostile == 0xCC && (apdu.ins == 0xCC || apdu.ins == 0xC0))
    return answer (NULL, 0, apdu.ne == 0x20 ? 0x6110 : 0x6C20);
  switch (apdu.ins)
    {
      case 0xC0: /* GET RESPONSE */
        return give_pending (self);
      case 0xCB:
      case 0xCC: /* hostile from now on */
        self->hostile = apdu.ins;
        return test_script_card_transmit (card, command);
      case 0xCA: /* 600 bytes, counting */
        g_byte_array_set_size (self->pending, 0);
        for (guint i = 0; i < 600; i++)
          g_byte_array_append (self->pending, (guint8[]){ i & 0xFF }, 1);
        return give_pending (self);
      case 0xB0: /* insists on Le = 16 */
        if (apdu.ne != 16)
          return answer (NULL, 0, 0x6C10);
        return answer ((const guint8 *) "sixteen bytes!!!", 16, 0x9000);
      case 0xDB: /* chained data; answers with the total length */
        if (apdu.len > 0)
          g_byte_array_append (self->chained, apdu.data, apdu.len);
        if (apdu.cla & 0x10)
          return answer (NULL, 0, 0x9000);
        {
          guint8 total[2] = { self->chained->len >> 8, self->chained->len & 0xFF };

          g_byte_array_set_size (self->chained, 0);
          return answer (total, 2, 0x9000);
        }
      default:
        return answer (NULL, 0, 0x6D00);
    }
}

static GBytes *
test_script_card_get_atr (TkeVirtualCard *card)
{
  static const guint8 atr[] = { 0x3B, 0x80, 0x80, 0x01, 0x01 };

  return g_bytes_new_static (atr, sizeof atr);
}

static void
test_script_card_power_on (TkeVirtualCard *card)
{
  TEST_SCRIPT_CARD (card)->powered = TRUE;
}

static void
test_script_card_power_off (TkeVirtualCard *card)
{
  TEST_SCRIPT_CARD (card)->powered = FALSE;
}

static void
test_script_card_reset (TkeVirtualCard *card)
{
}

static void
test_script_card_iface_init (TkeVirtualCardInterface *iface)
{
  iface->get_atr = test_script_card_get_atr;
  iface->power_on = test_script_card_power_on;
  iface->power_off = test_script_card_power_off;
  iface->reset = test_script_card_reset;
  iface->transmit = test_script_card_transmit;
}

static void
test_script_card_finalize (GObject *object)
{
  TestScriptCard *self = TEST_SCRIPT_CARD (object);

  g_ptr_array_unref (self->commands);
  g_byte_array_unref (self->chained);
  g_byte_array_unref (self->pending);

  G_OBJECT_CLASS (test_script_card_parent_class)->finalize (object);
}

static void
test_script_card_class_init (TestScriptCardClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_script_card_finalize;
}

static void
test_script_card_init (TestScriptCard *self)
{
  self->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  self->chained = g_byte_array_new ();
  self->pending = g_byte_array_new ();
}

/* ---- fixtures ---- */

typedef struct
{
  TkeReaderManager *manager;
  TestScriptCard *card;
  TkeCardConnection *connection;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TkeVirtualReaderManager *vm;

  f->manager = tke_virtual_reader_manager_new ();
  vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  f->card = g_object_new (TEST_TYPE_SCRIPT_CARD, NULL);
  g_assert_true (tke_virtual_reader_manager_add_reader (vm, "Reader 1", &error));
  g_assert_true (tke_virtual_reader_manager_add_reader (vm, "Reader 2", &error));
  g_assert_true (
      tke_virtual_reader_manager_insert (vm, "Reader 1", TKE_VIRTUAL_CARD (f->card), &error));
  g_assert_no_error (error);
  f->connection = tke_reader_manager_connect (f->manager, "Reader 1", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->connection);
  g_clear_object (&f->manager);
  g_clear_object (&f->card);
}

/* ---- tests ---- */

static void
test_reader_get_response (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  const guint8 *bytes;
  guint16 sw = 0;

  got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, 0xCA, 0, 0, .ne = 256 }, &sw,
                                      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);
  g_assert_cmpuint (g_bytes_get_size (got), ==, 600);
  bytes = g_bytes_get_data (got, NULL);
  for (guint i = 0; i < 600; i++)
    g_assert_cmpuint (bytes[i], ==, i & 0xFF);
  /* The command, then two GET RESPONSE. */
  g_assert_cmpuint (f->card->commands->len, ==, 3);
  g_assert_cmpuint (tke_card_connection_get_apdu_count (f->connection), ==, 3);
}

static void
test_reader_wrong_le (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  GBytes *second;
  guint16 sw = 0;

  got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 256 }, &sw,
                                      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), "sixteen bytes!!!", 16);
  g_assert_cmpuint (f->card->commands->len, ==, 2);
  second = g_ptr_array_index (f->card->commands, 1);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second),
                   ((guint8[]){ 0x00, 0xB0, 0x00, 0x00, 0x10 }), 5);
}

/* A card that never finishes its answer ends the command with an error, after a bounded number
 * of APDUs, instead of keeping the ceremony worker in the GET RESPONSE loop. */
static void
test_reader_endless_answer (Fixture *f, gconstpointer data)
{
  const guint8 ins[] = { 0xCB, 0xCC };

  for (guint i = 0; i < G_N_ELEMENTS (ins); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) got = NULL;
      guint16 sw = 0;

      f->card->hostile = 0;
      g_ptr_array_set_size (f->card->commands, 0);
      got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, ins[i], 0, 0, .ne = 16 },
                                          &sw, &error);
      g_assert_null (got);
      g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, "GET RESPONSE"));
      g_assert_cmpuint (f->card->commands->len, <=, 1024);
    }
}

static void
test_reader_chaining (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  guint8 big[700];
  const guint8 *total;
  guint16 sw = 0;

  for (guint i = 0; i < sizeof big; i++)
    big[i] = i * 7;
  got = tke_card_connection_transmit (
      f->connection, &(TkeApdu){ 0x00, 0xDB, 0x3F, 0xFF, big, sizeof big }, &sw, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);
  total = g_bytes_get_data (got, NULL);
  g_assert_cmpuint ((total[0] << 8) | total[1], ==, sizeof big);

  /* 255 + 255 + 190: two blocks with CLA 10, the last with CLA 00, each a short APDU. */
  g_assert_cmpuint (f->card->commands->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      GBytes *cmd = g_ptr_array_index (f->card->commands, i);
      const guint8 *c = g_bytes_get_data (cmd, NULL);

      g_assert_cmpuint (c[0], ==, i < 2 ? 0x10 : 0x00);
      g_assert_cmpuint (c[4], ==, i < 2 ? 255 : 190);
      g_assert_cmpuint (g_bytes_get_size (cmd), ==, 5 + c[4]);
    }
}

static void
test_reader_removed (Fixture *f, gconstpointer data)
{
  TkeVirtualReaderManager *vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  g_autoptr (TkeCardConnection) again = NULL;
  guint16 sw = 0;

  tke_virtual_reader_manager_remove (vm, "Reader 1");
  got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 16 }, &sw,
                                      &error);
  g_assert_null (got);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
  g_assert_nonnull (strstr (error->message, "removed"));
  g_clear_error (&error);

  /* Reinserted, the old connection stays dead: its card left once. */
  g_assert_true (
      tke_virtual_reader_manager_insert (vm, "Reader 1", TKE_VIRTUAL_CARD (f->card), &error));
  got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 16 }, &sw,
                                      &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
  g_clear_error (&error);
  again = tke_reader_manager_connect (f->manager, "Reader 1", &error);
  g_assert_no_error (error);
  got = tke_card_connection_transmit (again, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 16 }, &sw, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);

  /* No card, no reader. */
  g_assert_null (tke_reader_manager_connect (f->manager, "Reader 2", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_CARD);
  g_clear_error (&error);
  g_assert_null (tke_reader_manager_connect (f->manager, "Reader 9", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_READER);
  g_clear_error (&error);

  /* The reader unplugged under a connection. */
  tke_virtual_reader_manager_remove_reader (vm, "Reader 1");
  g_clear_pointer (&got, g_bytes_unref);
  got = tke_card_connection_transmit (again, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 16 }, &sw, &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_READER_GONE);
}

static void
test_reader_remove_after (Fixture *f, gconstpointer data)
{
  TkeVirtualReaderManager *vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  guint16 sw = 0;

  /* The third APDU is the card's last: the 600-byte answer needs three. */
  tke_virtual_reader_manager_remove_after (vm, "Reader 1", 3);
  got = tke_card_connection_transmit (f->connection, &(TkeApdu){ 0x00, 0xCA, 0, 0, .ne = 256 }, &sw,
                                      &error);
  g_assert_null (got);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
  g_assert_cmpuint (f->card->commands->len, ==, 3);
}

typedef struct
{
  TkeCardConnection *connection;
  gint64 got_card_at;
} Contender;

static gpointer
contender_thread (gpointer data)
{
  Contender *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  guint16 sw = 0;

  got = tke_card_connection_transmit (c->connection, &(TkeApdu){ 0x00, 0xB0, 0, 0, .ne = 16 }, &sw,
                                      &error);
  g_assert_no_error (error);
  c->got_card_at = g_get_monotonic_time ();
  return NULL;
}

static void
test_reader_transaction_excludes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Contender c = { 0 };
  GThread *thread;
  gint64 ended_at;

  c.connection = tke_reader_manager_connect (f->manager, "Reader 1", &error);
  g_assert_no_error (error);

  g_assert_true (tke_card_connection_begin_transaction (f->connection, &error));
  thread = g_thread_new ("contender", contender_thread, &c);
  g_usleep (100 * 1000);
  g_assert_cmpint (c.got_card_at, ==, 0); /* still waiting behind our transaction */
  ended_at = g_get_monotonic_time ();
  tke_card_connection_end_transaction (f->connection);
  g_thread_join (thread);
  g_assert_cmpint (c.got_card_at, >=, ended_at);
  g_object_unref (c.connection);
}

/* ---- events ---- */

static void
wait_for_events (GPtrArray *events, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (events->len < n && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
record (GPtrArray *events, const char *what)
{
  g_ptr_array_add (events, g_strdup (what));
}

static void
on_reader_added (TkeReaderManager *m, const char *r, GPtrArray *events)
{
  g_autofree char *s = g_strconcat ("reader-added ", r, NULL);
  record (events, s);
}

static void
on_reader_removed (TkeReaderManager *m, const char *r, GPtrArray *events)
{
  g_autofree char *s = g_strconcat ("reader-removed ", r, NULL);
  record (events, s);
}

static void
on_card_inserted (TkeReaderManager *m, const char *r, GPtrArray *events)
{
  g_autofree char *s = g_strconcat ("card-inserted ", r, NULL);
  record (events, s);
}

static void
on_card_removed (TkeReaderManager *m, const char *r, GPtrArray *events)
{
  g_autofree char *s = g_strconcat ("card-removed ", r, NULL);
  record (events, s);
}

static void
test_reader_events (Fixture *f, gconstpointer data)
{
  TkeVirtualReaderManager *vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  const char *expected[] = { "card-removed Reader 1",  "reader-added Reader 3",
                             "card-inserted Reader 3", "reader-removed Reader 2",
                             "card-removed Reader 3",  "reader-removed Reader 3" };

  g_signal_connect (f->manager, "reader-added", G_CALLBACK (on_reader_added), events);
  g_signal_connect (f->manager, "reader-removed", G_CALLBACK (on_reader_removed), events);
  g_signal_connect (f->manager, "card-inserted", G_CALLBACK (on_card_inserted), events);
  g_signal_connect (f->manager, "card-removed", G_CALLBACK (on_card_removed), events);
  tke_reader_manager_watch (f->manager, cancellable);
  g_usleep (50 * 1000);

  tke_virtual_reader_manager_remove (vm, "Reader 1");
  wait_for_events (events, 1);
  g_assert_true (tke_virtual_reader_manager_add_reader (vm, "Reader 3", &error));
  wait_for_events (events, 2);
  g_assert_true (
      tke_virtual_reader_manager_insert (vm, "Reader 3", TKE_VIRTUAL_CARD (f->card), &error));
  wait_for_events (events, 3);
  tke_virtual_reader_manager_remove_reader (vm, "Reader 2");
  wait_for_events (events, 4);
  tke_virtual_reader_manager_remove_reader (vm, "Reader 3");
  wait_for_events (events, 6);
  g_assert_no_error (error);

  for (guint i = 0; i < events->len; i++)
    g_test_message ("event %u: %s", i, (char *) g_ptr_array_index (events, i));
  g_assert_cmpuint (events->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (g_ptr_array_index (events, i), ==, expected[i]);

  /* Cancelling stops the thread promptly; nothing more is reported. */
  g_cancellable_cancel (cancellable);
  tke_reader_manager_stop_watching (f->manager);
  g_assert_true (tke_virtual_reader_manager_add_reader (vm, "Reader 4", &error));
  g_usleep (50 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (events->len, ==, G_N_ELEMENTS (expected));
}

typedef struct
{
  TkeVirtualReaderManager *vm;
  TkeVirtualCard *card;
} Inserter;

static gpointer
insert_later (gpointer data)
{
  Inserter *in = data;

  g_usleep (100 * 1000);
  g_assert_true (tke_virtual_reader_manager_insert (in->vm, "Reader 2", in->card, NULL));
  return NULL;
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_reader_wait_for_card (Fixture *f, gconstpointer data)
{
  TkeVirtualReaderManager *vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TestScriptCard) second = g_object_new (TEST_TYPE_SCRIPT_CARD, NULL);
  Inserter in = { vm, TKE_VIRTUAL_CARD (second) };
  GThread *thread;
  gint64 start;

  /* Present already: at once. */
  g_assert_true (tke_reader_manager_wait_for_card (f->manager, "Reader 1", 1000, NULL, &error));
  g_assert_no_error (error);

  /* Arrives while we wait. */
  thread = g_thread_new ("inserter", insert_later, &in);
  g_assert_true (tke_reader_manager_wait_for_card (f->manager, "Reader 2", 5000, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);

  /* Never arrives: the timeout says so. */
  tke_virtual_reader_manager_remove (vm, "Reader 2");
  g_assert_false (tke_reader_manager_wait_for_card (f->manager, "Reader 2", 100, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_CARD);
  g_clear_error (&error);

  /* The operator cancels: the wait ends at once, not at its timeout. */
  start = g_get_monotonic_time ();
  thread = g_thread_new ("canceller", cancel_later, cancellable);
  g_assert_false (
      tke_reader_manager_wait_for_card (f->manager, "Reader 2", 0, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_thread_join (thread);
}

/* ---- part 10 against a fake SCardControl ---- */

typedef struct
{
  gboolean has_pad;
  guint16 card_sw;
  GBytes *last_command;
  DWORD last_code;
} FakeReader;

static FakeReader fake;

#define FAKE_VERIFY_CODE 0x42000DD6

static LONG
fake_control (SCARDHANDLE card, DWORD code, LPCVOID send, DWORD send_len, LPVOID recv,
              DWORD recv_len, LPDWORD returned)
{
  guint8 *out = recv;

  fake.last_code = code;
  if (code == CM_IOCTL_GET_FEATURE_REQUEST)
    {
      const guint8 features[] = {
        FEATURE_IFD_PIN_PROPERTIES, 4, 0x42, 0x00, 0x0D, 0xDA,
        FEATURE_VERIFY_PIN_DIRECT,  4, 0x42, 0x00, 0x0D, 0xD6,
        FEATURE_MODIFY_PIN_DIRECT,  4, 0x42, 0x00, 0x0D, 0xD7,
      };

      if (!fake.has_pad)
        return SCARD_E_UNSUPPORTED_FEATURE;
      g_assert_cmpuint (recv_len, >=, sizeof features);
      memcpy (out, features, sizeof features);
      *returned = sizeof features;
      return SCARD_S_SUCCESS;
    }
  if (code == FAKE_VERIFY_CODE)
    {
      g_clear_pointer (&fake.last_command, g_bytes_unref);
      fake.last_command = g_bytes_new (send, send_len);
      out[0] = fake.card_sw >> 8;
      out[1] = fake.card_sw & 0xFF;
      *returned = 2;
      return SCARD_S_SUCCESS;
    }
  return SCARD_E_INVALID_PARAMETER;
}

static void
test_part10_pin_pad (void)
{
  g_autoptr (GError) error = NULL;
  TkePart10Features features;
  const guint8 *cmd;
  guint16 sw = 0;

  tke_part10_set_control_func (fake_control);

  /* A reader without a PIN pad (vpcd answers like this). */
  fake.has_pad = FALSE;
  g_assert_true (tke_part10_get_features (1, &features, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (features.verify_pin_direct, ==, 0);
  g_assert_false (tke_part10_verify_pin (1, features.verify_pin_direct, 0x80, &sw, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A reader with one: the feature list names the control code. */
  fake.has_pad = TRUE;
  g_assert_true (tke_part10_get_features (1, &features, &error));
  g_assert_cmpuint (features.verify_pin_direct, ==, FAKE_VERIFY_CODE);
  g_assert_cmpuint (features.modify_pin_direct, ==, 0x42000DD7);

  fake.card_sw = 0x9000;
  g_assert_true (tke_part10_verify_pin (1, features.verify_pin_direct, 0x80, &sw, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sw, ==, 0x9000);
  g_assert_cmpuint (fake.last_code, ==, FAKE_VERIFY_CODE);

  /* The PIN_VERIFY_STRUCTURE: 19 header bytes, then the VERIFY the reader completes. */
  g_assert_cmpuint (g_bytes_get_size (fake.last_command), ==, 19 + 13);
  cmd = g_bytes_get_data (fake.last_command, NULL);
  g_assert_cmpuint (cmd[2], ==, 0x82);                   /* ASCII, byte units */
  g_assert_cmpuint (cmd[3], ==, 0x08);                   /* 8-byte block */
  g_assert_cmpuint ((cmd[6] << 8) | cmd[5], ==, 0x0608); /* 6..8 digits */
  g_assert_cmpuint (cmd[7], ==, 0x02);                   /* OK key */
  g_assert_cmpuint (cmd[15] | (cmd[16] << 8), ==, 13);   /* ulDataLength */
  g_assert_cmpmem (cmd + 19, 5, ((guint8[]){ 0x00, 0x20, 0x00, 0x80, 0x08 }), 5);
  for (guint i = 24; i < 32; i++)
    g_assert_cmpuint (cmd[i], ==, 0xFF);

  /* The card's answer passes through: wrong PIN. */
  fake.card_sw = 0x63C2;
  g_assert_true (tke_part10_verify_pin (1, features.verify_pin_direct, 0x81, &sw, &error));
  g_assert_cmpuint (sw, ==, 0x63C2);
  cmd = g_bytes_get_data (fake.last_command, NULL);
  g_assert_cmpuint (cmd[19 + 3], ==, 0x81);

  tke_part10_set_control_func (NULL);
  g_clear_pointer (&fake.last_command, g_bytes_unref);
}

/* Reader roles come from the names, whatever order the readers are listed in and whatever
 * order their names were allocated in: every permutation of four readers, each name allocated
 * in reverse name order, gives reader 1 and 2 as the first two names. */
static void
test_reader_roles (void)
{
  const char *names[] = { "Virtual PCD 00 00", "Virtual PCD 00 01", "Yubico YubiKey 00 00",
                          "ACS ACR39U 01 00" };
  /* Sorted: ACS..., Virtual PCD 00 00, Virtual PCD 00 01, Yubico... */
  TkeReaderStatus *statuses[4];
  guint order[4] = { 0, 1, 2, 3 };
  guint permutations = 0;

  for (int i = 3; i >= 0; i--)
    {
      statuses[i] = g_new0 (TkeReaderStatus, 1);
      statuses[i]->name = g_strdup (names[i]);
      statuses[i]->card_present = i % 2 == 0;
    }
  for (guint a = 0; a < 4; a++)
    for (guint b = 0; b < 4; b++)
      for (guint c = 0; c < 4; c++)
        for (guint d = 0; d < 4; d++)
          {
            g_autoptr (GPtrArray) listed = g_ptr_array_new ();

            if (a == b || a == c || a == d || b == c || b == d || c == d)
              continue;
            order[0] = a, order[1] = b, order[2] = c, order[3] = d;
            for (guint i = 0; i < 4; i++)
              g_ptr_array_add (listed, statuses[order[i]]);
            g_assert_cmpstr (tke_reader_status_for_role (listed, 1, NULL)->name, ==,
                             "ACS ACR39U 01 00");
            g_assert_cmpstr (tke_reader_status_for_role (listed, 2, "")->name, ==,
                             "Virtual PCD 00 00");
            /* The listing itself is left in its order. */
            g_assert_true (listed->pdata[0] == statuses[a]);
            /* A configured reader wins, connected or not. */
            g_assert_cmpstr (tke_reader_status_for_role (listed, 1, "Virtual PCD 00 01")->name, ==,
                             "Virtual PCD 00 01");
            g_assert_null (tke_reader_status_for_role (listed, 2, "No Such Reader"));
            permutations++;
          }
  g_assert_cmpuint (permutations, ==, 24);

  /* A listing that owns its statuses, as tke_reader_manager_list () returns: still whole after
   * a role was looked up. */
  {
    g_autoptr (GPtrArray) owning =
        g_ptr_array_new_with_free_func ((GDestroyNotify) tke_reader_status_free);

    for (guint i = 0; i < 2; i++)
      {
        TkeReaderStatus *status = g_new0 (TkeReaderStatus, 1);

        status->name = g_strdup (names[1 - i]);
        g_ptr_array_add (owning, status);
      }
    g_assert_cmpstr (tke_reader_status_for_role (owning, 1, NULL)->name, ==, names[0]);
    g_assert_cmpstr (tke_reader_status_for_role (owning, 2, NULL)->name, ==, names[1]);
    g_assert_cmpstr (((TkeReaderStatus *) owning->pdata[0])->name, ==, names[1]);
  }

  /* One reader: it is reader 1, and there is no reader 2. */
  {
    g_autoptr (GPtrArray) one = g_ptr_array_new ();

    g_ptr_array_add (one, statuses[1]);
    g_assert_cmpstr (tke_reader_status_for_role (one, 1, NULL)->name, ==, "Virtual PCD 00 01");
    g_assert_null (tke_reader_status_for_role (one, 2, NULL));
  }
  for (guint i = 0; i < 4; i++)
    tke_reader_status_free (statuses[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/reader/get-response", test_reader_get_response);
  ADD ("/reader/wrong-le", test_reader_wrong_le);
  ADD ("/reader/chaining", test_reader_chaining);
  ADD ("/reader/endless-answer", test_reader_endless_answer);
  ADD ("/reader/removed", test_reader_removed);
  ADD ("/reader/remove-after", test_reader_remove_after);
  ADD ("/reader/transaction-excludes", test_reader_transaction_excludes);
  ADD ("/reader/events", test_reader_events);
  ADD ("/reader/wait-for-card", test_reader_wait_for_card);
#undef ADD
  g_test_add_func ("/part10/pin-pad", test_part10_pin_pad);
  g_test_add_func ("/reader/roles", test_reader_roles);

  return g_test_run ();
}
