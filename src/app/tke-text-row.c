/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A row of a ceremony tab's list. */
#include "config.h"

#include "tke-text-row.h"
#include "tke-text.h"

struct _TkeTextRow
{
  GObject parent_instance;

  char *key;
  GStrv cells;
  /* Per cell, what the cell's tooltip says in full; NULL for none. */
  char **tooltips;
  gboolean checked;
  gboolean marked;
};

G_DEFINE_FINAL_TYPE (TkeTextRow, tke_text_row, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CHECKED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tke_text_row_finalize (GObject *object)
{
  TkeTextRow *self = TKE_TEXT_ROW (object);

  g_free (self->key);
  if (self->tooltips != NULL)
    for (guint i = 0; self->cells[i] != NULL; i++)
      g_free (self->tooltips[i]);
  g_free (self->tooltips);
  g_strfreev (self->cells);

  G_OBJECT_CLASS (tke_text_row_parent_class)->finalize (object);
}

static void
tke_text_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeTextRow *self = TKE_TEXT_ROW (object);

  switch (prop_id)
    {
      case PROP_CHECKED:
        g_value_set_boolean (value, self->checked);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_text_row_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TkeTextRow *self = TKE_TEXT_ROW (object);

  switch (prop_id)
    {
      case PROP_CHECKED:
        tke_text_row_set_checked (self, g_value_get_boolean (value));
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_text_row_class_init (TkeTextRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_text_row_finalize;
  object_class->get_property = tke_text_row_get_property;
  object_class->set_property = tke_text_row_set_property;

  properties[PROP_CHECKED] =
      g_param_spec_boolean ("checked", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tke_text_row_init (TkeTextRow *self)
{
}

/* Every cell may hold what a card or a unit said: shown, never interpreted. A line break is
 * the cell's own layout (a VP on two lines): text from outside comes escaped already, with
 * its own line breaks as \x0a, so only the lines are escaped here. */
static char *
escape_lines (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint l = 0; lines[l] != NULL; l++)
    {
      char *escaped = tke_text_escape (lines[l], -1);

      g_free (lines[l]);
      lines[l] = escaped;
    }
  return g_strjoinv ("\n", lines);
}

TkeTextRow *
tke_text_row_new (const char *key, const char *const *cells)
{
  TkeTextRow *self;

  g_return_val_if_fail (cells != NULL, NULL);

  self = g_object_new (TKE_TYPE_TEXT_ROW, NULL);
  self->key = g_strdup (key);
  self->cells = g_new0 (char *, g_strv_length ((char **) cells) + 1);
  for (guint i = 0; cells[i] != NULL; i++)
    self->cells[i] = escape_lines (cells[i]);
  return self;
}

void
tke_text_row_set_tooltip (TkeTextRow *self, guint column, const char *tooltip)
{
  guint n;

  g_return_if_fail (TKE_IS_TEXT_ROW (self));
  n = g_strv_length (self->cells);
  g_return_if_fail (column < n);

  if (self->tooltips == NULL)
    self->tooltips = g_new0 (char *, n);
  g_free (self->tooltips[column]);
  self->tooltips[column] = tooltip != NULL ? escape_lines (tooltip) : NULL;
}

const char *
tke_text_row_get_tooltip (TkeTextRow *self, guint column)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), NULL);
  if (self->tooltips == NULL || column >= g_strv_length (self->cells))
    return NULL;
  return self->tooltips[column];
}

const char *
tke_text_row_get_key (TkeTextRow *self)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), NULL);
  return self->key;
}

const char *
tke_text_row_get_cell (TkeTextRow *self, guint column)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), NULL);
  return column < g_strv_length (self->cells) ? self->cells[column] : "";
}

void
tke_text_row_set_marked (TkeTextRow *self, gboolean marked)
{
  g_return_if_fail (TKE_IS_TEXT_ROW (self));
  self->marked = marked;
}

gboolean
tke_text_row_get_marked (TkeTextRow *self)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), FALSE);
  return self->marked;
}

void
tke_text_row_set_checked (TkeTextRow *self, gboolean checked)
{
  g_return_if_fail (TKE_IS_TEXT_ROW (self));

  if (self->checked == !!checked)
    return;
  self->checked = !!checked;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHECKED]);
}

gboolean
tke_text_row_get_checked (TkeTextRow *self)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), FALSE);
  return self->checked;
}

gboolean
tke_text_row_same_text (TkeTextRow *self, TkeTextRow *other)
{
  g_return_val_if_fail (TKE_IS_TEXT_ROW (self), FALSE);
  g_return_val_if_fail (TKE_IS_TEXT_ROW (other), FALSE);

  if (g_strcmp0 (self->key, other->key) != 0 || self->marked != other->marked ||
      !g_strv_equal ((const char *const *) self->cells, (const char *const *) other->cells))
    return FALSE;
  for (guint i = 0; self->cells[i] != NULL; i++)
    if (g_strcmp0 (tke_text_row_get_tooltip (self, i), tke_text_row_get_tooltip (other, i)) != 0)
      return FALSE;
  return TRUE;
}
