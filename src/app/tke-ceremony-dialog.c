/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The progress dialog of a ceremony: the steps with the current one marked, the question of the
 * moment (a card to insert, a PIN or the PIN pad, a choice, a text, a number, a confirmation),
 * and at the end the result of each crypto unit, with Retry Failed Units and Close. Cancel
 * cancels the operation at any question or between steps. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-accessible.h"
#include "tke-ceremony-dialog.h"
#include "tke-demo-card-picker.h"
#include "tke-error.h"

struct _TkeCeremonyDialog
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  GtkListBox *steps_list;
  GtkStack *pages;
  GtkSpinner *spinner;
  GtkLabel *working_label;
  AdwStatusPage *card_page;
  AdwStatusPage *pin_pad_page;
  GtkLabel *question_title;
  GtkLabel *question_message;
  GtkLabel *question_detail;
  GtkPasswordEntry *pin_entry;
  GtkPasswordEntry *pin_repeat_entry;
  GtkEntry *text_entry;
  GtkSpinButton *number_spin;
  GtkAdjustment *number_adjustment;
  GtkListBox *choices_list;
  GtkLabel *question_error;
  GtkLabel *result_title;
  GtkLabel *result_summary;
  GtkListBox *outcomes_list;
  GtkLabel *differences_label;
  GtkButton *cancel_button;
  GtkButton *continue_button;
  GtkButton *close_button;
  GtkButton *retry_button;

  TkeDemoCardPicker *picker; /* demo mode only: the wallet where a card is asked for */
  TkeGuiPrompter *prompter;
  GCancellable *cancellable;
  TkePrompt *prompt;
  GPtrArray *step_names;
  guint current_step;
  guint n_pins; /* PINs answered in this operation */
  gboolean finished;
  gboolean stopped; /* finished by a cancel or an error: the current step is not done */
};

G_DEFINE_FINAL_TYPE (TkeCeremonyDialog, tke_ceremony_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_RETRY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A PIN stays in the entries only while its question is on screen: they are emptied when it is
 * answered, cancelled, replaced by another page, hidden or closed. */
static void
clear_secret_entries (TkeCeremonyDialog *self)
{
  if (self->pin_entry != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->pin_entry), "");
  if (self->pin_repeat_entry != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->pin_repeat_entry), "");
}

static void
show_page (TkeCeremonyDialog *self, const char *name)
{
  gboolean question = g_str_equal (name, "question");

  if (!question)
    clear_secret_entries (self);
  gtk_stack_set_visible_child_name (self->pages, name);
  gtk_widget_set_visible (GTK_WIDGET (self->continue_button), question);
  gtk_spinner_set_spinning (self->spinner, g_str_equal (name, "working"));
}

static void
update_steps (TkeCeremonyDialog *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->steps_list))) != NULL)
    gtk_list_box_remove (self->steps_list, child);

  for (guint i = 0; i < self->step_names->len; i++)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      GtkWidget *icon;
      GtkWidget *label = gtk_label_new (self->step_names->pdata[i]);
      gboolean current = i == self->current_step;
      gboolean done = i < self->current_step || (self->finished && !self->stopped && current);

      /* A cancelled or failed step is marked as stopped, never as done. */
      icon = gtk_image_new_from_icon_name (done                       ? "object-select-symbolic"
                                           : current && self->stopped ? "process-stop-symbolic"
                                           : current                  ? "go-next-symbolic"
                                                                      : NULL);
      gtk_widget_set_size_request (icon, 16, 16);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      if (i == self->current_step && !self->finished)
        gtk_widget_add_css_class (label, "heading");
      else if (!done)
        gtk_widget_add_css_class (label, "dim-label");
      gtk_box_append (GTK_BOX (box), icon);
      gtk_box_append (GTK_BOX (box), label);
      gtk_widget_set_margin_top (box, 6);
      gtk_widget_set_margin_bottom (box, 6);
      gtk_list_box_append (self->steps_list, box);
    }
}

