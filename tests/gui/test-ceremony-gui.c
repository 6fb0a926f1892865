/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The seed ceremony clicked through the real window in demo mode: each operation started by its
 * window action, each question answered in the progress dialog's own widgets, each card put in by
 * the demo's wallet. Then the units are asked directly: normal mode, both administrators,
 * thresholds 2/2, the same Valid current master key on all five, whose VP is the VP of the XOR
 * of the three parts as this test computes it. Saves a screenshot of each kind of question and
 * of each tab afterwards, checks the journal, and prints the longest main-loop stall. */
#include "config.h"

#include <string.h>

#include "gui-driver.h"
#include "tke-application.h"
#include "tke-demo-world.h"
#include "tke-secmem.h"

typedef struct
{
  GuiDriver gui;
  TkeApplication *app;
  TkeWindow *window;
  TkeDemoWorld *world;
  TkeDemoCard *cards[N_CARDS];
} Gui;

/* The demo's readers for the driver: the wallet's cards, put in at once. */

static gboolean
insert_card_later (gpointer data)
{
  Gui *gui = ((gpointer *) data)[0];
  guint role = GPOINTER_TO_UINT (((gpointer *) data)[1]);
  g_autoptr (GError) error = NULL;
  guint card;

  g_free (data);
  /* The ceremony asks again when the wrong card leaves the reader; the card the operator is
   * putting in already answers that. */
  if (tke_demo_world_get_card_coming (gui->world, role) != NULL)
    return G_SOURCE_REMOVE;
  card = gui_driver_pop_card (&gui->gui, role);
  g_assert_true (tke_demo_world_insert (gui->world, gui->cards[card], role, &error));
  g_assert_no_error (error);
  return G_SOURCE_REMOVE;
}

static void
demo_card_wait (GuiDriver *driver, guint role)
{
  gpointer *data = g_new0 (gpointer, 2);

  data[0] = driver->cards_data;
  data[1] = GUINT_TO_POINTER (role);
  g_idle_add (insert_card_later, data);
}

static void
demo_empty_readers (GuiDriver *driver)
{
  Gui *gui = driver->cards_data;

  tke_demo_world_remove (gui->world, TKE_DEMO_LOCATION_READER_1);
  tke_demo_world_remove (gui->world, TKE_DEMO_LOCATION_READER_2);
}

static gboolean
card_in_reader2 (GuiDriver *driver)
{
  Gui *gui = driver->cards_data;

  return tke_demo_world_get_card_coming (gui->world, TKE_DEMO_LOCATION_READER_2) == NULL &&
         tke_demo_world_get_card_in (gui->world, TKE_DEMO_LOCATION_READER_2) != NULL;
}

static void
demo_insert_now (GuiDriver *driver, guint card)
{
  Gui *gui = driver->cards_data;
  g_autoptr (GError) error = NULL;

  g_assert_true (
      tke_demo_world_insert (gui->world, gui->cards[card], TKE_DEMO_LOCATION_READER_2, &error));
  g_assert_no_error (error);
  gui_driver_wait_until (driver, card_in_reader2, 10);
}

static const GuiCards demo_cards = { demo_card_wait, demo_empty_readers, demo_insert_now };

/* The fixture --------------------------------------------------------------------------------- */

static TkeApplication *shared_app;

static void
gui_set_up (Gui *gui, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GListModel *cards;

  gui->app = g_object_ref (shared_app);
  g_object_set (gui->app, "demo", TRUE, NULL);
  gui->window = tke_window_new (gui->app, &error);
  g_assert_no_error (error);
  gtk_window_present (GTK_WINDOW (gui->window));
  gui->world = tke_window_get_demo_world (gui->window);
  cards = tke_demo_world_get_cards (gui->world);
  g_assert_cmpuint (g_list_model_get_n_items (cards), >=, N_CARDS);
  for (guint i = 0; i < N_CARDS; i++)
    {
      gui->cards[i] = g_list_model_get_item (cards, i);
      g_object_unref (gui->cards[i]); /* the world keeps it */
    }
  gui_driver_init (&gui->gui, gui->window, &demo_cards, gui,
                   tke_demo_world_get_reader_manager (gui->world), TKE_DEMO_READER_2_NAME, "");
  gui_driver_stop_watchdog (&gui->gui);

  /* The demo connects its service by itself; wait for the five units. */
  while (tke_workspace_get_units (tke_window_get_workspace (gui->window))->len < 5)
    g_main_context_iteration (NULL, TRUE);
  gui_driver_start_watchdog (&gui->gui);
}

