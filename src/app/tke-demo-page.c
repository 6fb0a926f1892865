/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Demo panel: the readers and the wallet of the demo world, with buttons that move cards
 * (actions demo.insert (serial, reader) and demo.remove reader). */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "tke-demo-page.h"

struct _TkeDemoPage
{
  GtkBox parent_instance;

  GtkLabel *service_label;
  GtkLabel *reader1_title;
  GtkLabel *reader1_card;
  GtkLabel *reader1_summary;
  GtkWidget *reader1_remove;
  GtkLabel *reader2_title;
  GtkLabel *reader2_card;
  GtkLabel *reader2_summary;
  GtkWidget *reader2_remove;
  GtkListBox *wallet;

  TkeDemoWorld *world;
};

G_DEFINE_FINAL_TYPE (TkeDemoPage, tke_demo_page, GTK_TYPE_BOX)

enum
{
  PROP_0,
  PROP_WORLD,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* What a wallet row keeps of its card and its buttons. */
typedef struct
{
  TkeDemoCard *card;
  GtkWidget *insert[3]; /* indexed by TkeDemoLocation; 0 unused */
} WalletRow;

static void
wallet_row_free (WalletRow *row)
{
  g_clear_object (&row->card);
  g_free (row);
}

static char *
location_text (TkeDemoLocation location)
{
  switch (location)
    {
      case TKE_DEMO_LOCATION_READER_1:
        return g_strdup (_ ("In reader 1"));
      case TKE_DEMO_LOCATION_READER_2:
        return g_strdup (_ ("In reader 2"));
      case TKE_DEMO_LOCATION_WALLET:
      default:
        return g_strdup (_ ("In the wallet"));
    }
}

static const char *
summary_text (TkeDemoCard *card)
{
  return tke_demo_card_get_reading (card) ? _ ("Reading the card…")
                                          : tke_demo_card_get_summary (card);
}

static void
update_wallet_row (AdwActionRow *row)
{
  WalletRow *data = g_object_get_data (G_OBJECT (row), "tke-wallet-row");
  TkeDemoLocation location = tke_demo_card_get_location (data->card);
  g_autofree char *where = location_text (location);
  /* Translators: a card's serial number, where it is and what it holds. */
  g_autofree char *subtitle =
      g_strdup_printf (_ ("Serial %u · %s · %s"), (guint) tke_demo_card_get_serial (data->card),
                       where, summary_text (data->card));

  adw_action_row_set_subtitle (row, subtitle);
  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    gtk_widget_set_sensitive (data->insert[r], location != r);
}

static GtkWidget *
make_insert_button (TkeDemoCard *card, TkeDemoLocation reader)
{
  /* No mnemonic: eight rows would share it, and Alt+1 and Alt+2 show the first two tabs. */
  const char *label = reader == TKE_DEMO_LOCATION_READER_1 ? _ ("Insert into reader 1")
                                                           : _ ("Insert into reader 2");
  GtkWidget *button = gtk_button_new_with_label (label);
  /* Translators: the accessible name of a button; %s is a card's name, %u the reader. */
  g_autofree char *accessible = g_strdup_printf (_ ("Insert %s into reader %u"),
                                                 tke_demo_card_get_label (card), (guint) reader);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "demo.insert");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "(uu)",
                                    (guint32) tke_demo_card_get_serial (card), (guint32) reader);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible, -1);
  return button;
}

static GtkWidget *
create_wallet_row (gpointer item, gpointer user_data)
{
  TkeDemoCard *card = item;
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
  WalletRow *data = g_new0 (WalletRow, 1);
  GtkWidget *icon = gtk_image_new_from_icon_name ("auth-smartcard-symbolic");

  data->card = g_object_ref (card);
  g_object_set_data_full (G_OBJECT (row), "tke-wallet-row", data, (GDestroyNotify) wallet_row_free);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), tke_demo_card_get_label (card));
  adw_action_row_add_prefix (row, icon);
  for (TkeDemoLocation r = TKE_DEMO_LOCATION_READER_1; r <= TKE_DEMO_LOCATION_READER_2; r++)
    {
      data->insert[r] = make_insert_button (card, r);
      adw_action_row_add_suffix (row, data->insert[r]);
    }
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);

  g_signal_connect_object (card, "notify", G_CALLBACK (update_wallet_row), row, G_CONNECT_SWAPPED);
  update_wallet_row (row);
  return GTK_WIDGET (row);
}

static void
update_reader (TkeDemoPage *self, TkeDemoLocation reader)
{
  GtkLabel *card_label =
      reader == TKE_DEMO_LOCATION_READER_1 ? self->reader1_card : self->reader2_card;
  GtkLabel *summary_label =
      reader == TKE_DEMO_LOCATION_READER_1 ? self->reader1_summary : self->reader2_summary;
  GtkWidget *remove =
      reader == TKE_DEMO_LOCATION_READER_1 ? self->reader1_remove : self->reader2_remove;
  TkeDemoCard *card = tke_demo_world_get_card_in (self->world, reader);
  TkeDemoCard *coming = tke_demo_world_get_card_coming (self->world, reader);
  g_autofree char *text = NULL;

  if (card != NULL)
    {
      /* Translators: a card's name and serial number. */
      text = g_strdup_printf (_ ("%s, serial %u"), tke_demo_card_get_label (card),
                              (guint) tke_demo_card_get_serial (card));
      gtk_label_set_text (summary_label, summary_text (card));
    }
  else if (coming != NULL)
    {
      /* Translators: %s is a card's name; the reader takes it in a moment. */
      text = g_strdup_printf (_ ("%s is going in…"), tke_demo_card_get_label (coming));
      gtk_label_set_text (summary_label, summary_text (coming));
    }
  else
    {
      text = g_strdup (_ ("No card"));
      gtk_label_set_text (summary_label, _ ("Insert a card from the wallet below."));
    }
  gtk_label_set_text (card_label, text);
  gtk_widget_set_sensitive (remove, card != NULL || coming != NULL);
}