static void
on_step (TkeGuiPrompter *prompter, guint index, guint n_steps, const char *description,
         TkeCeremonyDialog *self)
{
  /* An operation names its steps as it goes; the list keeps those seen and grows. */
  if (self->step_names->len != n_steps)
    {
      while (self->step_names->len < n_steps)
        g_ptr_array_add (self->step_names, g_strdup ("…"));
      g_ptr_array_set_size (self->step_names, n_steps);
    }
  g_free (self->step_names->pdata[index]);
  self->step_names->pdata[index] = g_strdup (description);
  self->current_step = index;
  update_steps (self);

  gtk_label_set_text (self->working_label, description);
  if (self->prompt == NULL)
    show_page (self, "working");
}

static void
on_card_wait (TkeGuiPrompter *prompter, int role, const char *reader, const char *wanted,
              TkeCeremonyDialog *self)
{
  g_autofree char *title = g_strdup_printf (_ ("Insert a Card into Reader %d"), role);
  g_autofree char *description =
      reader != NULL
          ? g_strdup_printf (_ ("%s\n\nReader %d is “%s”. The ceremony goes on by itself "
                                "once the card is in."),
                             wanted, role, reader)
          : g_strdup (wanted);

  adw_status_page_set_title (self->card_page, title);
  adw_status_page_set_description (self->card_page, description);
  show_page (self, "card");
  if (self->picker != NULL &&
      (role == TKE_DEMO_LOCATION_READER_1 || role == TKE_DEMO_LOCATION_READER_2))
    {
      tke_demo_card_picker_set_reader (self->picker, role);
      tke_demo_card_picker_focus (self->picker);
    }
}

static void
on_card_wait_end (TkeGuiPrompter *prompter, TkeCeremonyDialog *self)
{
  show_page (self, "working");
}

static void
on_pin_pad (TkeGuiPrompter *prompter, const char *reader, const char *card, const char *purpose,
            TkeCeremonyDialog *self)
{
  g_autofree char *description = g_strdup_printf (
      _ ("%s\n\nType the PIN of %s on the PIN pad of “%s”."), purpose, card, reader);

  adw_status_page_set_description (self->pin_pad_page, description);
  show_page (self, "pin-pad");
}

static void
on_pin_pad_end (TkeGuiPrompter *prompter, TkeCeremonyDialog *self)
{
  show_page (self, "working");
}

static void
set_visible_only (TkeCeremonyDialog *self, GtkWidget *visible)
{
  GtkWidget *inputs[] = { GTK_WIDGET (self->pin_entry), GTK_WIDGET (self->pin_repeat_entry),
                          GTK_WIDGET (self->text_entry), GTK_WIDGET (self->number_spin),
                          GTK_WIDGET (self->choices_list) };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    gtk_widget_set_visible (inputs[i], inputs[i] == visible);
}

/* A screen reader says the question when its field takes the focus: the fields are named by
 * the question's title and described by its message. */
