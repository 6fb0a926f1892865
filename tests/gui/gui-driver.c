/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The scripted operator the GUI ceremony tests share: the window's actions, the progress
 * dialog's widgets, the seed ceremony's script, and the checks made of the service afterwards. */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "gui-driver.h"
#include "tke-card-profile.h"
#include "tke-gui-prompter.h"
#include "tke-journal-window.h"
#include "tke-secmem.h"
#include "tke-text-row.h"
#include "tke-unit-client.h"
#include "tke-workspace.h"

const char *const gui_card_pins[N_CARDS] = { "13572468", "24681357", "11223344", "55667788",
                                             "99001122" };

typedef struct
{
  GuiAnswerKind kind;
  const char *text;
  guint number;
} Answer;

/* Widgets ----------------------------------------------------------------------------------- */

void
gui_driver_collect (GtkWidget *widget, GType type, GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) && gtk_widget_get_mapped (widget))
    g_ptr_array_add (out, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    gui_driver_collect (child, type, out);
}

GtkWidget *
gui_driver_find_button (GtkWidget *root, const char *label)
{
  g_autoptr (GPtrArray) buttons = g_ptr_array_new ();

  gui_driver_collect (root, GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_button_get_label (buttons->pdata[i]), label) == 0)
      return buttons->pdata[i];
  return NULL;
}

void
gui_driver_screenshot (GuiDriver *gui, GtkWidget *widget, const char *name)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *dir =
      g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "gui", "screenshots", NULL);
  g_autofree char *file = NULL;
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_mkdir_with_parents (dir, 0755);
  file = g_strdup_printf ("%s/%s%s.png", dir, gui->shot_prefix, name);
  g_assert_true (gdk_texture_save_to_png (texture, file));
  g_test_message ("screenshot: %s", file);
}

/* Lets the dialog lay out what it shows now, then takes its picture once per kind. */
void
gui_driver_screenshot_once (GuiDriver *gui, const char *kind)
{
  TkeCeremonyDialog *dialog = tke_window_get_ceremony_dialog (gui->window);
  g_autofree char *name = g_strdup_printf ("prompt-%s", kind);
  /* Past the dialog's crossfade between pages. */
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

  if (dialog == NULL || g_hash_table_contains (gui->shots, kind))
    return;
  g_hash_table_add (gui->shots, g_strdup (kind));
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  gui_driver_screenshot (gui, GTK_WIDGET (dialog), name);
  /* Rendering the picture is the test's work, not the app's: it is not a stall. */
  gui->last_tick = 0;
}

void
gui_driver_screenshot_tabs (GuiDriver *gui)
{
  static const char *const tabs[] = { "smart-card", "crypto-units", "administrators", "thresholds",
                                      "master-keys" };

  for (guint i = 0; i < G_N_ELEMENTS (tabs); i++)
    {
      g_autofree char *name = g_strdup_printf ("after-ceremony-%s", tabs[i]);
      gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

      g_action_group_activate_action (G_ACTION_GROUP (gui->window), "show-page",
                                      g_variant_new_string (tabs[i]));
      while (g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, FALSE);
      gui_driver_screenshot (gui, GTK_WIDGET (gui->window), name);
    }
}

/* The rows the visible tab's table shows. */
static GListModel *
visible_rows (GuiDriver *gui, const char *tab)
{
  g_autoptr (GPtrArray) views = g_ptr_array_new ();
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

  g_action_group_activate_action (G_ACTION_GROUP (gui->window), "show-page",
                                  g_variant_new_string (tab));
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  gui_driver_collect (GTK_WIDGET (gui->window), GTK_TYPE_COLUMN_VIEW, views);
  g_assert_cmpuint (views->len, ==, 1);
  return G_LIST_MODEL (gtk_column_view_get_model (views->pdata[0]));
}

