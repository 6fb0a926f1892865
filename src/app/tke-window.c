/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The main window: the five ceremony tabs, their operations as window actions handed to the
 * ceremony worker, the state of the readers and of the selected crypto units, and demo mode. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-accessible.h"
#include "tke-administrators-page.h"
#include "tke-ceremony-dialog.h"
#include "tke-ceremony-worker.h"
#include "tke-crypto-units-page.h"
#include "tke-demo-page.h"
#include "tke-demo-world.h"
#include "tke-error.h"
#include "tke-gui-prompter.h"
#include "tke-journal-window.h"
#include "tke-master-keys-page.h"
#include "tke-pcsc-reader.h"
#include "tke-repin-dialog.h"
#include "tke-smart-card-page.h"
#include "tke-thresholds-page.h"
#include "tke-window.h"
#include "tke-workspace.h"

struct _TkeWindow
{
  AdwApplicationWindow parent_instance;

  AdwViewStack *stack;
  AdwViewStackPage *demo_stack_page;
  AdwBin *demo_bin;
  AdwToastOverlay *toast_overlay;
  GListModel *toast_overlay_children;
  TkeSmartCardPage *smart_card_page;
  /* The other tabs are made when first shown: the first frame needs only the first tab. */
  AdwBin *crypto_units_bin;
  AdwBin *administrators_bin;
  AdwBin *thresholds_bin;
  AdwBin *master_keys_bin;
  TkeCryptoUnitsPage *crypto_units_page;
  TkeAdministratorsPage *administrators_page;
  TkeThresholdsPage *thresholds_page;
  TkeMasterKeysPage *master_keys_page;

  GSettings *settings;
  TkeDemoWorld *demo;
  TkeReaderManager *readers;
  TkeWorkspace *workspace;
  TkeGuiPrompter *prompter;
  TkeCeremonyWorker *worker;
  TkeCeremonyDialog *dialog;
  TkeCeremonyResult *last_result;
  GCancellable *cancellable;
  guint card_reads[2];
};

G_DEFINE_FINAL_TYPE (TkeWindow, tke_window, ADW_TYPE_APPLICATION_WINDOW)

/* Every ceremony operation is a window action named by tke_ceremony_op_to_string (). */
#define N_CEREMONY_OPS (TKE_CEREMONY_UNBLOCK_PIN + 1)

/* Page names in tab order; Alt+1 .. Alt+5 show them. */
static const char *const page_names[] = {
  "smart-card", "crypto-units", "administrators", "thresholds", "master-keys",
};

static const char *const op_titles[] = {
  [TKE_CEREMONY_INITIALIZE_CARD] = N_ ("Initialize Card"),
  [TKE_CEREMONY_GENERATE_SIGNATURE_KEY] = N_ ("Generate Signature Key"),
  [TKE_CEREMONY_GENERATE_KEY_PART] = N_ ("Generate Key Part"),
  [TKE_CEREMONY_COPY_SMART_CARD] = N_ ("Copy Smart Card"),
  [TKE_CEREMONY_COPY_SIGNATURE_KEY_FILE] = N_ ("Copy Signature Key File"),
  [TKE_CEREMONY_COPY_KEY_PART_FILE] = N_ ("Copy Key Part File"),
  [TKE_CEREMONY_ADD_ADMINISTRATOR] = N_ ("Add Administrator"),
  [TKE_CEREMONY_REMOVE_ADMINISTRATOR] = N_ ("Remove Administrator"),
  [TKE_CEREMONY_CHANGE_THRESHOLDS] = N_ ("Change Signature Thresholds"),
  [TKE_CEREMONY_LOAD] = N_ ("Load New Master Key"),
  [TKE_CEREMONY_COMMIT] = N_ ("Commit New Master Key"),
  [TKE_CEREMONY_SET_IMMEDIATE] = N_ ("Set Immediate"),
  [TKE_CEREMONY_ROTATE] = N_ ("Rotate Master Key"),
  [TKE_CEREMONY_CLEAR_NEW] = N_ ("Clear New Master Key"),
  [TKE_CEREMONY_CLEAR_CURRENT] = N_ ("Clear Current Master Key"),
  [TKE_CEREMONY_ZEROIZE] = N_ ("Zeroize"),
  [TKE_CEREMONY_CHANGE_PIN] = N_ ("Change PIN"),
  [TKE_CEREMONY_UNBLOCK_PIN] = N_ ("Unblock PIN"),
};

