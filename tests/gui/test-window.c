/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The real window under Xvfb: each of the five tabs shows its columns and its operations, the
 * menu's windows open, the shortcuts switch tabs, demo mode says what it is. Saves a PNG of each
 * tab in the build dir (tests/gui/screenshots/). */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "tke-application.h"
#include "tke-demo-world.h"
#include "tke-piv-client.h"
#include "tke-reader-manager.h"
#include "tke-secmem.h"
#include "tke-window.h"
#include "tke-workspace.h"

typedef struct
{
  const char *name;
  const char *columns[7];
  const char *buttons[9];
} TabSpec;

static const TabSpec tabs[] = {
  { "smart-card",
    { "ID", "DESCRIPTION", "VERIFICATION PATTERN", "CREATED" },
    { "Initialize card", "Change PIN", "Unblock PIN", "Generate signature key", "Generate key part",
      "Copy smart card", "Copy signature key file", "Copy key part file" } },
  { "crypto-units",
    { "SERVICE INSTANCE", "CRYPTO UNIT NUM", "SELECTED", "TYPE", "LOCATION", "IDENTITY (PINNED)" },
    { "Connect service…", "Add crypto units", "Remove crypto units", "Re-pin identity…",
      "Zeroize" } },
  { "administrators",
    { "CRYPTO UNIT NUM", "ADMINISTRATOR NAME", "SUBJECT KEY IDENTIFIER" },
    { "Add administrator", "Remove administrator" } },
  { "thresholds",
    { "CRYPTO UNIT NUM", "MODE", "SIGNATURE THRESHOLD", "REVOCATION SIGNATURE THRESHOLD",
      "ADMINISTRATORS" },
    { "Change signature thresholds" } },
  { "master-keys",
    { "CRYPTO UNIT NUM", "NEW MASTER KEY REGISTER", "CURRENT MASTER KEY REGISTER" },
    { "Load", "Commit", "Set immediate", "Rotate", "Clear new", "Clear current" } },
};

typedef struct
{
  TkeApplication *app;
  GtkWindow *window;
  guint frames;
} Fixture;

static void
count_frame (GdkFrameClock *clock, Fixture *fixture)
{
  fixture->frames++;
}

/* Runs the main loop until the window has painted a frame after this call. */
static void
wait_for_frame (Fixture *fixture)
{
  guint before = fixture->frames;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gtk_widget_queue_draw (GTK_WIDGET (fixture->window));
  while (fixture->frames == before && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (fixture->frames, >, before);

  /* Let idle work that the frame queued (list item binding) settle too. */
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

/* A GApplication registers once per process: the tests share it and each opens its own window. */
static TkeApplication *shared_app;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  gboolean demo = GPOINTER_TO_INT (data);

  fixture->app = g_object_ref (shared_app);
  g_object_set (fixture->app, "demo", demo, NULL);
  /* Readers no machine has: this test must not read the cards that tests holding the vpcd
   * readers put there. */
  g_settings_set_string (tke_application_get_settings (fixture->app), "reader-1",
                         "No Such Reader 1");
  g_settings_set_string (tke_application_get_settings (fixture->app), "reader-2",
                         "No Such Reader 2");

  g_autoptr (GError) error = NULL;

  fixture->window = GTK_WINDOW (tke_window_new (fixture->app, &error));
  g_assert_no_error (error);
  gtk_widget_realize (GTK_WIDGET (fixture->window));
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (fixture->window)), "after-paint",
                    G_CALLBACK (count_frame), fixture);
  gtk_window_present (fixture->window);
  wait_for_frame (fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (fixture->window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&fixture->app);
}