void
gui_driver_assert_jargon_explained (GuiDriver *gui)
{
  GListModel *rows = visible_rows (gui, "administrators");

  /* An SKI is its first 16 digits in groups in the cell, the whole of it in the tooltip. */
  g_assert_cmpuint (g_list_model_get_n_items (rows), >, 0);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (TkeTextRow) row = g_list_model_get_item (rows, i);
      const char *cell = tke_text_row_get_cell (row, 2);
      const char *tooltip = tke_text_row_get_tooltip (row, 2);
      g_autofree char *digits = g_strndup (cell, 19);

      g_assert_true (g_regex_match_simple ("^([0-9a-f]{4} ){4}…$", cell, 0, 0));
      g_assert_nonnull (tooltip);
      g_assert_true (g_str_has_prefix (tooltip, "Subject key identifier: "));
      g_assert_true (g_regex_match_simple ("\\n([0-9a-f]{4} ){15}[0-9a-f]{4}$", tooltip, 0, 0));
      g_assert_nonnull (strstr (tooltip, digits));
    }

  /* A LOCATION reads as its four parts; the tooltip names them and keeps the form given. */
  rows = visible_rows (gui, "crypto-units");
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 5);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr (TkeTextRow) row = g_list_model_get_item (rows, i);
      const char *cell = tke_text_row_get_cell (row, 4);
      const char *tooltip = tke_text_row_get_tooltip (row, 4);

      g_assert_true (g_regex_match_simple ("^[^][]+ · [^][]+ · 1 · [1-5]$", cell, 0, 0));
      g_assert_nonnull (tooltip);
      g_assert_true (
          g_regex_match_simple ("^Region .+, host .+, instance 1, crypto unit [1-5] \\(LOCATION "
                                "\\[.+\\]\\.\\[.+\\]\\.\\[1\\]\\.\\[[1-5]\\]\\)$",
                                tooltip, 0, 0));
    }
}

/* The scripted operator ----------------------------------------------------------------------- */

void
gui_driver_expect_card (GuiDriver *gui, guint role, guint card)
{
  g_assert_true (role == 1 || role == 2);
  g_assert_cmpuint (card, <, N_CARDS);
  g_queue_push_tail (&gui->next_card[role - 1], GUINT_TO_POINTER (card + 1));
}

guint
gui_driver_pop_card (GuiDriver *gui, guint role)
{
  guint card = GPOINTER_TO_UINT (g_queue_pop_head (&gui->next_card[role - 1]));

  /* A request the script did not foresee is a failure of the operation under test. */
  g_assert_cmpuint (card, !=, 0);
  gui_driver_screenshot_once (gui, "card");
  return card - 1;
}

void
gui_driver_push (GuiDriver *gui, GuiAnswerKind kind, const char *text, guint number)
{
  Answer *answer = g_new0 (Answer, 1);

  answer->kind = kind;
  answer->text = text;
  answer->number = number;
  g_queue_push_tail (&gui->answers, answer);
}

static void
on_card_wait (TkeGuiPrompter *prompter, int role, const char *reader, const char *wanted,
              GuiDriver *gui)
{
  g_test_message ("  card wanted in reader %d (%s): %s", role, reader, wanted);
  gui->cards->card_wait (gui, role);
}