static void tke_window_refresh_readers (TkeWindow *self);

/* Toasts and pages -------------------------------------------------------------------------- */

void
tke_window_toast (TkeWindow *self, const char *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
workspace_changed (TkeWorkspace *workspace, TkeWindow *self)
{
  if (self->crypto_units_page != NULL)
    tke_crypto_units_page_update (self->crypto_units_page, workspace);
  if (self->administrators_page != NULL)
    tke_administrators_page_update (self->administrators_page, workspace);
  if (self->thresholds_page != NULL)
    tke_thresholds_page_update (self->thresholds_page, workspace);
  if (self->master_keys_page != NULL)
    tke_master_keys_page_update (self->master_keys_page, workspace);
}

/* Makes the tab shown now if it was not made yet, and fills it. */
static void
ensure_visible_page (TkeWindow *self)
{
  const char *name = adw_view_stack_get_visible_child_name (self->stack);

  if (g_strcmp0 (name, "crypto-units") == 0 && self->crypto_units_page == NULL)
    {
      self->crypto_units_page = g_object_new (TKE_TYPE_CRYPTO_UNITS_PAGE, NULL);
      adw_bin_set_child (self->crypto_units_bin, GTK_WIDGET (self->crypto_units_page));
    }
  else if (g_strcmp0 (name, "administrators") == 0 && self->administrators_page == NULL)
    {
      self->administrators_page = g_object_new (TKE_TYPE_ADMINISTRATORS_PAGE, NULL);
      adw_bin_set_child (self->administrators_bin, GTK_WIDGET (self->administrators_page));
    }
  else if (g_strcmp0 (name, "thresholds") == 0 && self->thresholds_page == NULL)
    {
      self->thresholds_page = g_object_new (TKE_TYPE_THRESHOLDS_PAGE, NULL);
      adw_bin_set_child (self->thresholds_bin, GTK_WIDGET (self->thresholds_page));
    }
  else if (g_strcmp0 (name, "master-keys") == 0 && self->master_keys_page == NULL)
    {
      self->master_keys_page = g_object_new (TKE_TYPE_MASTER_KEYS_PAGE, NULL);
      adw_bin_set_child (self->master_keys_bin, GTK_WIDGET (self->master_keys_page));
    }
  else
    return;
  tke_accessible_name_buttons (GTK_WIDGET (self));
  if (self->workspace != NULL)
    workspace_changed (self->workspace, self);
}

static void
workspace_refresh_failed (TkeWorkspace *workspace, const char *message, TkeWindow *self)
{
  tke_window_toast (self, message);
}

static void
tke_window_show_page_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  const char *name = g_variant_get_string (parameter, NULL);

  if (g_str_equal (name, "demo") && self->demo == NULL)
    return; /* Alt+6 outside demo mode: there is no Demo tab */
  if (adw_view_stack_get_child_by_name (self->stack, name) == NULL)
    {
      g_warning ("No tab is named “%s”", name);
      return;
    }
  adw_view_stack_set_visible_child_name (self->stack, name);
  /* After Alt+N the focus (and its ring) would stay on the tab that was left: it goes into the
   * page that is shown, so that Tab moves among its rows and buttons. */
  {
    GtkWidget *page = adw_view_stack_get_visible_child (self->stack);
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

    if (focus == NULL || !gtk_widget_is_ancestor (focus, page))
      gtk_widget_child_focus (page, GTK_DIR_TAB_FORWARD);
  }
}

/* A toast never takes part in keyboard navigation: a counted Shift+Tab must reach the page's
 * buttons, not a toast's close button that came and goes. (Its close button still takes a
 * click; the CSS keeps toasts above the row of buttons.) */
static void
toast_overlay_children_changed (GListModel *children, guint position, guint removed, guint added,
                                gpointer user_data)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr (GtkWidget) child = g_list_model_get_item (children, i);

      if (g_str_equal (G_OBJECT_TYPE_NAME (child), "AdwToastWidget"))
        gtk_widget_set_can_focus (child, FALSE);
    }
}

/* Readers ----------------------------------------------------------------------------------- */

