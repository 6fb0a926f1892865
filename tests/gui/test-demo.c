/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo world and its panel under Xvfb: the embedded service answers with its 5 units, the
 * panel's buttons move cards between the wallet and the readers, the reader manager reports each
 * move, what a card holds is read through the card profile, and a ceremony thread reading the
 * readers while cards move sees cards or their absence, never a torn state. Saves a PNG of the
 * panel in the build dir (tests/gui/screenshots/demo-page.png). */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "tke-card-profile.h"
#include "tke-demo-page.h"
#include "tke-demo-world.h"
#include "tke-error.h"
#include "tke-secmem.h"
#include "tke-unit-client.h"

#define WAIT_SECONDS 20
#define PIN          "123456"

typedef gboolean (*Condition) (gpointer data);

static void
wait_until (Condition condition, gpointer data, const char *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Gave up waiting: %s", what);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
result_arrived (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

static void
store_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GPtrArray *
list_units (TkeUnitClient *client, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  tke_unit_client_list_units_async (client, NULL, store_result, &result);
  wait_until (result_arrived, &result, "the service's list of units");
  return tke_unit_client_list_units_finish (client, result, error);
}

static gboolean
cards_read (gpointer data)
{
  GListModel *cards = tke_demo_world_get_cards (data);

  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (TkeDemoCard) card = g_list_model_get_item (cards, i);

      if (tke_demo_card_get_reading (card))
        return FALSE;
    }
  return TRUE;
}

static TkeDemoCard *
card_at (TkeDemoWorld *world, guint index)
{
  g_autoptr (TkeDemoCard) card = g_list_model_get_item (tke_demo_world_get_cards (world), index);

  g_assert_nonnull (card);
  return card; /* the store keeps it */
}

static void
test_demo_world (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeDemoWorld) world = tke_demo_world_new (&error);
  g_autoptr (TkeUnitClient) client = NULL;
  g_autoptr (GPtrArray) units = NULL;
  g_autofree char *workspace = NULL;
  guint operational = 0, failover = 0;
  GListModel *cards;

  g_assert_no_error (error);
  g_assert_nonnull (world);
  workspace = g_strdup (tke_demo_world_get_workspace_dir (world));
  g_assert_true (g_file_test (workspace, G_FILE_TEST_IS_DIR));
  g_assert_true (g_str_has_prefix (tke_demo_world_get_service_url (world), "https://127.0.0.1:"));
  g_assert_cmpuint (strlen (tke_demo_world_get_service_fingerprint (world)), ==, 64);

  /* The service answers the app's own client, pinned to the world's fingerprint. */
  client = tke_unit_client_new (tke_demo_world_get_service_url (world),
                                tke_demo_world_get_service_fingerprint (world),
                                tke_demo_world_get_service_api_key (world));
  units = list_units (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (units->len, ==, 5);
  for (guint i = 0; i < units->len; i++)
    {
      TkeUnitInfo *unit = units->pdata[i];

      g_assert_cmpuint (unit->num, ==, i + 1);
      g_assert_cmpstr (unit->instance, ==, ((TkeUnitInfo *) units->pdata[0])->instance);
      operational += g_strcmp0 (unit->type, "OPERATIONAL") == 0;
      failover += g_strcmp0 (unit->type, "FAILOVER") == 0;
    }
  g_assert_cmpuint (operational, ==, 3);
  g_assert_cmpuint (failover, ==, 2);

  /* The wallet: blank cards with names and serials of their own, read through the profile. */
  wait_until (cards_read, world, "the wallet's first reads");
  cards = tke_demo_world_get_cards (world);
  g_assert_cmpuint (g_list_model_get_n_items (cards), ==, TKE_DEMO_N_CARDS);
  for (guint i = 0; i < TKE_DEMO_N_CARDS; i++)
    {
      TkeDemoCard *card = card_at (world, i);
      g_autofree char *label = g_strdup_printf ("Card %u", i + 1);

      g_assert_cmpstr (tke_demo_card_get_label (card), ==, label);
      g_assert_cmpuint (tke_demo_card_get_serial (card), ==, 1001 + i);
      g_assert_cmpuint (tke_demo_card_get_location (card), ==, TKE_DEMO_LOCATION_WALLET);
      g_assert_cmpstr (tke_demo_card_get_summary (card), ==, "Blank card");
    }
  g_assert_null (tke_demo_world_get_card_in (world, TKE_DEMO_LOCATION_READER_1));
  g_assert_null (tke_demo_world_get_card_in (world, TKE_DEMO_LOCATION_READER_2));

  /* Gone with the world: the workspace, and the service (its port no longer answers). */
  g_clear_object (&world);
  g_assert_false (g_file_test (workspace, G_FILE_TEST_EXISTS));
  g_clear_pointer (&units, g_ptr_array_unref);
  units = list_units (client, &error);
  g_assert_null (units);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_UNIT_UNREACHABLE);
}