static void
answer_in_dialog (GuiDriver *gui, TkePrompt *prompt)
{
  TkeCeremonyDialog *dialog = tke_window_get_ceremony_dialog (gui->window);
  g_autofree Answer *answer = g_queue_pop_head (&gui->answers);
  GtkWidget *root = GTK_WIDGET (dialog);
  GtkWidget *button;

  g_assert_nonnull (dialog);
  g_assert_nonnull (answer);
  g_assert_true (tke_ceremony_dialog_get_prompt (dialog) == prompt);

  if (answer->kind == ANSWER_CANCEL)
    {
      g_autoptr (GPtrArray) entries = g_ptr_array_new ();

      /* With a text, a PIN is typed first and then cancelled: it must not stay behind. */
      if (answer->text != NULL)
        {
          g_assert_cmpint (tke_prompt_get_kind (prompt), ==, TKE_PROMPT_PIN);
          gui_driver_collect (root, GTK_TYPE_PASSWORD_ENTRY, entries);
          g_assert_cmpuint (entries->len, >, 0);
          for (guint i = 0; i < entries->len; i++)
            gtk_editable_set_text (GTK_EDITABLE (entries->pdata[i]), answer->text);
        }
      button = gui_driver_find_button (root, "_Cancel");
      g_assert_nonnull (button);
      g_signal_emit_by_name (button, "clicked");
      for (guint i = 0; i < entries->len; i++)
        g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entries->pdata[i])), ==, "");
      return;
    }

  switch (tke_prompt_get_kind (prompt))
    {
      case TKE_PROMPT_PIN:
        {
          g_autoptr (GPtrArray) entries = g_ptr_array_new ();

          g_assert_cmpint (answer->kind, ==, ANSWER_PIN);
          gui_driver_collect (root, GTK_TYPE_PASSWORD_ENTRY, entries);
          g_assert_cmpuint (entries->len, ==,
                            TKE_PIN_KIND_IS_NEW (tke_prompt_get_pin_kind (prompt)) ? 2 : 1);
          for (guint i = 0; i < entries->len; i++)
            gtk_editable_set_text (GTK_EDITABLE (entries->pdata[i]), answer->text);
          gui_driver_screenshot_once (
              gui, TKE_PIN_KIND_IS_NEW (tke_prompt_get_pin_kind (prompt)) ? "new-pin" : "pin");
          break;
        }
      case TKE_PROMPT_TEXT:
        {
          g_autoptr (GPtrArray) entries = g_ptr_array_new ();

          g_assert_cmpint (answer->kind, ==, ANSWER_TEXT);
          gui_driver_collect (root, GTK_TYPE_ENTRY, entries);
          g_assert_cmpuint (entries->len, ==, 1);
          gtk_editable_set_text (GTK_EDITABLE (entries->pdata[0]), answer->text);
          gui_driver_screenshot_once (gui, "text");
          break;
        }
      case TKE_PROMPT_NUMBER:
        {
          g_autoptr (GPtrArray) spins = g_ptr_array_new ();

          g_assert_cmpint (answer->kind, ==, ANSWER_NUMBER);
          gui_driver_collect (root, GTK_TYPE_SPIN_BUTTON, spins);
          g_assert_cmpuint (spins->len, ==, 1);
          gtk_spin_button_set_value (spins->pdata[0], answer->number);
          gui_driver_screenshot_once (gui, "number");
          break;
        }
      case TKE_PROMPT_CHOOSE:
        {
          g_autoptr (GPtrArray) lists = g_ptr_array_new ();

          g_assert_cmpint (answer->kind, ==, ANSWER_CHOICE);
          gui_driver_collect (root, GTK_TYPE_LIST_BOX, lists);
          for (guint i = 0; i < lists->len; i++)
            if (gtk_list_box_get_selection_mode (lists->pdata[i]) == GTK_SELECTION_SINGLE)
              gtk_list_box_select_row (
                  lists->pdata[i], gtk_list_box_get_row_at_index (lists->pdata[i], answer->number));
          gui_driver_screenshot_once (gui, "choose");
          break;
        }
      case TKE_PROMPT_CONFIRM:
        g_assert_cmpint (answer->kind, ==, ANSWER_CONFIRM);
        gui_driver_screenshot_once (gui, "confirm");
        break;
      default:
        g_assert_not_reached ();
    }

  button = gui_driver_find_button (
      root, tke_prompt_get_kind (prompt) == TKE_PROMPT_CONFIRM ? "C_onfirm" : "C_ontinue");
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
}

static gboolean
answer_later (gpointer data)
{
  GuiDriver *gui = ((gpointer *) data)[0];
  g_autoptr (TkePrompt) prompt = ((gpointer *) data)[1];

  g_free (data);
  answer_in_dialog (gui, prompt);
  return G_SOURCE_REMOVE;
}

static void
on_ask (TkeGuiPrompter *prompter, TkePrompt *prompt, GuiDriver *gui)
{
  gpointer *data = g_new0 (gpointer, 2);

  data[0] = gui;
  data[1] = g_object_ref (prompt);
  g_idle_add (answer_later, data);
}

/* How long the main loop went without running. */
static gboolean
tick (gpointer data)
{
  GuiDriver *gui = data;
  gint64 now = g_get_monotonic_time ();

  if (gui->last_tick != 0 && now - gui->last_tick > 50000)
    g_test_message ("main loop stalled %.1f ms during %s", (now - gui->last_tick) / 1000.0,
                    gui->operation);
  if (gui->last_tick != 0)
    gui->max_stall = MAX (gui->max_stall, now - gui->last_tick);
  gui->last_tick = now;
  return G_SOURCE_CONTINUE;
}