/* The reader of role 1 or 2 as the ceremony engine and tkectl pick it. */
static char *
reader_name_for (TkeWindow *self, guint role, GPtrArray *readers)
{
  g_autofree char *configured =
      g_settings_get_string (self->settings, role == 1 ? "reader-1" : "reader-2");
  const TkeReaderStatus *chosen;

  if (self->demo != NULL)
    return g_strdup (tke_demo_world_get_reader_name (self->demo, role));
  chosen = tke_reader_status_for_role (readers, role, configured);
  return chosen != NULL ? g_strdup (chosen->name) : NULL;
}

typedef struct
{
  TkeWindow *self;
  guint role;
  guint generation;
  char *reader;
} CardRead;

static void
card_read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CardRead *read = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardInfo) info =
      tke_ceremony_worker_read_card_finish (TKE_CEREMONY_WORKER (source), result, &error);

  /* Only the latest read of a reader counts; the window may be gone. */
  if (read->generation == read->self->card_reads[read->role - 1] &&
      read->self->smart_card_page != NULL)
    {
      gboolean empty =
          error != NULL && (g_error_matches (error, TKE_ERROR, TKE_ERROR_NO_CARD) ||
                            g_error_matches (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED));

      tke_smart_card_page_set_reader (read->self->smart_card_page, read->role, read->reader, info,
                                      empty ? NULL : error);
    }
  g_object_unref (read->self);
  g_free (read->reader);
  g_free (read);
}

/* Reads the cards again: on insertion and removal, and after each ceremony. The reads are jobs of
 * the worker, so that the main loop never waits on a card. */
static void
tke_window_refresh_readers (TkeWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) readers = tke_reader_manager_list (self->readers, &error);

  if (readers == NULL)
    {
      tke_smart_card_page_set_reader (self->smart_card_page, 1, NULL, NULL, error);
      tke_smart_card_page_set_reader (self->smart_card_page, 2, NULL, NULL, error);
      return;
    }

  for (guint role = 1; role <= 2; role++)
    {
      g_autofree char *name = reader_name_for (self, role, readers);
      gboolean present = FALSE;
      CardRead *read;

      for (guint i = 0; name != NULL && i < readers->len; i++)
        if (g_str_equal (((TkeReaderStatus *) readers->pdata[i])->name, name))
          present = ((TkeReaderStatus *) readers->pdata[i])->card_present;

      self->card_reads[role - 1]++;
      if (name == NULL || !present)
        {
          tke_smart_card_page_set_reader (self->smart_card_page, role, name, NULL, NULL);
          continue;
        }
      read = g_new0 (CardRead, 1);
      read->self = g_object_ref (self);
      read->role = role;
      read->generation = self->card_reads[role - 1];
      read->reader = g_strdup (name);
      tke_ceremony_worker_read_card_async (self->worker, name, self->cancellable, card_read_done,
                                           read);
    }
}

static void
reader_event (TkeReaderManager *readers, const char *reader, TkeWindow *self)
{
  /* While a ceremony runs, its dialog says what the readers do; the tab catches up after. */
  if (!tke_ceremony_worker_get_busy (self->worker))
    tke_window_refresh_readers (self);
}

/* Ceremonies -------------------------------------------------------------------------------- */

static void update_actions (TkeWindow *self);

static void
ceremony_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TkeWindow) self = data;
  g_autoptr (GError) error = NULL;
  TkeCeremonyResult *outcome =
      tke_ceremony_worker_run_finish (TKE_CEREMONY_WORKER (source), result, &error);

  g_clear_pointer (&self->last_result, tke_ceremony_result_free);
  self->last_result = outcome;
  if (self->dialog != NULL)
    {
      if (outcome != NULL)
        tke_ceremony_dialog_show_result (self->dialog, outcome);
      else
        tke_ceremony_dialog_show_error (self->dialog, error);
    }
  else if (error != NULL)
    tke_window_toast (self, tke_error_describe (error));

  tke_workspace_refresh (self->workspace);
  tke_window_refresh_readers (self);
  /* The demo panel shows what the cards hold; a ceremony may have written them. */
  if (self->demo != NULL)
    tke_demo_world_refresh (self->demo);
  update_actions (self);
}