static void
name_fields (TkeCeremonyDialog *self, TkePrompt *prompt)
{
  GtkWidget *fields[] = { GTK_WIDGET (self->pin_entry), GTK_WIDGET (self->text_entry),
                          GTK_WIDGET (self->number_spin), GTK_WIDGET (self->choices_list) };
  const char *title = tke_prompt_get_title (prompt);
  const char *message = tke_prompt_get_message (prompt) ? tke_prompt_get_message (prompt) : "";
  /* TRANSLATORS: the name of the field where a new PIN or PUK is typed a second time; %s is
   * what the first field asks for, as "New PIN". */
  g_autofree char *repeated = g_strdup_printf (_ ("%s, once more"), title);

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    gtk_accessible_update_property (GTK_ACCESSIBLE (fields[i]), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    title, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->pin_repeat_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, repeated,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

static void
on_ask (TkeGuiPrompter *prompter, TkePrompt *prompt, TkeCeremonyDialog *self)
{
  GtkWidget *focus = NULL;

  g_set_object (&self->prompt, prompt);
  gtk_label_set_text (self->question_title, tke_prompt_get_title (prompt));
  name_fields (self, prompt);
  gtk_label_set_text (self->question_message,
                      tke_prompt_get_message (prompt) ? tke_prompt_get_message (prompt) : "");
  gtk_label_set_text (self->question_detail, "");
  gtk_label_set_text (self->question_error, "");
  gtk_widget_set_visible (GTK_WIDGET (self->question_error), FALSE);
  gtk_button_set_label (self->continue_button, _ ("C_ontinue"));
  gtk_widget_remove_css_class (GTK_WIDGET (self->continue_button), "destructive-action");
  gtk_widget_add_css_class (GTK_WIDGET (self->continue_button), "suggested-action");

  switch (tke_prompt_get_kind (prompt))
    {
      case TKE_PROMPT_PIN:
        {
          int tries = tke_prompt_get_tries_left (prompt);
          g_autofree char *detail = NULL;

          if (tries >= 0)
            detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s in “%s”: %d try left.",
                                                   "%s in “%s”: %d tries left.", tries),
                                      tke_prompt_get_card (prompt), tke_prompt_get_reader (prompt),
                                      tries);
          else
            detail = g_strdup_printf (_ ("%s in “%s”."), tke_prompt_get_card (prompt),
                                      tke_prompt_get_reader (prompt));
          gtk_label_set_text (self->question_detail, detail);
          gtk_editable_set_text (GTK_EDITABLE (self->pin_entry), "");
          gtk_editable_set_text (GTK_EDITABLE (self->pin_repeat_entry), "");
          set_visible_only (self, GTK_WIDGET (self->pin_entry));
          gtk_widget_set_visible (GTK_WIDGET (self->pin_repeat_entry),
                                  TKE_PIN_KIND_IS_NEW (tke_prompt_get_pin_kind (prompt)));
          focus = GTK_WIDGET (self->pin_entry);
          break;
        }

      case TKE_PROMPT_CHOOSE:
        {
          const char *const *choices = tke_prompt_get_choices (prompt);
          GtkWidget *child;

          while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->choices_list))) != NULL)
            gtk_list_box_remove (self->choices_list, child);
          for (guint i = 0; choices[i] != NULL; i++)
            {
              GtkWidget *row = adw_action_row_new ();

              adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), choices[i]);
              gtk_list_box_append (self->choices_list, row);
            }
          gtk_list_box_select_row (self->choices_list,
                                   gtk_list_box_get_row_at_index (self->choices_list, 0));
          set_visible_only (self, GTK_WIDGET (self->choices_list));
          focus = GTK_WIDGET (self->choices_list);
          break;
        }

      case TKE_PROMPT_TEXT:
        gtk_editable_set_text (GTK_EDITABLE (self->text_entry), "");
        set_visible_only (self, GTK_WIDGET (self->text_entry));
        focus = GTK_WIDGET (self->text_entry);
        break;

      case TKE_PROMPT_NUMBER:
        gtk_adjustment_configure (self->number_adjustment, tke_prompt_get_min (prompt),
                                  tke_prompt_get_min (prompt), tke_prompt_get_max (prompt), 1, 1,
                                  0);
        set_visible_only (self, GTK_WIDGET (self->number_spin));
        {
          g_autofree char *detail =
              g_strdup_printf (_ ("A number from %u to %u."), tke_prompt_get_min (prompt),
                               tke_prompt_get_max (prompt));
          gtk_label_set_text (self->question_detail, detail);
        }
        focus = GTK_WIDGET (self->number_spin);
        break;

      case TKE_PROMPT_CONFIRM:
        set_visible_only (self, NULL);
        gtk_button_set_label (self->continue_button, _ ("C_onfirm"));
        gtk_widget_remove_css_class (GTK_WIDGET (self->continue_button), "suggested-action");
        gtk_widget_add_css_class (GTK_WIDGET (self->continue_button), "destructive-action");
        /* Nothing to type: the button has the focus, so Enter or Space confirms. */
        focus = GTK_WIDGET (self->continue_button);
        break;

      default:
        g_assert_not_reached ();
    }

  show_page (self, "question");
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->continue_button));
  if (focus != NULL)
    gtk_widget_grab_focus (focus);
}