void
gui_driver_start_watchdog (GuiDriver *gui)
{
  g_assert_cmpuint (gui->tick_source, ==, 0);
  gui->last_tick = 0;
  gui->tick_source = g_timeout_add_full (G_PRIORITY_HIGH, 5, tick, gui, NULL);
}

gint64
gui_driver_stop_watchdog (GuiDriver *gui)
{
  if (gui->tick_source != 0)
    g_source_remove (gui->tick_source);
  gui->tick_source = 0;
  return gui->max_stall;
}

static void
wipe_free (gpointer text)
{
  OPENSSL_cleanse (text, strlen (text));
  g_free (text);
}

/* Keeps bytes as the texts a journal might show them in: hex both cases, and base64. */
static void
keep_key_texts (GuiDriver *gui, const guint8 *bytes, gsize len)
{
  char *hex = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    g_snprintf (hex + i * 2, 3, "%02x", bytes[i]);
  g_ptr_array_add (gui->key_texts, g_ascii_strup (hex, -1));
  g_ptr_array_add (gui->key_texts, hex);
  g_ptr_array_add (gui->key_texts, g_base64_encode (bytes, len));
}

void
gui_driver_init (GuiDriver *gui, TkeWindow *window, const GuiCards *cards, gpointer cards_data,
                 TkeReaderManager *readers, const char *reader_2, const char *shot_prefix)
{
  gui->window = window;
  gui->cards = cards;
  gui->cards_data = cards_data;
  gui->readers = readers;
  gui->reader_2 = reader_2;
  gui->shot_prefix = shot_prefix;
  g_queue_init (&gui->next_card[0]);
  g_queue_init (&gui->next_card[1]);
  g_queue_init (&gui->answers);
  gui->shots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gui->operation = "set-up";
  gui->key_texts = g_ptr_array_new_with_free_func (wipe_free);
  gui->result_text = g_string_new (NULL);
  g_signal_connect_after (tke_window_get_prompter (window), "card-wait", G_CALLBACK (on_card_wait),
                          gui);
  g_signal_connect_after (tke_window_get_prompter (window), "ask", G_CALLBACK (on_ask), gui);
  gui_driver_start_watchdog (gui);
}

void
gui_driver_clear (GuiDriver *gui)
{
  gui_driver_stop_watchdog (gui);
  g_signal_handlers_disconnect_by_data (tke_window_get_prompter (gui->window), gui);
  g_queue_clear (&gui->next_card[0]);
  g_queue_clear (&gui->next_card[1]);
  g_queue_clear_full (&gui->answers, g_free);
  g_clear_pointer (&gui->shots, g_hash_table_unref);
  g_clear_pointer (&gui->key_texts, g_ptr_array_unref);
  if (gui->result_text != NULL)
    g_string_free (g_steal_pointer (&gui->result_text), TRUE);
}

/* Running operations ------------------------------------------------------------------------- */

void
gui_driver_wait_until (GuiDriver *gui, gboolean (*done) (GuiDriver *), guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!done (gui) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done (gui));
}

static gboolean
dialog_finished (GuiDriver *gui)
{
  TkeCeremonyDialog *dialog = tke_window_get_ceremony_dialog (gui->window);

  return dialog != NULL && tke_ceremony_dialog_is_finished (dialog) &&
         !tke_ceremony_worker_get_busy (tke_window_get_worker (gui->window));
}

gboolean
gui_driver_workspace_idle (GuiDriver *gui)
{
  return !tke_workspace_is_refreshing (tke_window_get_workspace (gui->window));
}