static GPtrArray *
selected_units_for (TkeWindow *self, TkeCeremonyOp op)
{
  if (!tke_ceremony_op_uses_units (op))
    return NULL;
  return tke_workspace_dup_selected (self->workspace);
}

static void
reader_names (TkeWindow *self, char **reader1, char **reader2)
{
  if (self->demo != NULL)
    {
      *reader1 = g_strdup (tke_demo_world_get_reader_name (self->demo, TKE_DEMO_LOCATION_READER_1));
      *reader2 = g_strdup (tke_demo_world_get_reader_name (self->demo, TKE_DEMO_LOCATION_READER_2));
      return;
    }
  *reader1 = g_settings_get_string (self->settings, "reader-1");
  *reader2 = g_settings_get_string (self->settings, "reader-2");
}

static void
dialog_retry (TkeCeremonyDialog *dialog, TkeWindow *self)
{
  g_autoptr (GPtrArray) units = NULL;
  g_autofree char *reader1 = NULL, *reader2 = NULL;

  if (self->last_result == NULL)
    return;
  units = tke_workspace_dup_selected (self->workspace);
  reader_names (self, &reader1, &reader2);
  tke_ceremony_worker_retry_async (self->worker, self->last_result, units, reader1, reader2,
                                   tke_ceremony_dialog_get_cancellable (dialog), ceremony_done,
                                   g_object_ref (self));
  update_actions (self);
}

static void
dialog_destroyed (GtkWidget *dialog, TkeWindow *self)
{
  if ((gpointer) self->dialog == (gpointer) dialog)
    self->dialog = NULL;
}

static char *
units_subtitle (GPtrArray *units)
{
  g_autoptr (GString) nums = g_string_new (NULL);

  if (units == NULL)
    return g_strdup (_ ("Smart cards"));
  for (guint i = 0; i < units->len; i++)
    g_string_append_printf (nums, "%s%u", i ? ", " : "",
                            ((TkeCeremonyUnit *) units->pdata[i])->num);
  /* TRANSLATORS: %s is a list of crypto unit numbers, as "1, 2, 3". */
  return g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "Crypto unit %s", "Crypto units %s", units->len), nums->str);
}

static void
ceremony_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  TkeCeremonyOp op;
  g_autoptr (GPtrArray) units = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *reader1 = NULL, *reader2 = NULL;

  if (!tke_ceremony_op_from_string (g_action_get_name (G_ACTION (action)), &op))
    g_return_if_reached ();
  if (tke_ceremony_worker_get_busy (self->worker))
    return;

  units = selected_units_for (self, op);
  if (units != NULL && units->len == 0)
    {
      tke_window_toast (self, _ ("Select crypto units on the Crypto units tab first."));
      return;
    }

  subtitle = units_subtitle (units);
  if (self->dialog == NULL)
    {
      self->dialog = tke_ceremony_dialog_new (GTK_WINDOW (self), self->prompter);
      g_signal_connect_object (self->dialog, "retry", G_CALLBACK (dialog_retry), self, 0);
      g_signal_connect_object (self->dialog, "destroy", G_CALLBACK (dialog_destroyed), self, 0);
      if (self->demo != NULL)
        tke_ceremony_dialog_set_demo_world (self->dialog, self->demo);
    }
  tke_ceremony_dialog_start (self->dialog, _ (op_titles[op]), subtitle);
  gtk_window_present (GTK_WINDOW (self->dialog));

  reader_names (self, &reader1, &reader2);
  tke_ceremony_worker_run_async (self->worker, op, NULL, units, reader1, reader2,
                                 tke_ceremony_dialog_get_cancellable (self->dialog), ceremony_done,
                                 g_object_ref (self));
  update_actions (self);
}

/* Crypto unit selection and services --------------------------------------------------------- */

typedef struct
{
  TkeWindow *self;
  gboolean select;
  GtkEditable *entry;
} NumsDialog;

static void
nums_response (AdwMessageDialog *dialog, const char *response, NumsDialog *data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) nums = NULL;

  /* As in service_response: the focus leaves the entry before the dialog closes. */
  gtk_window_set_focus (GTK_WINDOW (dialog), NULL);
  if (g_str_equal (response, "apply") &&
      (!tke_parse_unit_nums (gtk_editable_get_text (data->entry), &nums, &error) ||
       !tke_workspace_select_nums (data->self->workspace, (guint *) nums->data, nums->len,
                                   data->select, &error)))
    tke_window_toast (data->self, tke_error_describe (error));
  g_object_unref (data->self);
  g_free (data);
}