static void
show_question_error (TkeCeremonyDialog *self, const char *message)
{
  gtk_label_set_text (self->question_error, message);
  gtk_widget_set_visible (GTK_WIDGET (self->question_error), TRUE);
}

static void
on_continue (GtkButton *button, TkeCeremonyDialog *self)
{
  TkePrompt *prompt = self->prompt;

  if (prompt == NULL)
    return;

  switch (tke_prompt_get_kind (prompt))
    {
      case TKE_PROMPT_PIN:
        {
          const char *pin = gtk_editable_get_text (GTK_EDITABLE (self->pin_entry));

          if (*pin == '\0')
            {
              show_question_error (self, _ ("Enter the PIN."));
              return;
            }
          if (TKE_PIN_KIND_IS_NEW (tke_prompt_get_pin_kind (prompt)) &&
              g_strcmp0 (pin, gtk_editable_get_text (GTK_EDITABLE (self->pin_repeat_entry))) != 0)
            {
              show_question_error (self, _ ("The two entries differ: type the new PIN twice."));
              return;
            }
          tke_prompt_answer_pin (prompt, pin);
          self->n_pins++;
          /* The entries keep their text in GTK's secure buffer; clearing it frees that now. */
          gtk_editable_set_text (GTK_EDITABLE (self->pin_entry), "");
          gtk_editable_set_text (GTK_EDITABLE (self->pin_repeat_entry), "");
          break;
        }

      case TKE_PROMPT_CHOOSE:
        {
          GtkListBoxRow *row = gtk_list_box_get_selected_row (self->choices_list);

          if (row == NULL)
            {
              show_question_error (self, _ ("Choose one."));
              return;
            }
          tke_prompt_answer_choice (prompt, gtk_list_box_row_get_index (row));
          break;
        }

      case TKE_PROMPT_TEXT:
        {
          const char *text = gtk_editable_get_text (GTK_EDITABLE (self->text_entry));
          g_autoptr (GError) error = NULL;

          if (!tke_prompt_check_text (prompt, text, &error))
            {
              show_question_error (self, error->message);
              return;
            }
          tke_prompt_answer_text (prompt, text);
          break;
        }

      case TKE_PROMPT_NUMBER:
        /* A value typed and not yet taken by the spin button (no Enter, no Tab) counts. */
        gtk_spin_button_update (self->number_spin);
        tke_prompt_answer_number (prompt, gtk_spin_button_get_value_as_int (self->number_spin));
        break;

      case TKE_PROMPT_CONFIRM:
        tke_prompt_answer_confirm (prompt, TRUE);
        break;

      default:
        g_assert_not_reached ();
    }

  g_clear_object (&self->prompt);
  show_page (self, "working");
}

static void
on_cancel (GtkButton *button, TkeCeremonyDialog *self)
{
  clear_secret_entries (self);
  g_cancellable_cancel (self->cancellable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), FALSE);
  gtk_label_set_text (self->working_label, _ ("Cancelling…"));
  g_clear_object (&self->prompt);
  show_page (self, "working");
}

/* The dialog is hidden, not destroyed: the next operation shows it again without making a new
 * window (which costs the main loop a frame's worth of time each time). */
static void
on_close (GtkButton *button, TkeCeremonyDialog *self)
{
  clear_secret_entries (self);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

static void
on_retry (GtkButton *button, TkeCeremonyDialog *self)
{
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->finished = FALSE;
  self->stopped = FALSE;
  self->n_pins = 0;
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->close_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), TRUE);
  show_page (self, "working");
  g_signal_emit (self, signals[SIGNAL_RETRY], 0);
}

static void
on_cancel_confirmed (AdwMessageDialog *confirm, const char *response, TkeCeremonyDialog *self)
{
  if (g_str_equal (response, "cancel") && !self->finished)
    on_cancel (self->cancel_button, self);
}

/* Escape and the window's close: an operation that has had PINs (and so signatures) is only
 * cancelled once the operator says so, since they would have to be given again. */