char *
gui_driver_run (GuiDriver *gui, const char *action)
{
  TkeCeremonyDialog *dialog;
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  GtkWidget *close;
  char *title = NULL;

  /* Each operation starts with empty readers: the cards it asks for are put in as it asks. */
  g_test_message ("operation: %s", action);
  gui->operation = action;
  gui->cards->empty_readers (gui);
  g_action_group_activate_action (G_ACTION_GROUP (gui->window), action, NULL);
  /* The dialog is kept between operations: the one found finished must be this one's. */
  g_assert_nonnull (tke_window_get_ceremony_dialog (gui->window));
  g_assert_false (tke_ceremony_dialog_is_finished (tke_window_get_ceremony_dialog (gui->window)));
  gui_driver_wait_until (gui, dialog_finished, 180);

  dialog = tke_window_get_ceremony_dialog (gui->window);
  g_assert_cmpstr (tke_ceremony_dialog_get_page (dialog), ==, "result");
  gui_driver_collect (GTK_WIDGET (dialog), GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len && title == NULL; i++)
    if (gtk_widget_has_css_class (labels->pdata[i], "title-2"))
      title = g_strdup (gtk_label_get_text (labels->pdata[i]));
  g_string_truncate (gui->result_text, 0);
  for (guint i = 0; i < labels->len; i++)
    {
      g_test_message ("  %s", gtk_label_get_text (labels->pdata[i]));
      g_string_append_printf (gui->result_text, "%s\n", gtk_label_get_text (labels->pdata[i]));
    }
  gui_driver_screenshot_once (gui, "result");

  /* An operation that ended before its script did says why on stderr, which CI shows. */
  if (!g_queue_is_empty (&gui->answers))
    {
      g_printerr ("%s ended with %u answers of its script unused; the dialog says:\n", action,
                  g_queue_get_length (&gui->answers));
      for (guint i = 0; i < labels->len; i++)
        g_printerr ("  %s\n", gtk_label_get_text (labels->pdata[i]));
    }
  g_assert_cmpuint (g_queue_get_length (&gui->answers), ==, 0);
  g_assert_true (g_queue_is_empty (&gui->next_card[0]));
  g_assert_true (g_queue_is_empty (&gui->next_card[1]));

  close = gui_driver_find_button (GTK_WIDGET (dialog), "C_lose");
  g_assert_nonnull (close);
  g_signal_emit_by_name (close, "clicked");
  gui_driver_wait_until (gui, gui_driver_workspace_idle, 30);
  return title;
}

void
gui_driver_run_ok (GuiDriver *gui, const char *action)
{
  g_autofree char *title = gui_driver_run (gui, action);

  g_assert_cmpstr (title, ==, "Done");
}

/* The seed ceremony -------------------------------------------------------------------------- */

void
gui_driver_initialize_cards (GuiDriver *gui)
{
  static const char *const descriptions[] = { "Alice's administrator card",
                                              "Bob's administrator card", "Key part 1 custodian",
                                              "Key part 2 custodian", "Key part 3 custodian" };

  for (guint i = 0; i < N_CARDS; i++)
    {
      gui_driver_expect_card (gui, 2, i);
      gui_driver_push (gui, ANSWER_TEXT, descriptions[i], 0);
      gui_driver_push (gui, ANSWER_PIN, "123456", 0);
      gui_driver_push (gui, ANSWER_PIN, gui_card_pins[i], 0);
      gui_driver_push (gui, ANSWER_PIN, "12345678", 0);
      gui_driver_push (gui, ANSWER_PIN, GUI_NEW_PUK, 0);
      gui_driver_run_ok (gui, "initialize-card");
    }
}

void
gui_driver_generate (GuiDriver *gui)
{
  static const char *const names[] = { "Alice", "Bob" };
  static const char *const parts[] = { "Master key part 1", "Master key part 2",
                                       "Master key part 3" };

  for (guint i = CARD_ALICE; i <= CARD_BOB; i++)
    {
      gui_driver_expect_card (gui, 2, i);
      gui_driver_push (gui, ANSWER_TEXT, names[i], 0);
      gui_driver_push (gui, ANSWER_PIN, gui_card_pins[i], 0);
      gui_driver_run_ok (gui, "generate-signature-key");
    }
  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      gui_driver_expect_card (gui, 2, i);
      gui_driver_push (gui, ANSWER_PIN, gui_card_pins[i], 0);
      gui_driver_push (gui, ANSWER_TEXT, parts[i - CARD_PART1], 0);
      gui_driver_run_ok (gui, "generate-key-part");
    }
  /* A second part on the third card: the load then asks which of its parts to take. */
  gui_driver_expect_card (gui, 2, CARD_PART3);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_PART3], 0);
  gui_driver_push (gui, ANSWER_TEXT, "Spare part", 0);
  gui_driver_run_ok (gui, "generate-key-part");
}

void
gui_driver_select_all_units (GuiDriver *gui)
{
  g_autoptr (GError) error = NULL;
  const guint nums[] = { 1, 2, 3, 4, 5 };

  g_assert_true (
      tke_workspace_select_nums (tke_window_get_workspace (gui->window), nums, 5, TRUE, &error));
  g_assert_no_error (error);
  gui_driver_wait_until (gui, gui_driver_workspace_idle, 30);
}