/* A question answered in one entry: Return gives the suggested response. */
GtkWidget *
tke_window_entry_dialog_new (TkeWindow *self, const char *title, const char *body, GtkWidget *entry,
                             const char *entry_label, const char *response,
                             const char *response_label)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), title, body);

  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  entry_label, -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), response,
                                    response_label, NULL);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), response);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), response,
                                              ADW_RESPONSE_SUGGESTED);
  return dialog;
}

static void
units_by_number_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  gboolean select = g_str_equal (g_action_get_name (G_ACTION (action)), "add-crypto-units");
  NumsDialog *data = g_new0 (NumsDialog, 1);
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *dialog = tke_window_entry_dialog_new (
      self, select ? _ ("Add Crypto Units") : _ ("Remove Crypto Units"),
      select ? _ ("The CRYPTO UNIT NUMs of the units to add to the selection, separated by spaces.")
             : _ ("The CRYPTO UNIT NUMs of the units to remove from the selection, separated by "
                  "spaces."),
      entry, _ ("Crypto unit numbers"), "apply", select ? _ ("_Add") : _ ("_Remove"));

  data->self = g_object_ref (self);
  data->select = select;
  data->entry = GTK_EDITABLE (entry);
  g_signal_connect (dialog, "response", G_CALLBACK (nums_response), data);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct
{
  TkeWindow *self;
  AdwEntryRow *url, *fingerprint;
  AdwPasswordEntryRow *api_key;
} ServiceDialog;

/* A refusal the operator must read whole (fingerprints, thumbprints): a dialog, not a toast
 * that ellipsizes it. */
void
tke_window_show_refusal (TkeWindow *self, const char *title, const GError *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), title, error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
service_added (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TkeWindow) self = data;
  g_autoptr (GError) error = NULL;

  if (!tke_workspace_add_service_finish (TKE_WORKSPACE (source), result, &error))
    tke_window_show_refusal (self, _ ("The Service Was Not Connected"), error);
  else
    tke_window_toast (
        self, _ ("The crypto unit service is connected; its units are on the Crypto units tab."));
}

/* A service added with no fingerprint: its certificate is shown for the operator to compare
 * before anything, the API key included, is sent to it. */
typedef struct
{
  TkeWindow *self;
  char *url;
  char *fingerprint;
  char *api_key; /* wiped when freed */
} ServiceProbe;

static void
service_probe_free (ServiceProbe *probe)
{
  g_object_unref (probe->self);
  g_free (probe->url);
  g_free (probe->fingerprint);
  tke_wipe_string_free (probe->api_key);
  g_free (probe);
}

static void
trust_response (AdwMessageDialog *dialog, const char *response, ServiceProbe *probe)
{
  if (g_str_equal (response, "trust"))
    tke_workspace_add_service_async (probe->self->workspace, probe->url, probe->fingerprint,
                                     probe->api_key, TRUE, probe->self->cancellable, service_added,
                                     g_object_ref (probe->self));
  service_probe_free (probe);
}