static void
ask_to_cancel (TkeCeremonyDialog *self)
{
  GtkWidget *confirm;

  if (self->finished)
    {
      on_close (self->close_button, self);
      return;
    }
  if (self->n_pins == 0)
    {
      on_cancel (self->cancel_button, self);
      return;
    }
  confirm = adw_message_dialog_new (
      GTK_WINDOW (self), _ ("Cancel the Operation?"),
      _ ("Nothing has been sent to the crypto units yet. The PINs entered so far are forgotten: "
         "the signatures already given would have to be given again."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (confirm), "keep", _ ("_Keep Going"),
                                    "cancel", _ ("_Cancel the Operation"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (confirm), "cancel",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (confirm), "keep");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (confirm), "keep");
  g_signal_connect_object (confirm, "response", G_CALLBACK (on_cancel_confirmed), self, 0);
  gtk_window_present (GTK_WINDOW (confirm));
}

/* Enter in a field submits the page. A new PIN is typed twice: Enter in the first field goes on
 * to the second. The entries don't rely on activates-default: under GTK 4.8 it does nothing in a
 * GtkPasswordEntry, and in a GtkEntry on a page that follows a PIN page. */
static void
on_entry_activate (GtkWidget *entry, TkeCeremonyDialog *self)
{
  if (entry == GTK_WIDGET (self->pin_entry) &&
      gtk_widget_get_visible (GTK_WIDGET (self->pin_repeat_entry)))
    gtk_widget_grab_focus (GTK_WIDGET (self->pin_repeat_entry));
  else
    on_continue (self->continue_button, self);
}

static gboolean
focus_is_in (TkeCeremonyDialog *self, gpointer widget)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  return focus != NULL && gtk_widget_get_visible (widget) &&
         (focus == widget || gtk_widget_is_ancestor (focus, widget));
}

/* The keys of the dialog, before its widgets see them: Escape cancels (or closes), Enter submits
 * a number or a choice as it submits an entry, Tab from the last field goes to Continue, and on the demo's card page a card's number key puts it
 * into the reader. */
static gboolean
on_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, TkeCeremonyDialog *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->pages);
  gboolean question = g_str_equal (page, "question") && self->prompt != NULL;

  state &= gtk_accelerator_get_default_mod_mask ();
  if (keyval == GDK_KEY_Escape && state == 0)
    {
      ask_to_cancel (self);
      return TRUE;
    }
  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter) && state == 0 && question &&
      (focus_is_in (self, self->number_spin) || focus_is_in (self, self->choices_list)))
    {
      on_continue (self->continue_button, self);
      return TRUE;
    }
  if (keyval == GDK_KEY_Tab && state == 0 && question &&
      (focus_is_in (self, self->text_entry) || focus_is_in (self, self->number_spin) ||
       focus_is_in (self, self->pin_repeat_entry) ||
       (focus_is_in (self, self->pin_entry) &&
        !gtk_widget_get_visible (GTK_WIDGET (self->pin_repeat_entry)))))
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->continue_button));
      return TRUE;
    }
  if (self->picker != NULL && g_str_equal (page, "card") && state == 0)
    {
      guint32 c = gdk_keyval_to_unicode (keyval);

      if (c >= '1' && c <= '9')
        return tke_demo_card_picker_insert_nth (self->picker, c - '0');
    }
  return FALSE;
}

static gboolean
tke_ceremony_dialog_close_request (GtkWindow *window)
{
  /* Closing while the worker runs would leave a question without anyone to answer: cancel. */
  ask_to_cancel (TKE_CEREMONY_DIALOG (window));
  return TRUE;
}

static void
tke_ceremony_dialog_dispose (GObject *object)
{
  TkeCeremonyDialog *self = TKE_CEREMONY_DIALOG (object);

  if (self->prompter != NULL)
    g_signal_handlers_disconnect_by_data (self->prompter, self);
  g_clear_object (&self->prompter);
  g_clear_object (&self->prompt);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->step_names, g_ptr_array_unref);
  clear_secret_entries (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TKE_TYPE_CEREMONY_DIALOG);

  G_OBJECT_CLASS (tke_ceremony_dialog_parent_class)->dispose (object);
}