static void
save_window_screenshot (GtkWindow *window, const char *name)
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
save_screenshot (Fixture *fixture, const char *name)
{
  save_window_screenshot (fixture->window, name);
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

static GtkWidget *
visible_page (Fixture *fixture)
{
  g_autoptr (GPtrArray) stacks = g_ptr_array_new ();

  collect_widgets (GTK_WIDGET (fixture->window), ADW_TYPE_VIEW_STACK, stacks);
  g_assert_cmpuint (stacks->len, ==, 1);
  return adw_view_stack_get_visible_child (stacks->pdata[0]);
}

static void
show_tab (Fixture *fixture, const char *name)
{
  g_action_group_activate_action (G_ACTION_GROUP (fixture->window), "show-page",
                                  g_variant_new_string (name));
  wait_for_frame (fixture);
}

static char *
label_without_mnemonic (GtkButton *button)
{
  GString *out = g_string_new (NULL);

  for (const char *p = gtk_button_get_label (button); *p; p++)
    if (*p != '_')
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

static void
assert_tab (Fixture *fixture, const TabSpec *spec)
{
  g_autoptr (GPtrArray) views = g_ptr_array_new ();
  g_autoptr (GPtrArray) buttons = g_ptr_array_new ();
  GListModel *columns;
  GtkWidget *page;
  guint n_columns = 0, n_buttons = 0;

  show_tab (fixture, spec->name);
  page = visible_page (fixture);
  g_assert_true (gtk_widget_get_mapped (page));

  collect_widgets (page, GTK_TYPE_COLUMN_VIEW, views);
  g_assert_cmpuint (views->len, ==, 1);
  g_assert_true (gtk_widget_get_mapped (views->pdata[0]));
  columns = gtk_column_view_get_columns (views->pdata[0]);
  while (spec->columns[n_columns] != NULL)
    n_columns++;
  g_assert_cmpuint (g_list_model_get_n_items (columns), ==, n_columns);
  for (guint i = 0; i < n_columns; i++)
    {
      g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, i);

      g_assert_cmpstr (gtk_column_view_column_get_title (column), ==, spec->columns[i]);
      g_assert_true (gtk_column_view_column_get_visible (column));
    }

  collect_widgets (page, GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    {
      GtkButton *button = buttons->pdata[i];
      g_autofree char *label = NULL;
      const char *action;

      /* Column headers are buttons too; the operations are the ones with an action. */
      action = gtk_actionable_get_action_name (GTK_ACTIONABLE (button));
      if (action == NULL)
        continue;

      label = label_without_mnemonic (button);
      g_assert_cmpuint (n_buttons, <, G_N_ELEMENTS (spec->buttons));
      g_assert_cmpstr (label, ==, spec->buttons[n_buttons]);
      n_buttons++;

      /* Every operation is there to press and says what it does. */
      g_test_message ("button: %s", label);
      g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (button)));
      g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (button)));
      g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture->window),
                                                        action + strlen ("win.")));
      g_assert_nonnull (gtk_widget_get_tooltip_text (GTK_WIDGET (button)));
    }
  g_assert_cmpuint (n_buttons, ==, g_strv_length ((char **) spec->buttons));

  save_screenshot (fixture, spec->name);
}

static void
test_window_tabs (Fixture *fixture, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (tabs); i++)
    {
      g_test_message ("tab: %s", tabs[i].name);
      assert_tab (fixture, &tabs[i]);
    }
}