static void
service_probed (GObject *source, GAsyncResult *result, gpointer data)
{
  ServiceProbe *probe = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  probe->fingerprint = tke_unit_client_probe_finish (result, &error);
  if (probe->fingerprint == NULL)
    {
      tke_window_toast (probe->self, tke_error_describe (error));
      service_probe_free (probe);
      return;
    }
  body = g_strdup_printf (_ ("%s presents a certificate with SHA-256 fingerprint\n%s\n\nCompare "
                             "it with the one the service's operator gave you. Open TKE trusts "
                             "only this certificate for the service from now on; nothing, not "
                             "even the API key, has been sent to it yet."),
                          probe->url, probe->fingerprint);
  dialog = adw_message_dialog_new (GTK_WINDOW (probe->self), _ ("Trust This Service?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), "trust",
                                    _ ("_Trust and Connect"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "trust",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (trust_response), probe);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
service_response (AdwMessageDialog *dialog, const char *response, ServiceDialog *data)
{
  g_autofree char *fingerprint = NULL;

  /* A response by mnemonic (Alt+O) comes while the focus is still in an entry row, and the
   * dialog closes right after: libadwaita 1.2's entry row then handles a focus change on itself
   * while it is being finalized and crashes. Taking the focus out first avoids that. */
  gtk_window_set_focus (GTK_WINDOW (dialog), NULL);
  fingerprint = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (data->fingerprint))));
  if (g_str_equal (response, "connect") && *fingerprint == '\0')
    {
      ServiceProbe *probe = g_new0 (ServiceProbe, 1);

      probe->self = g_object_ref (data->self);
      probe->url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (data->url))));
      probe->api_key = g_strdup (gtk_editable_get_text (GTK_EDITABLE (data->api_key)));
      tke_unit_client_probe_async (probe->url, data->self->cancellable, service_probed, probe);
    }
  else if (g_str_equal (response, "connect"))
    tke_workspace_add_service_async (
        data->self->workspace, gtk_editable_get_text (GTK_EDITABLE (data->url)), fingerprint,
        gtk_editable_get_text (GTK_EDITABLE (data->api_key)), TRUE, data->self->cancellable,
        service_added, g_object_ref (data->self));
  /* The API key does not stay in the entry's buffer. */
  gtk_editable_set_text (GTK_EDITABLE (data->api_key), "");
  g_object_unref (data->self);
  g_free (data);
}

static void
connect_service_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  ServiceDialog *data = g_new0 (ServiceDialog, 1);
  GtkWidget *dialog, *list;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Connect a Crypto Unit Service"),
                                   _ ("The service printed its address, the SHA-256 fingerprint of "
                                      "its certificate and its API key when it first started. The "
                                      "connection is refused unless the certificate has exactly "
                                      "this fingerprint. Leave the fingerprint empty to be shown "
                                      "the certificate's fingerprint first, before anything is "
                                      "sent to the service."));
  list = gtk_list_box_new ();
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  data->url = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (data->url),
                                 _ ("Address (https://host:port)"));
  data->fingerprint = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (data->fingerprint),
                                 _ ("Certificate SHA-256 fingerprint"));
  data->api_key = ADW_PASSWORD_ENTRY_ROW (adw_password_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (data->api_key), _ ("API key"));
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (data->url));
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (data->fingerprint));
  gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (data->api_key));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), "connect",
                                    _ ("C_onnect"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "connect",
                                              ADW_RESPONSE_SUGGESTED);
  data->self = g_object_ref (self);
  g_signal_connect (dialog, "response", G_CALLBACK (service_response), data);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
repin_unit_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  tke_repin_dialog_present (TKE_WINDOW (user_data));
}

static void
show_journal_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  TkeJournal *journal = tke_workspace_get_journal (self->workspace);

  gtk_window_present (
      GTK_WINDOW (tke_journal_window_new (GTK_WINDOW (self), tke_journal_get_path (journal))));
}

static const GActionEntry win_actions[] = {
  { "show-page", tke_window_show_page_action, "s" },
  { "add-crypto-units", units_by_number_action },
  { "remove-crypto-units", units_by_number_action },
  { "connect-service", connect_service_action },
  { "repin-unit", repin_unit_action },
  { "show-journal", show_journal_action },
};

static void
update_actions (TkeWindow *self)
{
  gboolean idle = !tke_ceremony_worker_get_busy (self->worker);

  for (guint op = 0; op < N_CEREMONY_OPS; op++)
    {
      GAction *action =
          g_action_map_lookup_action (G_ACTION_MAP (self), tke_ceremony_op_to_string (op));

      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), idle);
    }
}

static void
tke_window_add_actions (TkeWindow *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions),
                                   self);

  for (guint op = 0; op < N_CEREMONY_OPS; op++)
    {
      g_autoptr (GSimpleAction) action = g_simple_action_new (tke_ceremony_op_to_string (op), NULL);

      g_signal_connect (action, "activate", G_CALLBACK (ceremony_action), self);
      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
    }
}

/* Setting up -------------------------------------------------------------------------------- */

static gboolean
tke_window_close_request (GtkWindow *window)
{
  TkeWindow *self = TKE_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  /* A question left open would keep the worker waiting: cancel before the worker stops. */
  if (self->dialog != NULL)
    g_cancellable_cancel (tke_ceremony_dialog_get_cancellable (self->dialog));

  return GTK_WINDOW_CLASS (tke_window_parent_class)->close_request (window);
}