static void
tke_ceremony_dialog_class_init (TkeCeremonyDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tke_ceremony_dialog_dispose;
  window_class->close_request = tke_ceremony_dialog_close_request;

  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-ceremony-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, steps_list);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, pages);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, working_label);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, card_page);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, pin_pad_page);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, question_title);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, question_message);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, question_detail);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, pin_entry);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, pin_repeat_entry);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, text_entry);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, number_spin);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, number_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, choices_list);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, question_error);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, result_title);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, result_summary);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, outcomes_list);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, differences_label);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, continue_button);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, close_button);
  gtk_widget_class_bind_template_child (widget_class, TkeCeremonyDialog, retry_button);
}

static void
tke_ceremony_dialog_init (TkeCeremonyDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->step_names = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (self->continue_button, "clicked", G_CALLBACK (on_continue), self);
  g_signal_connect (self->pin_entry, "activate", G_CALLBACK (on_entry_activate), self);
  g_signal_connect (self->pin_repeat_entry, "activate", G_CALLBACK (on_entry_activate), self);
  g_signal_connect (self->text_entry, "activate", G_CALLBACK (on_entry_activate), self);
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (on_cancel), self);
  g_signal_connect (self->close_button, "clicked", G_CALLBACK (on_close), self);
  g_signal_connect (self->retry_button, "clicked", G_CALLBACK (on_retry), self);
  {
    GtkEventController *keys = gtk_event_controller_key_new ();

    gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
    g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
    gtk_widget_add_controller (GTK_WIDGET (self), keys);
  }
  gtk_widget_set_visible (GTK_WIDGET (self->close_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
  tke_accessible_name_buttons (GTK_WIDGET (self));
  show_page (self, "working");
}

TkeCeremonyDialog *
tke_ceremony_dialog_new (GtkWindow *parent, TkeGuiPrompter *prompter)
{
  TkeCeremonyDialog *self;

  g_return_val_if_fail (TKE_IS_GUI_PROMPTER (prompter), NULL);

  self = g_object_new (TKE_TYPE_CEREMONY_DIALOG, "transient-for", parent, "destroy-with-parent",
                       TRUE, NULL);
  self->prompter = g_object_ref (prompter);
  g_signal_connect (prompter, "step", G_CALLBACK (on_step), self);
  g_signal_connect (prompter, "card-wait", G_CALLBACK (on_card_wait), self);
  g_signal_connect (prompter, "card-wait-end", G_CALLBACK (on_card_wait_end), self);
  g_signal_connect (prompter, "pin-pad", G_CALLBACK (on_pin_pad), self);
  g_signal_connect (prompter, "pin-pad-end", G_CALLBACK (on_pin_pad_end), self);
  g_signal_connect (prompter, "ask", G_CALLBACK (on_ask), self);
  return self;
}

void
tke_ceremony_dialog_set_demo_world (TkeCeremonyDialog *self, TkeDemoWorld *world)
{
  g_return_if_fail (TKE_IS_CEREMONY_DIALOG (self));
  g_return_if_fail (TKE_IS_DEMO_WORLD (world));
  g_return_if_fail (self->picker == NULL);

  self->picker = TKE_DEMO_CARD_PICKER (tke_demo_card_picker_new (world));
  adw_status_page_set_child (self->card_page, GTK_WIDGET (self->picker));
  /* Room for the whole wallet under the question, without scrolling, in the longer words of
   * German and French too; the dialog still fits a 1024x768 screen. */
  gtk_widget_add_css_class (GTK_WIDGET (self->card_page), "compact");
  adw_status_page_set_icon_name (self->card_page, NULL);
  gtk_window_set_default_size (GTK_WINDOW (self), 760, 640);
}

void
tke_ceremony_dialog_start (TkeCeremonyDialog *self, const char *title, const char *subtitle)
{
  g_return_if_fail (TKE_IS_CEREMONY_DIALOG (self));
  g_return_if_fail (title != NULL);

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_object (&self->prompt);
  self->finished = FALSE;
  self->stopped = FALSE;
  self->n_pins = 0;
  self->current_step = 0;
  g_ptr_array_set_size (self->step_names, 0);
  update_steps (self);

  gtk_window_set_title (GTK_WINDOW (self), title);
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, subtitle ? subtitle : "");
  gtk_label_set_text (self->working_label, "");
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->close_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
  gtk_window_set_default_widget (GTK_WINDOW (self), NULL);
  show_page (self, "working");
}