static void
test_window_shortcuts (Fixture *fixture, gconstpointer data)
{
  g_auto (GStrv) accels = NULL;
  g_autofree char *window_title = NULL;

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app),
                                                  "win.show-page('master-keys')");
  g_assert_cmpstrv (accels, ((const char *[]){ "<Alt>5", NULL }));
  g_clear_pointer (&accels, g_strfreev);
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app), "app.quit");
  g_assert_cmpstrv (accels, ((const char *[]){ "<Control>q", NULL }));

  /* The keyboard shortcuts window comes from the resources, with its action on the window. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (fixture->window), "show-help-overlay"));
  g_assert_nonnull (
      gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (fixture->window)));
}

static GtkWindow *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type))
        return GTK_WINDOW (window);
    }
  return NULL;
}

static void
test_window_menu_windows (Fixture *fixture, gconstpointer data)
{
  GtkWindow *about, *prefs;

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "about", NULL);
  wait_for_frame (fixture);
  about = find_toplevel (ADW_TYPE_ABOUT_WINDOW);
  g_assert_nonnull (about);
  g_assert_cmpstr (adw_about_window_get_application_name (ADW_ABOUT_WINDOW (about)), ==,
                   "Open TKE");
  g_assert_cmpstr (adw_about_window_get_version (ADW_ABOUT_WINDOW (about)), ==, PACKAGE_VERSION);
  g_assert_cmpint (adw_about_window_get_license_type (ADW_ABOUT_WINDOW (about)), ==,
                   GTK_LICENSE_GPL_3_0);
  g_assert_nonnull (adw_about_window_get_website (ADW_ABOUT_WINDOW (about)));
  g_assert_true (
      gtk_icon_theme_has_icon (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                               adw_about_window_get_application_icon (ADW_ABOUT_WINDOW (about))));
  save_window_screenshot (about, "about");
  gtk_window_destroy (about);

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);
  wait_for_frame (fixture);
  prefs = find_toplevel (ADW_TYPE_PREFERENCES_WINDOW);
  g_assert_nonnull (prefs);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (prefs)));
  gtk_window_destroy (prefs);
}

static void
test_window_preferences_readers (Fixture *fixture, gconstpointer data)
{
  GSettings *settings = tke_application_get_settings (fixture->app);
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  GtkWindow *prefs;

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);
  wait_for_frame (fixture);
  prefs = find_toplevel (ADW_TYPE_PREFERENCES_WINDOW);
  g_assert_nonnull (prefs);

  collect_widgets (GTK_WIDGET (prefs), ADW_TYPE_ENTRY_ROW, rows);
  g_assert_cmpuint (rows->len, ==, 2);
  gtk_editable_set_text (GTK_EDITABLE (rows->pdata[1]), "No Such Reader 3");
  g_autofree char *reader2 = g_settings_get_string (settings, "reader-2");
  g_assert_cmpstr (reader2, ==, "No Such Reader 3");
  {
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

    while (!gtk_widget_get_mapped (GTK_WIDGET (prefs)) || g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  save_window_screenshot (prefs, "preferences");
  gtk_window_destroy (prefs);
}

static void
test_window_demo (Fixture *fixture, gconstpointer data)
{
  GtkWidget *page = visible_page (fixture);
  TkeWorkspace *workspace = tke_window_get_workspace (TKE_WINDOW (fixture->window));
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  /* Demo mode opens on its Demo panel, with a world of its own: the embedded service's five
   * units appear on the Crypto units tab by themselves. */
  g_assert_nonnull (tke_window_get_demo_world (TKE_WINDOW (fixture->window)));
  g_assert_cmpstr (gtk_window_get_title (fixture->window), ==, "Open TKE (demo)");
  g_assert_false (GTK_IS_COLUMN_VIEW (page));
  while (tke_workspace_get_units (workspace)->len < 5 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (tke_workspace_get_units (workspace)->len, ==, 5);
  save_screenshot (fixture, "demo");

  show_tab (fixture, "crypto-units");
  save_screenshot (fixture, "demo-crypto-units");
}

/* Every text the widget and its descendants show: labels and editable text. */
static void
collect_texts (GtkWidget *widget, GString *out)
{
  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_texts (child, out);
}