static gboolean
tke_window_start_watching (gpointer data)
{
  TkeWindow *self = data;

  if (g_cancellable_is_cancelled (self->cancellable))
    return G_SOURCE_REMOVE;
  tke_reader_manager_watch (self->readers, self->cancellable);
  tke_window_refresh_readers (self);
  if (self->demo == NULL)
    tke_workspace_refresh (self->workspace);
  return G_SOURCE_REMOVE;
}

static void
demo_service_added (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TkeWindow) self = data;
  g_autoptr (GError) error = NULL;

  if (!tke_workspace_add_service_finish (TKE_WORKSPACE (source), result, &error))
    tke_window_toast (self, tke_error_describe (error));
}

/* GtkWindow sets its application after construction, so this runs from tke_window_new(). */
static gboolean
tke_window_setup (TkeWindow *self, TkeApplication *app, GError **error)
{
  g_autofree char *workspace_dir = NULL;
  TkeJournal *journal;

  self->settings = g_object_ref (tke_application_get_settings (app));
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  if (tke_application_get_demo (app))
    {
      self->demo = tke_demo_world_new (error);
      if (self->demo == NULL)
        return FALSE;
      self->readers = g_object_ref (tke_demo_world_get_reader_manager (self->demo));
      workspace_dir = g_strdup (tke_demo_world_get_workspace_dir (self->demo));
      /* The demo forgets its selection with its world. */
      self->workspace = tke_workspace_new (workspace_dir, NULL, error);
    }
  else
    {
      self->readers = tke_pcsc_reader_manager_new ();
      workspace_dir = g_build_filename (g_get_user_data_dir (), "opentke", "workspace", NULL);
      self->workspace = tke_workspace_new (workspace_dir, self->settings, error);
    }
  if (self->workspace == NULL)
    return FALSE;

  journal = tke_workspace_get_journal (self->workspace);
  self->prompter = tke_gui_prompter_new ();
  self->worker = tke_ceremony_worker_new (self->readers, TKE_PROMPTER (self->prompter), journal);
  g_signal_connect_object (self->workspace, "changed", G_CALLBACK (workspace_changed), self, 0);
  g_signal_connect_object (self->workspace, "refresh-failed", G_CALLBACK (workspace_refresh_failed),
                           self, 0);
  for (guint i = 0; i < 4; i++)
    {
      static const char *const events[] = { "reader-added", "reader-removed", "card-inserted",
                                            "card-removed" };

      g_signal_connect_object (self->readers, events[i], G_CALLBACK (reader_event), self, 0);
    }
  g_signal_connect_object (self->settings, "changed::reader-1",
                           G_CALLBACK (tke_window_refresh_readers), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::reader-2",
                           G_CALLBACK (tke_window_refresh_readers), self, G_CONNECT_SWAPPED);

  tke_window_add_actions (self);
  update_actions (self);

  if (self->demo != NULL)
    {
      adw_bin_set_child (self->demo_bin, tke_demo_page_new (self->demo));
      adw_view_stack_page_set_visible (self->demo_stack_page, TRUE);
      adw_view_stack_set_visible_child_name (self->stack, "demo");
      gtk_window_set_title (GTK_WINDOW (self), _ ("Open TKE (demo)"));
      tke_workspace_add_service_async (self->workspace, tke_demo_world_get_service_url (self->demo),
                                       tke_demo_world_get_service_fingerprint (self->demo),
                                       tke_demo_world_get_service_api_key (self->demo), FALSE,
                                       self->cancellable, demo_service_added, g_object_ref (self));
    }
  else
    adw_view_stack_set_visible_child_name (self->stack, page_names[0]);
  workspace_changed (self->workspace, self);

  /* Readers and services are looked at once the window is on screen: the tabs say "Looking for
   * the reader…" until then, and the first frame waits for neither. */
  g_idle_add_full (G_PRIORITY_LOW, tke_window_start_watching, g_object_ref (self), g_object_unref);
  return TRUE;
}