GCancellable *
tke_ceremony_dialog_get_cancellable (TkeCeremonyDialog *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_DIALOG (self), NULL);
  return self->cancellable;
}

TkePrompt *
tke_ceremony_dialog_get_prompt (TkeCeremonyDialog *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_DIALOG (self), NULL);
  return self->prompt;
}

static void
finish (TkeCeremonyDialog *self, const char *title)
{
  self->finished = TRUE;
  g_clear_object (&self->prompt);
  update_steps (self);
  gtk_label_set_text (self->result_title, title);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->close_button), TRUE);
  show_page (self, "result");
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->close_button));
  gtk_widget_grab_focus (GTK_WIDGET (self->close_button));
}

void
tke_ceremony_dialog_show_result (TkeCeremonyDialog *self, const TkeCeremonyResult *result)
{
  GtkWidget *child;
  guint failed;

  g_return_if_fail (TKE_IS_CEREMONY_DIALOG (self));
  g_return_if_fail (result != NULL);

  failed = tke_ceremony_result_get_n_failed (result);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->outcomes_list))) != NULL)
    gtk_list_box_remove (self->outcomes_list, child);
  for (guint i = 0; i < result->outcomes->len; i++)
    {
      TkeUnitOutcome *outcome = result->outcomes->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *icon = gtk_image_new_from_icon_name (
          outcome->accepted ? "object-select-symbolic" : "dialog-warning-symbolic");
      g_autofree char *title = g_strdup_printf (_ ("Crypto unit %u"), outcome->num);
      g_autofree char *subtitle =
          outcome->accepted
              ? g_strdup (_ ("Accepted"))
              : g_strdup_printf ("%s: %s", outcome->code, outcome->message ? outcome->message : "");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      gtk_widget_add_css_class (icon, outcome->accepted ? "success" : "error");
      gtk_list_box_append (self->outcomes_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->outcomes_list), result->outcomes->len > 0);

  if (result->differences->len > 0)
    {
      GString *text = g_string_new (_ ("The selected crypto units now differ:"));

      for (guint i = 0; i < result->differences->len; i++)
        g_string_append_printf (text, "\n• %s", (const char *) result->differences->pdata[i]);
      gtk_label_set_text (self->differences_label, text->str);
      g_string_free (text, TRUE);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->differences_label), result->differences->len > 0);

  gtk_label_set_text (self->result_summary, result->summary);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), failed > 0);
  finish (self, failed == 0 ? _ ("Done") : _ ("Some Crypto Units Did Not Take the Command"));
}

void
tke_ceremony_dialog_show_error (TkeCeremonyDialog *self, const GError *error)
{
  gboolean cancelled;

  g_return_if_fail (TKE_IS_CEREMONY_DIALOG (self));
  g_return_if_fail (error != NULL);

  cancelled = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  self->stopped = TRUE;
  gtk_label_set_text (self->result_summary, cancelled ? tke_error_cancelled () : error->message);
  gtk_widget_set_visible (GTK_WIDGET (self->outcomes_list), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->differences_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), FALSE);
  finish (self, cancelled ? _ ("Cancelled") : _ ("The Operation Stopped"));
}

gboolean
tke_ceremony_dialog_is_finished (TkeCeremonyDialog *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_DIALOG (self), FALSE);
  return self->finished;
}

const char *
tke_ceremony_dialog_get_page (TkeCeremonyDialog *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_DIALOG (self), NULL);
  return gtk_stack_get_visible_child_name (self->pages);
}