static void
insert_and_wait (TkeDemoWorld *world, TkeDemoCard *card)
{
  g_autoptr (GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_true (tke_demo_world_insert (world, card, TKE_DEMO_LOCATION_READER_2, &error));
  g_assert_no_error (error);
  while (tke_demo_world_get_card_in (world, TKE_DEMO_LOCATION_READER_2) != card &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (tke_demo_world_get_card_in (world, TKE_DEMO_LOCATION_READER_2) == card);
}

/* A hostile card: its directory, written with the blank card's default management key, holds a
 * card description and a key part description with ESC sequences (clear screen, red, a window
 * title ended by BEL) and a right-to-left override. The Smart card tab shows them escaped. */
static void
test_window_hostile_card (Fixture *fixture, gconstpointer data)
{
  TkeDemoWorld *world = tke_window_get_demo_world (TKE_WINDOW (fixture->window));
  g_autoptr (TkeDemoCard) card = g_list_model_get_item (tke_demo_world_get_cards (world), 7);
  static const guint8 mgmt_default[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                           5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
  const char *card_text = "\x1b[2J\x1b[31mEvil\xe2\x80\xaetxt.exe";
  const char *part_text = "Part\x1b]0;owned\x07\xe2\x80\xae"
                          "evil";
  g_autoptr (GByteArray) dir = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) key = NULL;
  g_autoptr (GString) shown = g_string_new (NULL);
  guint8 entry_head[] = { 0xA0, 0, 0x80, 1, 1, 0x81, 0 };
  guint8 created_vp[2 + 8 + 2 + 32] = { 0x82, 8, 0, 0, 0, 0, 0x69, 0x2e, 0, 0, 0x83, 32 };
  gint64 deadline;

  /* 80 01 01, 81 L <card description>, A0 L { 80 01 01, 81 L <part>, 82 08 <t>, 83 20 <vp> } */
  g_byte_array_append (dir, (const guint8 *) "\x80\x01\x01\x81", 4);
  g_byte_array_append (dir, (const guint8[]){ (guint8) strlen (card_text) }, 1);
  g_byte_array_append (dir, (const guint8 *) card_text, strlen (card_text));
  entry_head[1] = (guint8) (5 + strlen (part_text) + sizeof created_vp);
  entry_head[6] = (guint8) strlen (part_text);
  g_byte_array_append (dir, entry_head, sizeof entry_head);
  g_byte_array_append (dir, (const guint8 *) part_text, strlen (part_text));
  memset (created_vp + 12, 0xAB, 28);
  g_byte_array_append (dir, created_vp, sizeof created_vp);

  insert_and_wait (world, card);
  {
    g_autoptr (TkeCardConnection) connection = tke_reader_manager_connect (
        tke_demo_world_get_reader_manager (world), TKE_DEMO_READER_2_NAME, &error);
    g_autoptr (TkePivClient) piv = NULL;

    g_assert_no_error (error);
    piv = tke_piv_client_new (connection);
    key = tke_secret_new_from (mgmt_default, sizeof mgmt_default, &error);
    g_assert_true (tke_piv_client_begin (piv, &error));
    g_assert_true (tke_piv_client_authenticate (piv, TKE_PIV_ALG_AES192, key, &error));
    g_assert_true (tke_piv_client_put_data (piv, 0x5FD000, dir->data, dir->len, &error));
    g_assert_no_error (error);
    tke_piv_client_end (piv);
  }
  /* Out and in again, as the operator would after the card was written elsewhere. */
  tke_demo_world_remove (world, TKE_DEMO_LOCATION_READER_2);
  insert_and_wait (world, card);

  show_tab (fixture, "smart-card");
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do
    {
      g_main_context_iteration (NULL, FALSE);
      g_string_truncate (shown, 0);
      collect_texts (visible_page (fixture), shown);
    }
  while ((strstr (shown->str, "Evil") == NULL || strstr (shown->str, "owned") == NULL) &&
         g_get_monotonic_time () < deadline);
  g_test_message ("the Smart card tab shows:\n%s", shown->str);
  /* What the card said is there, escaped; nothing a terminal or the text layout would obey. */
  g_assert_nonnull (strstr (shown->str, "\\x1b[2J\\x1b[31mEvil\\u202etxt.exe"));
  g_assert_nonnull (strstr (shown->str, "Part\\x1b]0;owned\\x07\\u202eevil"));
  g_assert_null (strchr (shown->str, '\x1b'));
  g_assert_null (strchr (shown->str, '\x07'));
  g_assert_null (strstr (shown->str, "\xe2\x80\xae"));
  /* The VP keeps its own layout, two lines of 8 groups of 4 digits. */
  g_assert_nonnull (strstr (shown->str, "abab abab abab abab abab abab abab abab\nabab abab"));
  wait_for_frame (fixture);
  save_screenshot (fixture, "hostile-card");
}

/* The selected units are saved in the order of their ids, whatever order they were chosen and
 * allocated in. */
static void
test_window_selection_order (Fixture *fixture, gconstpointer data)
{
  TkeWorkspace *workspace = tke_window_get_workspace (TKE_WINDOW (fixture->window));
  GSettings *settings = tke_application_get_settings (fixture->app);
  g_auto (GStrv) saved = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (int i = 19; i >= 0; i--)
    g_ptr_array_add (ids, g_strdup_printf ("unit-%02d-%c", (i * 7) % 20, 'a' + i));
  for (guint i = 0; i < ids->len; i++)
    tke_workspace_set_selected (workspace, ids->pdata[i], TRUE);
  saved = g_settings_get_strv (settings, "selected-units");
  g_assert_cmpuint (g_strv_length (saved), >=, 20);
  for (guint i = 1; saved[i] != NULL; i++)
    g_assert_cmpint (strcmp (saved[i - 1], saved[i]), <, 0);
  for (guint i = 0; i < ids->len; i++)
    tke_workspace_set_selected (workspace, ids->pdata[i], FALSE);
}

/* After a tab is switched by its shortcut the focus is in the new tab, not on the tab that was
 * left; a toast never takes the focus order, and sits above the row of buttons. */
static void
test_window_focus_and_toasts (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) overlays = g_ptr_array_new ();
  g_autoptr (GPtrArray) buttons = g_ptr_array_new ();
  GtkWidget *page, *toast_widget = NULL;
  graphene_rect_t toast_bounds, button_bounds;

  show_tab (fixture, "smart-card");
  show_tab (fixture, "master-keys");
  page = visible_page (fixture);
  g_assert_nonnull (gtk_root_get_focus (GTK_ROOT (fixture->window)));
  g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (fixture->window)), page));

  collect_widgets (GTK_WIDGET (fixture->window), ADW_TYPE_TOAST_OVERLAY, overlays);
  g_assert_cmpuint (overlays->len, ==, 1);
  adw_toast_overlay_add_toast (overlays->pdata[0], adw_toast_new ("A toast for the test"));
  wait_for_frame (fixture);
  wait_for_frame (fixture);
  for (GtkWidget *child = gtk_widget_get_first_child (overlays->pdata[0]); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (g_str_equal (G_OBJECT_TYPE_NAME (child), "AdwToastWidget"))
      toast_widget = child;
  g_assert_nonnull (toast_widget);
  g_assert_false (gtk_widget_get_can_focus (toast_widget));

  collect_widgets (page, GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    if (gtk_actionable_get_action_name (buttons->pdata[i]) != NULL)
      {
        g_assert_true (gtk_widget_compute_bounds (buttons->pdata[i], GTK_WIDGET (fixture->window),
                                                  &button_bounds));
        g_assert_true (
            gtk_widget_compute_bounds (toast_widget, GTK_WIDGET (fixture->window), &toast_bounds));
        g_assert_cmpfloat (toast_bounds.origin.y + toast_bounds.size.height, <=,
                           button_bounds.origin.y);
      }
  save_screenshot (fixture, "toast");
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("tke-test-window-XXXXXX", NULL);

  /* The workspace (services, journal) goes to a directory of the test's own. Not
   * G_TEST_OPTION_ISOLATE_DIRS: it also hides the MIME database that icon loading needs. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  if (!gtk_init_check ())
    {
      /* TAP's skip plan with status 0 is what meson reports as SKIP (77 would be an error). */
      g_print ("1..0 # SKIP no display: run the tests through build-aux/test, which starts Xvfb\n");
      g_printerr ("SKIP: test-window needs a display\n");
      return 0;
    }
  g_assert_true (tke_secmem_init (NULL));

  shared_app = tke_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (shared_app), NULL, NULL));

  g_test_add ("/window/tabs", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up, test_window_tabs,
              fixture_tear_down);
  g_test_add ("/window/shortcuts", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_window_shortcuts, fixture_tear_down);
  g_test_add ("/window/menu-windows", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_window_menu_windows, fixture_tear_down);
  g_test_add ("/window/preferences-readers", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_window_preferences_readers, fixture_tear_down);
  g_test_add ("/window/demo", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up, test_window_demo,
              fixture_tear_down);
  g_test_add ("/window/focus-and-toasts", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_window_focus_and_toasts, fixture_tear_down);
  g_test_add ("/window/selection-order", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_window_selection_order, fixture_tear_down);
  g_test_add ("/window/hostile-card", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up,
              test_window_hostile_card, fixture_tear_down);

  return g_test_run ();
}