static void
tke_window_dispose (GObject *object)
{
  TkeWindow *self = TKE_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->toast_overlay_children != NULL)
    g_signal_handlers_disconnect_by_func (self->toast_overlay_children,
                                          toast_overlay_children_changed, NULL);
  g_clear_object (&self->toast_overlay_children);
  if (self->dialog != NULL)
    g_cancellable_cancel (tke_ceremony_dialog_get_cancellable (self->dialog));
  /* The worker finishes its job (a cancelled one ends at once) before the readers go. */
  g_clear_object (&self->worker);
  if (self->dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->dialog));
  if (self->readers != NULL)
    tke_reader_manager_stop_watching (self->readers);
  g_clear_object (&self->readers);
  g_clear_object (&self->prompter);
  g_clear_object (&self->workspace);
  g_clear_object (&self->demo);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->last_result, tke_ceremony_result_free);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), TKE_TYPE_WINDOW);
  self->smart_card_page = NULL;
  self->crypto_units_page = NULL;
  self->administrators_page = NULL;
  self->thresholds_page = NULL;
  self->master_keys_page = NULL;

  G_OBJECT_CLASS (tke_window_parent_class)->dispose (object);
}

static void
tke_window_class_init (TkeWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tke_window_dispose;
  window_class->close_request = tke_window_close_request;

  g_type_ensure (TKE_TYPE_SMART_CARD_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, demo_stack_page);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, demo_bin);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, smart_card_page);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, crypto_units_bin);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, administrators_bin);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, thresholds_bin);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, master_keys_bin);
}

static void
tke_window_init (TkeWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->toast_overlay_children = gtk_widget_observe_children (GTK_WIDGET (self->toast_overlay));
  g_signal_connect (self->toast_overlay_children, "items-changed",
                    G_CALLBACK (toast_overlay_children_changed), NULL);
  g_signal_connect_swapped (self->stack, "notify::visible-child-name",
                            G_CALLBACK (ensure_visible_page), self);
  self->cancellable = g_cancellable_new ();
  tke_accessible_name_buttons (GTK_WIDGET (self));
}

TkeWindow *
tke_window_new (TkeApplication *app, GError **error)
{
  TkeWindow *self;

  g_return_val_if_fail (TKE_IS_APPLICATION (app), NULL);

  /* GTK owns toplevel windows: destroying it is how it goes. */
  self = g_object_new (TKE_TYPE_WINDOW, "application", app, NULL);
  if (!tke_window_setup (self, app, error))
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return NULL;
    }
  return self;
}

TkeWorkspace *
tke_window_get_workspace (TkeWindow *self)
{
  g_return_val_if_fail (TKE_IS_WINDOW (self), NULL);
  return self->workspace;
}

TkeCeremonyWorker *
tke_window_get_worker (TkeWindow *self)
{
  g_return_val_if_fail (TKE_IS_WINDOW (self), NULL);
  return self->worker;
}

TkeGuiPrompter *
tke_window_get_prompter (TkeWindow *self)
{
  g_return_val_if_fail (TKE_IS_WINDOW (self), NULL);
  return self->prompter;
}

TkeCeremonyDialog *
tke_window_get_ceremony_dialog (TkeWindow *self)
{
  g_return_val_if_fail (TKE_IS_WINDOW (self), NULL);
  return self->dialog;
}

TkeDemoWorld *
tke_window_get_demo_world (TkeWindow *self)
{
  g_return_val_if_fail (TKE_IS_WINDOW (self), NULL);
  return self->demo;
}

void
tke_window_install_accels (GtkApplication *app)
{
  for (guint i = 0; i < G_N_ELEMENTS (page_names); i++)
    {
      g_autofree char *detailed = g_strdup_printf ("win.show-page('%s')", page_names[i]);
      g_autofree char *accel = g_strdup_printf ("<Alt>%u", i + 1);
      const char *accels[] = { accel, NULL };

      gtk_application_set_accels_for_action (app, detailed, accels);
    }
  /* The Demo tab comes first on screen but last in the keys, so that Alt+1..5 are the same tabs
   * in demo mode and in normal mode. */
  gtk_application_set_accels_for_action (app, "win.show-page('demo')",
                                         (const char *[]){ "<Alt>6", NULL });
  gtk_application_set_accels_for_action (app, "win.show-journal",
                                         (const char *[]){ "<Control>j", NULL });
}