static void
gui_tear_down (Gui *gui, gconstpointer data)
{
  gui_driver_clear (&gui->gui);
  gtk_window_destroy (GTK_WINDOW (gui->window));
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&gui->app);
}

/* The tests ----------------------------------------------------------------------------------- */

static void
test_gui_seed_ceremony (Gui *gui, gconstpointer data)
{
  GuiDriver *driver = &gui->gui;
  g_autofree char *vp = NULL;

  gui_driver_initialize_cards (driver);
  gui_driver_generate (driver);
  gui_driver_select_all_units (driver);
  gui_driver_add_admins_and_thresholds (driver);
  gui_driver_script_load (driver);
  gui_driver_run_ok (driver, "load");
  gui_driver_commit_and_set_immediate (driver);

  g_print ("# longest main-loop stall during the ceremony: %.1f ms (goal: none over 50 ms)\n",
           gui_driver_stop_watchdog (driver) / 1000.0);

  gui_driver_screenshot_tabs (driver);
  gui_driver_assert_jargon_explained (driver);
  vp = gui_driver_expected_vp (driver);
  gui_driver_assert_units (driver, tke_demo_world_get_service_url (gui->world),
                           tke_demo_world_get_service_fingerprint (gui->world),
                           tke_demo_world_get_service_api_key (gui->world), vp);
  gui_driver_assert_journal (driver, 17);
  gui_driver_start_watchdog (driver);
}

static void
test_gui_wrong_pin_and_cancel (Gui *gui, gconstpointer data)
{
  GuiDriver *driver = &gui->gui;
  g_autofree char *title = NULL;
  g_autofree char *title2 = NULL;
  g_autofree char *title3 = NULL;

  gui_driver_expect_card (driver, 2, CARD_ALICE);
  gui_driver_push (driver, ANSWER_TEXT, "Alice's card", 0);
  gui_driver_push (driver, ANSWER_PIN, "123456", 0);
  gui_driver_push (driver, ANSWER_PIN, gui_card_pins[CARD_ALICE], 0);
  gui_driver_push (driver, ANSWER_PIN, "12345678", 0);
  gui_driver_push (driver, ANSWER_PIN, GUI_NEW_PUK, 0);
  gui_driver_run_ok (driver, "initialize-card");

  /* A wrong PIN stops the operation with the tries left; nothing asks again by itself. */
  gui_driver_expect_card (driver, 2, CARD_ALICE);
  gui_driver_push (driver, ANSWER_TEXT, "Alice", 0);
  gui_driver_push (driver, ANSWER_PIN, "00000000", 0);
  title = gui_driver_run (driver, "generate-signature-key");
  g_assert_cmpstr (title, ==, "The Operation Stopped");

  /* Cancel at a question: nothing happens to the card. */
  gui_driver_expect_card (driver, 2, CARD_ALICE);
  gui_driver_push (driver, ANSWER_CANCEL, NULL, 0);
  title2 = gui_driver_run (driver, "generate-signature-key");
  g_assert_cmpstr (title2, ==, "Cancelled");
  /* The same sentence as tkectl's for a cancel (tests/cli/test-cli-ceremony.sh). */
  g_assert_nonnull (strstr (driver->result_text->str, "Cancelled: nothing was sent to the crypto "
                                                      "units, and no card was changed.\n"));

  /* Cancel with a PIN typed: the operation stops and the PIN is gone from the entries (the
   * driver reads them right after the click). */
  gui_driver_expect_card (driver, 2, CARD_ALICE);
  gui_driver_push (driver, ANSWER_TEXT, "Alice", 0);
  gui_driver_push (driver, ANSWER_CANCEL, gui_card_pins[CARD_ALICE], 0);
  title3 = gui_driver_run (driver, "generate-signature-key");
  g_assert_cmpstr (title3, ==, "Cancelled");
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("tke-test-ceremony-gui-XXXXXX", NULL);

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      /* TAP's skip plan with status 0 is what meson reports as SKIP. */
      g_print ("1..0 # SKIP no display: run the tests through build-aux/test, which starts Xvfb\n");
      return 0;
    }
  g_assert_true (tke_secmem_init (NULL));
  shared_app = tke_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (shared_app), NULL, NULL));

  g_test_add ("/gui/seed-ceremony", Gui, NULL, gui_set_up, test_gui_seed_ceremony, gui_tear_down);
  g_test_add ("/gui/wrong-pin-and-cancel", Gui, NULL, gui_set_up, test_gui_wrong_pin_and_cancel,
              gui_tear_down);

  return g_test_run ();
}