/* ---- the panel ---- */

typedef struct
{
  TkeDemoWorld *world;
  GtkWindow *window;
  GtkWidget *page;
  GPtrArray *events; /* "inserted Demo Reader 1", ... as the reader manager emitted them */
} PageFixture;

static void
record_inserted (TkeReaderManager *readers, const char *reader, GPtrArray *events)
{
  g_ptr_array_add (events, g_strdup_printf ("inserted %s", reader));
}

static void
record_removed (TkeReaderManager *readers, const char *reader, GPtrArray *events)
{
  g_ptr_array_add (events, g_strdup_printf ("removed %s", reader));
}

static void
collect_widgets (GtkWidget *widget, GType type, GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    g_ptr_array_add (out, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, type, out);
}

/* The page's button for an action and its target, as a user finds it on screen. */
static GtkWidget *
find_button (PageFixture *fixture, const char *action, GVariant *target)
{
  g_autoptr (GPtrArray) buttons = g_ptr_array_new ();
  g_autoptr (GVariant) wanted = g_variant_ref_sink (target);
  GtkWidget *found = NULL;

  collect_widgets (fixture->page, GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    {
      GtkActionable *button = buttons->pdata[i];
      GVariant *value = gtk_actionable_get_action_target_value (button);

      if (g_strcmp0 (gtk_actionable_get_action_name (button), action) == 0 && value != NULL &&
          g_variant_equal (value, wanted))
        {
          g_assert_null (found);
          found = GTK_WIDGET (button);
        }
    }
  g_assert_nonnull (found);
  return found;
}

static void
set_flag (GtkButton *button, gboolean *flag)
{
  *flag = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* Activates the button as the keyboard would and returns once it has clicked (a button shows
 * itself pressed for a moment before it does). */
static void
click (GtkWidget *button)
{
  gboolean clicked = FALSE;
  gulong handler = g_signal_connect (button, "clicked", G_CALLBACK (set_flag), &clicked);

  g_assert_true (gtk_widget_get_sensitive (button));
  g_assert_true (gtk_widget_is_visible (button));
  g_assert_true (gtk_widget_activate (button));
  wait_until (flag_set, &clicked, "the button to click");
  g_signal_handler_disconnect (button, handler);
}

static void
click_insert (PageFixture *fixture, guint serial, guint reader)
{
  click (find_button (fixture, "demo.insert", g_variant_new ("(uu)", serial, reader)));
}

static void
click_remove (PageFixture *fixture, guint reader)
{
  click (find_button (fixture, "demo.remove", g_variant_new_uint32 (reader)));
}

static gboolean
page_shows (PageFixture *fixture, const char *text)
{
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();

  collect_widgets (fixture->page, GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    if (gtk_widget_is_drawable (labels->pdata[i]) &&
        g_strcmp0 (gtk_label_get_text (labels->pdata[i]), text) == 0)
      return TRUE;
  return FALSE;
}

static guint
count_shown (PageFixture *fixture, const char *text)
{
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  guint n = 0;

  collect_widgets (fixture->page, GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    n += g_strcmp0 (gtk_label_get_text (labels->pdata[i]), text) == 0;
  return n;
}

static AdwActionRow *
wallet_row (PageFixture *fixture, const char *label)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();

  collect_widgets (fixture->page, ADW_TYPE_ACTION_ROW, rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (rows->pdata[i]), label) == 0)
      return rows->pdata[i];
  g_assert_not_reached ();
}

typedef struct
{
  PageFixture *fixture;
  guint index;
  TkeDemoLocation location;
} Placement;

static gboolean
card_placed (gpointer data)
{
  Placement *p = data;
  TkeDemoCard *card = card_at (p->fixture->world, p->index);

  return tke_demo_card_get_location (card) == p->location && cards_read (p->fixture->world);
}

static void
wait_for_card (PageFixture *fixture, guint index, TkeDemoLocation location)
{
  Placement p = { fixture, index, location };

  wait_until (card_placed, &p, "a card to reach its place");
}

typedef struct
{
  GPtrArray *events;
  guint n;
} EventCount;

static gboolean
events_seen (gpointer data)
{
  EventCount *count = data;

  return count->events->len >= count->n;
}

static void
wait_for_events (PageFixture *fixture, guint n)
{
  EventCount count = { fixture->events, n };

  wait_until (events_seen, &count, "reader events");
  /* Nothing more than expected arrives a moment later. */
  for (guint i = 0; i < 20; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  g_assert_cmpuint (fixture->events->len, ==, n);
}

static void
assert_event (PageFixture *fixture, guint i, const char *event)
{
  g_assert_cmpuint (i, <, fixture->events->len);
  g_assert_cmpstr (fixture->events->pdata[i], ==, event);
}

static void
save_screenshot (GtkWindow *window, const char *name)
{
  GtkWidget *widget = GTK_WIDGET (window);
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *dir =
      g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "gui", "screenshots", NULL);
  g_autofree char *file = NULL;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  g_assert_cmpint (width, >, 0);
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  file = g_strdup_printf ("%s/%s.png", dir, name);
  g_assert_true (gdk_texture_save_to_png (texture, file));
  g_test_message ("screenshot: %s", file);
}

static void
settle (void)
{
  for (guint i = 0; i < 50; i++)
    {
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

static void
page_set_up (PageFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TkeReaderManager *readers;

  fixture->world = tke_demo_world_new (&error);
  g_assert_no_error (error);
  fixture->events = g_ptr_array_new_with_free_func (g_free);
  readers = tke_demo_world_get_reader_manager (fixture->world);
  g_signal_connect (readers, "card-inserted", G_CALLBACK (record_inserted), fixture->events);
  g_signal_connect (readers, "card-removed", G_CALLBACK (record_removed), fixture->events);
  if (GPOINTER_TO_INT (data))
    tke_reader_manager_watch (readers, NULL);

  fixture->page = tke_demo_page_new (fixture->world);
  fixture->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (fixture->window, "Demo");
  gtk_window_set_default_size (fixture->window, 900, 1150);
  gtk_window_set_child (fixture->window, fixture->page);
  gtk_window_present (fixture->window);
  wait_until (cards_read, fixture->world, "the wallet's first reads");
  settle ();
}

static void
page_tear_down (PageFixture *fixture, gconstpointer data)
{
  TkeReaderManager *readers = tke_demo_world_get_reader_manager (fixture->world);

  tke_reader_manager_stop_watching (readers);
  g_signal_handlers_disconnect_by_data (readers, fixture->events);
  gtk_window_destroy (fixture->window);
  settle ();
  g_clear_object (&fixture->world);
  g_clear_pointer (&fixture->events, g_ptr_array_unref);
}

/* Makes the card in reader 1 an administrator card through the core, as a ceremony would. */
static void
make_admin_card (TkeDemoWorld *world, const char *description, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardConnection) connection = NULL;
  g_autoptr (TkePivClient) piv = NULL;
  g_autoptr (TkeSecret) pin = NULL;
  EVP_PKEY *key;

  connection = tke_reader_manager_connect (tke_demo_world_get_reader_manager (world),
                                           TKE_DEMO_READER_1_NAME, &error);
  g_assert_no_error (error);
  piv = tke_piv_client_new (connection);
  pin = tke_secret_new_from ((const guint8 *) PIN, strlen (PIN), &error);
  g_assert_no_error (error);
  g_assert_true (tke_card_profile_initialize (piv, pin, pin, NULL, NULL, description, &error));
  g_assert_no_error (error);
  key = tke_card_profile_generate_signature_key (piv, pin, name, &error);
  g_assert_no_error (error);
  EVP_PKEY_free (key);
  tke_card_connection_disconnect (connection, FALSE);
}

static void
test_demo_page (PageFixture *fixture, gconstpointer data)
{
  TkeDemoWorld *world = fixture->world;
  const char *alice = "TKE card “Alice's card” · administrator Alice";

  /* At first: empty readers, a wallet of blank cards, the service's address. */
  g_assert_cmpuint (count_shown (fixture, "No card"), ==, 2);
  g_assert_cmpuint (count_shown (fixture, "Insert a card from the wallet below."), ==, 2);
  g_assert_false (
      gtk_widget_get_sensitive (find_button (fixture, "demo.remove", g_variant_new_uint32 (1))));
  g_assert_cmpstr (adw_action_row_get_subtitle (wallet_row (fixture, "Card 1")), ==,
                   "Serial 1001 · In the wallet · Blank card");
  g_assert_true (page_shows (fixture, "Reader 1 · Demo Reader 1"));
  g_assert_true (page_shows (fixture, "Reader 2 · Demo Reader 2"));
  {
    g_autofree char *service = g_strdup_printf ("Crypto unit service: %s, 5 crypto units",
                                                tke_demo_world_get_service_url (world));
    g_assert_true (page_shows (fixture, service));
  }

  /* Card 1 into reader 1: the reader manager reports it, the panel shows it. */
  click_insert (fixture, 1001, 1);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_READER_1);
  wait_for_events (fixture, 1);
  assert_event (fixture, 0, "inserted Demo Reader 1");
  g_assert_true (tke_demo_world_get_card_in (world, 1) == card_at (world, 0));
  g_assert_true (page_shows (fixture, "Card 1, serial 1001"));
  g_assert_false (gtk_widget_get_sensitive (
      find_button (fixture, "demo.insert", g_variant_new ("(uu)", (guint32) 1001, (guint32) 1))));
  g_assert_true (gtk_widget_get_sensitive (
      find_button (fixture, "demo.insert", g_variant_new ("(uu)", (guint32) 1001, (guint32) 2))));

  /* A ceremony writes it; a refresh reads what it holds now. */
  make_admin_card (world, "Alice's card", "Alice");
  tke_demo_world_refresh (world);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_READER_1);
  g_assert_cmpstr (tke_demo_card_get_summary (card_at (world, 0)), ==, alice);
  settle ();
  g_assert_true (page_shows (fixture, alice));

  /* Card 2 into reader 2. */
  click_insert (fixture, 1002, 2);
  wait_for_card (fixture, 1, TKE_DEMO_LOCATION_READER_2);
  wait_for_events (fixture, 2);
  assert_event (fixture, 1, "inserted Demo Reader 2");

  /* Card 3 into reader 1: card 1 goes back to the wallet first, and the watchers see both. */
  click_insert (fixture, 1003, 1);
  wait_for_card (fixture, 2, TKE_DEMO_LOCATION_READER_1);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_WALLET);
  wait_for_events (fixture, 4);
  assert_event (fixture, 2, "removed Demo Reader 1");
  assert_event (fixture, 3, "inserted Demo Reader 1");
  /* Read again in the wallet, it is still Alice's. */
  g_assert_cmpstr (tke_demo_card_get_summary (card_at (world, 0)), ==, alice);
  settle ();
  {
    g_autofree char *subtitle = g_strdup_printf ("Serial 1001 · In the wallet · %s", alice);

    g_assert_cmpstr (adw_action_row_get_subtitle (wallet_row (fixture, "Card 1")), ==, subtitle);
  }
  g_assert_cmpstr (adw_action_row_get_subtitle (wallet_row (fixture, "Card 3")), ==,
                   "Serial 1003 · In reader 1 · Blank card");

  /* Card 3 from reader 1 into reader 2: reader 1 empties, card 2 goes to the wallet. */
  click_insert (fixture, 1003, 2);
  wait_for_card (fixture, 2, TKE_DEMO_LOCATION_READER_2);
  wait_for_card (fixture, 1, TKE_DEMO_LOCATION_WALLET);
  wait_for_events (fixture, 7);
  g_assert_null (tke_demo_world_get_card_in (world, 1));
  {
    /* Removals of both readers first (in either order), then the insertion. */
    g_autoptr (GPtrArray) removals = g_ptr_array_new ();

    g_ptr_array_add (removals, fixture->events->pdata[4]);
    g_ptr_array_add (removals, fixture->events->pdata[5]);
    g_assert_true (
        g_ptr_array_find_with_equal_func (removals, "removed Demo Reader 1", g_str_equal, NULL));
    g_assert_true (
        g_ptr_array_find_with_equal_func (removals, "removed Demo Reader 2", g_str_equal, NULL));
    assert_event (fixture, 6, "inserted Demo Reader 2");
  }

  /* Alice's card back into reader 1, for the picture. */
  click_insert (fixture, 1001, 1);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_READER_1);
  wait_for_events (fixture, 8);
  assert_event (fixture, 7, "inserted Demo Reader 1");
  settle ();
  g_assert_true (page_shows (fixture, "Card 1, serial 1001"));
  g_assert_true (page_shows (fixture, alice));
  g_assert_true (page_shows (fixture, "Card 3, serial 1003"));
  g_assert_cmpuint (count_shown (fixture, "No card"), ==, 0);
  save_screenshot (fixture->window, "demo-page");

  /* The Remove buttons. */
  click_remove (fixture, 2);
  wait_for_card (fixture, 2, TKE_DEMO_LOCATION_WALLET);
  click_remove (fixture, 1);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_WALLET);
  wait_for_events (fixture, 10);
  assert_event (fixture, 8, "removed Demo Reader 2");
  assert_event (fixture, 9, "removed Demo Reader 1");
  settle ();
  g_assert_cmpuint (count_shown (fixture, "No card"), ==, 2);
  g_assert_false (
      gtk_widget_get_sensitive (find_button (fixture, "demo.remove", g_variant_new_uint32 (2))));
}