void
gui_driver_add_admins_and_thresholds (GuiDriver *gui)
{
  gui_driver_expect_card (gui, 1, CARD_ALICE);
  gui_driver_run_ok (gui, "add-administrator");
  gui_driver_expect_card (gui, 1, CARD_BOB);
  gui_driver_run_ok (gui, "add-administrator");

  gui_driver_push (gui, ANSWER_NUMBER, NULL, 2);
  gui_driver_push (gui, ANSWER_NUMBER, NULL, 2);
  gui_driver_expect_card (gui, 1, CARD_ALICE);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_ALICE], 0);
  gui_driver_expect_card (gui, 1, CARD_BOB);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_BOB], 0);
  gui_driver_run_ok (gui, "change-signature-thresholds");
}

/* The script of a load of the three parts signed by Alice; the caller runs it. */
void
gui_driver_script_load (GuiDriver *gui)
{
  gui_driver_push (gui, ANSWER_NUMBER, NULL, 3);
  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      gui_driver_expect_card (gui, 2, i);
      if (i == CARD_PART3)
        gui_driver_push (gui, ANSWER_CHOICE, NULL, 0);
      gui_driver_push (gui, ANSWER_PIN, gui_card_pins[i], 0);
    }
  gui_driver_expect_card (gui, 1, CARD_ALICE);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_ALICE], 0);
}

void
gui_driver_commit_and_set_immediate (GuiDriver *gui)
{
  gui_driver_expect_card (gui, 1, CARD_BOB);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_BOB], 0);
  gui_driver_expect_card (gui, 1, CARD_ALICE);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_ALICE], 0);
  gui_driver_run_ok (gui, "commit");

  gui_driver_push (gui, ANSWER_CONFIRM, NULL, 1);
  gui_driver_expect_card (gui, 1, CARD_BOB);
  gui_driver_push (gui, ANSWER_PIN, gui_card_pins[CARD_BOB], 0);
  gui_driver_run_ok (gui, "set-immediate");
}

/* Checks made of the cards and the service ----------------------------------------------------- */

char *
gui_driver_expected_vp (GuiDriver *gui)
{
  guint8 key[TKE_KEY_PART_LEN] = { 0 };
  guint8 vp[TKE_VP_LEN];

  for (guint i = CARD_PART1; i <= CARD_PART3; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeCardConnection) connection = NULL;
      g_autoptr (TkePivClient) piv = NULL;
      g_autoptr (TkeSecret) pin = NULL;
      g_autoptr (TkeSecret) part = NULL;

      gui->cards->empty_readers (gui);
      gui->cards->insert_now (gui, i);
      connection = tke_reader_manager_connect (gui->readers, gui->reader_2, &error);
      g_assert_no_error (error);
      piv = tke_piv_client_new (connection);
      pin = tke_secret_new_from ((const guint8 *) gui_card_pins[i], strlen (gui_card_pins[i]),
                                 &error);
      part = tke_card_profile_take_key_part (piv, pin, 1, NULL, &error);
      g_assert_no_error (error);
      for (guint b = 0; b < TKE_KEY_PART_LEN; b++)
        key[b] ^= tke_secret_peek (part)[b];
      keep_key_texts (gui, tke_secret_peek (part), TKE_KEY_PART_LEN);
      tke_card_connection_disconnect (connection, TRUE);
    }
  gui->cards->empty_readers (gui);
  keep_key_texts (gui, key, sizeof key);
  tke_vp_compute (key, sizeof key, vp);
  OPENSSL_cleanse (key, sizeof key);
  return tke_vp_to_hex (vp);
}

static void
state_read (GObject *source, GAsyncResult *result, gpointer data)
{
  json_t **slot = data;
  g_autoptr (GError) error = NULL;

  *slot = tke_unit_client_get_state_finish (TKE_UNIT_CLIENT (source), result, &error);
  g_assert_no_error (error);
}