static void
update_readers (TkeDemoPage *self)
{
  update_reader (self, TKE_DEMO_LOCATION_READER_1);
  update_reader (self, TKE_DEMO_LOCATION_READER_2);
}

static TkeDemoCard *
find_card (TkeDemoPage *self, guint32 serial)
{
  GListModel *cards = tke_demo_world_get_cards (self->world);

  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (TkeDemoCard) card = g_list_model_get_item (cards, i);

      if (tke_demo_card_get_serial (card) == serial)
        return card;
    }
  return NULL;
}

static void
insert_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TkeDemoPage *self = TKE_DEMO_PAGE (widget);
  g_autoptr (GError) error = NULL;
  guint32 serial, reader;
  TkeDemoCard *card;

  g_variant_get (parameter, "(uu)", &serial, &reader);
  card = find_card (self, serial);
  if (card == NULL)
    {
      g_warning ("The demo wallet has no card with serial %u.", serial);
      return;
    }
  if (!tke_demo_world_insert (self->world, card, reader, &error))
    g_warning ("%s", error->message);
}

static void
remove_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  TkeDemoPage *self = TKE_DEMO_PAGE (widget);
  guint32 reader = g_variant_get_uint32 (parameter);

  if (reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2)
    tke_demo_world_remove (self->world, reader);
}

static void
set_world (TkeDemoPage *self, TkeDemoWorld *world)
{
  GListModel *cards = tke_demo_world_get_cards (world);
  g_autofree char *service = NULL;
  g_autofree char *title1 = NULL;
  g_autofree char *title2 = NULL;

  if (world == NULL)
    return;
  self->world = g_object_ref (world);

  /* Translators: %s is the address of the demo's crypto unit service, %u its number of units. */
  service = g_strdup_printf (_ ("Crypto unit service: %s, %u crypto units"),
                             tke_demo_world_get_service_url (world),
                             TKE_DEMO_OPERATIONAL + TKE_DEMO_FAILOVER);
  gtk_label_set_text (self->service_label, service);

  /* Translators: the reader's role and its name. */
  title1 = g_strdup_printf (_ ("Reader 1 · %s"),
                            tke_demo_world_get_reader_name (world, TKE_DEMO_LOCATION_READER_1));
  title2 = g_strdup_printf (_ ("Reader 2 · %s"),
                            tke_demo_world_get_reader_name (world, TKE_DEMO_LOCATION_READER_2));
  gtk_label_set_text (self->reader1_title, title1);
  gtk_label_set_text (self->reader2_title, title2);

  gtk_list_box_bind_model (self->wallet, cards, create_wallet_row, NULL, NULL);
  g_signal_connect_object (world, "readers-changed", G_CALLBACK (update_readers), self,
                           G_CONNECT_SWAPPED);
  for (guint i = 0; i < g_list_model_get_n_items (cards); i++)
    {
      g_autoptr (TkeDemoCard) card = g_list_model_get_item (cards, i);

      g_signal_connect_object (card, "notify", G_CALLBACK (update_readers), self,
                               G_CONNECT_SWAPPED);
    }
  update_readers (self);
}

static void
tke_demo_page_dispose (GObject *object)
{
  TkeDemoPage *self = TKE_DEMO_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_DEMO_PAGE);
  g_clear_object (&self->world);

  G_OBJECT_CLASS (tke_demo_page_parent_class)->dispose (object);
}

static void
tke_demo_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeDemoPage *self = TKE_DEMO_PAGE (object);

  switch (prop_id)
    {
      case PROP_WORLD:
        g_value_set_object (value, self->world);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_demo_page_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TkeDemoPage *self = TKE_DEMO_PAGE (object);

  switch (prop_id)
    {
      case PROP_WORLD:
        set_world (self, g_value_get_object (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_demo_page_class_init (TkeDemoPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_demo_page_dispose;
  object_class->get_property = tke_demo_page_get_property;
  object_class->set_property = tke_demo_page_set_property;

  props[PROP_WORLD] =
      g_param_spec_object ("world", NULL, NULL, TKE_TYPE_DEMO_WORLD,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-demo-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, service_label);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader1_title);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader1_card);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader1_summary);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader1_remove);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader2_title);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader2_card);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader2_summary);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, reader2_remove);
  gtk_widget_class_bind_template_child (widget_class, TkeDemoPage, wallet);

  gtk_widget_class_install_action (widget_class, "demo.insert", "(uu)", insert_action);
  gtk_widget_class_install_action (widget_class, "demo.remove", "u", remove_action);
}

static void
tke_demo_page_init (TkeDemoPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
tke_demo_page_new (TkeDemoWorld *world)
{
  g_return_val_if_fail (TKE_IS_DEMO_WORLD (world), NULL);
  return g_object_new (TKE_TYPE_DEMO_PAGE, "world", world, NULL);
}

TkeDemoWorld *
tke_demo_page_get_world (TkeDemoPage *self)
{
  g_return_val_if_fail (TKE_IS_DEMO_PAGE (self), NULL);
  return self->world;
}