/* Without a watch on the readers, a swap still completes: the new card goes in after the
 * fallback delay, and the panel says meanwhile that it is on its way. */
static void
test_demo_swap_unwatched (PageFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TkeDemoWorld *world = fixture->world;
  gint64 clicked;

  g_assert_false (
      tke_demo_world_insert (world, card_at (world, 0), TKE_DEMO_LOCATION_WALLET, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);

  click_insert (fixture, 1001, 1);
  wait_for_card (fixture, 0, TKE_DEMO_LOCATION_READER_1);

  click_insert (fixture, 1002, 1);
  clicked = g_get_monotonic_time ();
  g_assert_cmpuint (tke_demo_card_get_location (card_at (world, 0)), ==, TKE_DEMO_LOCATION_WALLET);
  g_assert_null (tke_demo_world_get_card_in (world, TKE_DEMO_LOCATION_READER_1));
  g_assert_true (tke_demo_world_get_card_coming (world, TKE_DEMO_LOCATION_READER_1) ==
                 card_at (world, 1));
  g_assert_true (page_shows (fixture, "Card 2 is going in…"));

  wait_for_card (fixture, 1, TKE_DEMO_LOCATION_READER_1);
  g_assert_cmpint (g_get_monotonic_time () - clicked, >=, 900 * 1000);
  g_assert_null (tke_demo_world_get_card_coming (world, TKE_DEMO_LOCATION_READER_1));
  settle ();
  g_assert_true (page_shows (fixture, "Card 2, serial 1002"));
  g_assert_cmpuint (fixture->events->len, ==, 0);

  /* A card on its way in can be called back with Remove. */
  click_insert (fixture, 1003, 1);
  g_assert_true (tke_demo_world_get_card_coming (world, TKE_DEMO_LOCATION_READER_1) ==
                 card_at (world, 2));
  click_remove (fixture, 1);
  g_assert_null (tke_demo_world_get_card_coming (world, TKE_DEMO_LOCATION_READER_1));
  wait_for_card (fixture, 1, TKE_DEMO_LOCATION_WALLET);
  g_usleep (1200 * 1000);
  settle ();
  g_assert_cmpuint (tke_demo_card_get_location (card_at (world, 2)), ==, TKE_DEMO_LOCATION_WALLET);
  g_assert_cmpuint (count_shown (fixture, "No card"), ==, 2);
}

/* ---- a ceremony thread on the same readers while cards move ---- */

typedef struct
{
  TkeReaderManager *readers;
  gint stop;
  guint reads;
  guint absent;
  GPtrArray *failures;
} Reader;

static gpointer
ceremony_thread (gpointer data)
{
  Reader *reader = data;

  while (!g_atomic_int_get (&reader->stop))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeCardConnection) connection = NULL;
      g_autoptr (TkePivClient) piv = NULL;
      g_autoptr (TkeCardInfo) info = NULL;

      connection = tke_reader_manager_connect (reader->readers, TKE_DEMO_READER_1_NAME, &error);
      if (connection != NULL)
        {
          piv = tke_piv_client_new (connection);
          info = tke_card_profile_read_info (piv, &error);
          tke_card_connection_disconnect (connection, FALSE);
        }
      if (info != NULL)
        {
          if (!info->has_serial || info->serial < 1001 || info->serial > 1004)
            g_ptr_array_add (reader->failures, g_strdup ("a card that is not in the wallet"));
          reader->reads++;
        }
      else if (g_error_matches (error, TKE_ERROR, TKE_ERROR_NO_CARD) ||
               g_error_matches (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED))
        {
          reader->absent++;
          /* As a prompt waiting for a card would: without spinning on the readers' lock. */
          g_usleep (100);
        }
      else
        g_ptr_array_add (reader->failures, g_strdup (error->message));
    }
  return NULL;
}