GPtrArray *
gui_driver_read_states (GuiDriver *gui, const char *url, const char *fingerprint,
                        const char *api_key)
{
  g_autoptr (TkeUnitClient) client = tke_unit_client_new (url, fingerprint, api_key);
  GPtrArray *units = tke_workspace_get_units (tke_window_get_workspace (gui->window));
  g_autofree json_t **slots = g_new0 (json_t *, units->len);
  GPtrArray *states = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
  gboolean done = FALSE;

  /* Asked of the service itself, not of what the window last read. */
  for (guint i = 0; i < units->len; i++)
    tke_unit_client_get_state_async (client, ((TkeCeremonyUnit *) units->pdata[i])->id, NULL,
                                     state_read, &slots[i]);
  while (!done)
    {
      g_main_context_iteration (NULL, TRUE);
      done = TRUE;
      for (guint i = 0; i < units->len; i++)
        done = done && slots[i] != NULL;
    }
  for (guint i = 0; i < units->len; i++)
    g_ptr_array_add (states, slots[i]);
  return states;
}

void
gui_driver_assert_units (GuiDriver *gui, const char *url, const char *fingerprint,
                         const char *api_key, const char *vp)
{
  g_autoptr (GPtrArray) states = gui_driver_read_states (gui, url, fingerprint, api_key);

  g_assert_cmpuint (states->len, ==, 5);
  for (guint i = 0; i < states->len; i++)
    {
      json_t *state = states->pdata[i];
      json_t *admins = json_object_get (state, "admins");
      json_t *thresholds = json_object_get (state, "thresholds");
      json_t *current = json_object_get (json_object_get (state, "registers"), "current");

      g_assert_cmpstr (json_string_value (json_object_get (state, "mode")), ==, "normal");
      g_assert_cmpuint (json_array_size (admins), ==, 2);
      g_assert_cmpint (json_integer_value (json_object_get (thresholds, "signature")), ==, 2);
      g_assert_cmpint (json_integer_value (json_object_get (thresholds, "revocation")), ==, 2);
      g_assert_cmpstr (json_string_value (json_object_get (current, "state")), ==, "Valid");
      g_assert_cmpstr (json_string_value (json_object_get (current, "vp")), ==, vp);
    }
}

void
gui_driver_assert_journal (GuiDriver *gui, guint n_operations)
{
  TkeJournal *journal = tke_workspace_get_journal (tke_window_get_workspace (gui->window));
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  guint n = 0;

  g_assert_true (tke_journal_verify (tke_journal_get_path (journal), &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_operations);
  g_assert_true (g_file_get_contents (tke_journal_get_path (journal), &contents, NULL, NULL));
  for (guint i = 0; i < N_CARDS; i++)
    g_assert_null (strstr (contents, gui_card_pins[i]));
  g_assert_null (strstr (contents, GUI_NEW_PUK));

  /* The window shows it: the chain verifies, and the operations are there with who signed. */
  {
    GtkWindow *window = NULL;
    GListModel *toplevels = gtk_window_get_toplevels ();
    g_autofree char *text = NULL;
    g_autofree char *verifies =
        g_strdup_printf ("%u operations; the chain of the journal verifies.", n_operations);
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

    g_action_group_activate_action (G_ACTION_GROUP (gui->window), "show-journal", NULL);
    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr (GObject) item = g_list_model_get_item (toplevels, i);

        if (TKE_IS_JOURNAL_WINDOW (item))
          window = GTK_WINDOW (item);
      }
    g_assert_nonnull (window);
    text = tke_journal_window_dup_text (TKE_JOURNAL_WINDOW (window));
    g_assert_nonnull (strstr (text, verifies));
    g_assert_nonnull (strstr (text, "set-immediate"));
    g_assert_nonnull (strstr (text, "signed by Bob"));
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    gui_driver_screenshot (gui, GTK_WIDGET (window), "journal");
    gtk_window_destroy (window);
  }
}

void
gui_driver_assert_journal_holds_no_keys (GuiDriver *gui)
{
  TkeJournal *journal = tke_workspace_get_journal (tke_window_get_workspace (gui->window));
  g_autofree char *contents = NULL;

  g_assert_cmpuint (gui->key_texts->len, ==, 4 * 3);
  g_assert_true (g_file_get_contents (tke_journal_get_path (journal), &contents, NULL, NULL));
  for (guint i = 0; i < gui->key_texts->len; i++)
    g_assert_null (strstr (contents, gui->key_texts->pdata[i]));
}