static void
test_demo_concurrent (PageFixture *fixture, gconstpointer data)
{
  Reader reader = { tke_demo_world_get_reader_manager (fixture->world), 0, 0, 0,
                    g_ptr_array_new_with_free_func (g_free) };
  GThread *thread = g_thread_new ("ceremony", ceremony_thread, &reader);

  for (guint round = 0; round < 12; round++)
    {
      guint index = round % 4;

      click_insert (fixture, 1001 + index, 1);
      wait_for_card (fixture, index, TKE_DEMO_LOCATION_READER_1);
      if (round % 3 == 2)
        {
          click_remove (fixture, 1);
          wait_for_card (fixture, index, TKE_DEMO_LOCATION_WALLET);
        }
    }
  g_atomic_int_set (&reader.stop, 1);
  g_thread_join (thread);

  g_test_message ("ceremony thread: %u reads of a card, %u without one", reader.reads,
                  reader.absent);
  for (guint i = 0; i < reader.failures->len; i++)
    g_test_message ("failure: %s", (char *) reader.failures->pdata[i]);
  g_assert_cmpuint (reader.failures->len, ==, 0);
  g_assert_cmpuint (reader.reads, >, 0);
  /* The wallet reads agree with the cards: still blank after all the moves. */
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (tke_demo_card_get_summary (card_at (fixture->world, i)), ==, "Blank card");
  g_ptr_array_unref (reader.failures);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      /* TAP's skip plan with status 0 is what meson reports as SKIP (77 would be an error). */
      g_print ("1..0 # SKIP no display: run the tests through build-aux/test, which starts Xvfb\n");
      g_printerr ("SKIP: test-demo needs a display\n");
      return 0;
    }
  adw_init ();
  g_assert_true (tke_secmem_init (NULL));
  {
    /* The app's style sheet, which AdwApplication would load: the reader boxes' padding. */
    g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();

    gtk_css_provider_load_from_resource (css, "/io/github/opentke/Tke/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }

  g_test_add_func ("/demo/world", test_demo_world);
  g_test_add ("/demo/page", PageFixture, GINT_TO_POINTER (TRUE), page_set_up, test_demo_page,
              page_tear_down);
  g_test_add ("/demo/swap-unwatched", PageFixture, GINT_TO_POINTER (FALSE), page_set_up,
              test_demo_swap_unwatched, page_tear_down);
  g_test_add ("/demo/concurrent", PageFixture, GINT_TO_POINTER (TRUE), page_set_up,
              test_demo_concurrent, page_tear_down);

  return g_test_run ();
}
