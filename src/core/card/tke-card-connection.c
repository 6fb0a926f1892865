/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The common half of card connections: chaining, GET RESPONSE and 6Cxx above raw transmit. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tke-card-connection.h"
#include "tke-error.h"
#include "tke-secmem.h"

/* A card that keeps saying 61xx must not keep us forever: PIV objects are at most a few KiB. */
#define MAX_RESPONSE_LEN (64 * 1024)
/* GET RESPONSE and 6Cxx rounds of one command: a full answer of MAX_RESPONSE_LEN in 256-byte
 * pieces, each of which may need one resend, and a little more. A card that answers 61xx with
 * no data, or alternates 6Cxx and 61xx, must not keep the worker in this loop forever. */
#define MAX_ROUNDS (2 * (MAX_RESPONSE_LEN / 256) + 8)

typedef struct
{
  char *reader_name;
  guint apdu_count;
  gboolean disconnected;
} TkeCardConnectionPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (TkeCardConnection, tke_card_connection, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_READER_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tke_card_connection_finalize (GObject *object)
{
  TkeCardConnection *self = TKE_CARD_CONNECTION (object);
  TkeCardConnectionPrivate *priv = tke_card_connection_get_instance_private (self);

  g_free (priv->reader_name);

  G_OBJECT_CLASS (tke_card_connection_parent_class)->finalize (object);
}

static void
tke_card_connection_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeCardConnection *self = TKE_CARD_CONNECTION (object);
  TkeCardConnectionPrivate *priv = tke_card_connection_get_instance_private (self);

  switch (prop_id)
    {
      case PROP_READER_NAME:
        g_value_set_string (value, priv->reader_name);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_card_connection_set_property (GObject *object, guint prop_id, const GValue *value,
                                  GParamSpec *pspec)
{
  TkeCardConnection *self = TKE_CARD_CONNECTION (object);
  TkeCardConnectionPrivate *priv = tke_card_connection_get_instance_private (self);

  switch (prop_id)
    {
      case PROP_READER_NAME:
        g_free (priv->reader_name);
        priv->reader_name = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
tke_card_connection_real_has_pin_pad (TkeCardConnection *self)
{
  return FALSE;
}

static gboolean
tke_card_connection_real_verify_pin_pad (TkeCardConnection *self, guint8 reference, guint16 *sw,
                                         GError **error)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
               _ ("The reader \"%s\" has no PIN pad: type the PIN on the workstation."),
               tke_card_connection_get_reader_name (self));
  return FALSE;
}

static void
tke_card_connection_class_init (TkeCardConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_card_connection_finalize;
  object_class->get_property = tke_card_connection_get_property;
  object_class->set_property = tke_card_connection_set_property;

  klass->has_pin_pad = tke_card_connection_real_has_pin_pad;
  klass->verify_pin_pad = tke_card_connection_real_verify_pin_pad;

  properties[PROP_READER_NAME] =
      g_param_spec_string ("reader-name", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tke_card_connection_init (TkeCardConnection *self)
{
}

const char *
tke_card_connection_get_reader_name (TkeCardConnection *self)
{
  TkeCardConnectionPrivate *priv;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), NULL);
  priv = tke_card_connection_get_instance_private (self);
  return priv->reader_name != NULL ? priv->reader_name : "";
}

GBytes *
tke_card_connection_get_atr (TkeCardConnection *self)
{
  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), NULL);
  return TKE_CARD_CONNECTION_GET_CLASS (self)->get_atr (self);
}

gboolean
tke_card_connection_begin_transaction (TkeCardConnection *self, GError **error)
{
  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), FALSE);
  return TKE_CARD_CONNECTION_GET_CLASS (self)->begin_transaction (self, error);
}

void
tke_card_connection_end_transaction (TkeCardConnection *self)
{
  g_return_if_fail (TKE_IS_CARD_CONNECTION (self));
  TKE_CARD_CONNECTION_GET_CLASS (self)->end_transaction (self);
}

GBytes *
tke_card_connection_transmit_raw (TkeCardConnection *self, GBytes *command, GError **error)
{
  TkeCardConnectionPrivate *priv;
  GBytes *response;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  priv = tke_card_connection_get_instance_private (self);

  if (priv->disconnected)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NO_CARD,
                   _ ("The connection to the card in \"%s\" was closed."), priv->reader_name);
      return NULL;
    }

  priv->apdu_count++;
  response = TKE_CARD_CONNECTION_GET_CLASS (self)->transmit_raw (self, command, error);
  if (response != NULL && g_bytes_get_size (response) < 2)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The card in \"%s\" answered without a status word."), priv->reader_name);
      g_clear_pointer (&response, g_bytes_unref);
    }
  return response;
}

static void
wipe_bytes (GBytes *bytes)
{
  if (bytes != NULL)
    tke_wipe ((gpointer) g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* One short APDU, then GET RESPONSE while the card says 61xx and a resend on 6Cxx. */
static gboolean
transmit_one (TkeCardConnection *self, const TkeApdu *apdu, GByteArray *answer, guint16 *sw,
              GError **error)
{
  TkeApdu cmd = *apdu;
  gboolean resent = FALSE;

  for (guint round = 0;; round++)
    {
      g_autoptr (GBytes) encoded = NULL;

      if (round >= MAX_ROUNDS)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                       _ ("The card kept asking for GET RESPONSE or a resend (%u rounds) without "
                          "finishing its answer; it is not a PIV card that works."),
                       round);
          return FALSE;
        }
      encoded = tke_apdu_encode (&cmd, error);
      g_autoptr (GBytes) response = NULL;
      g_autoptr (GBytes) data = NULL;

      if (encoded == NULL)
        return FALSE;
      response = tke_card_connection_transmit_raw (self, encoded, error);
      if (apdu->sensitive)
        wipe_bytes (encoded);
      if (response == NULL)
        return FALSE;
      data = tke_apdu_split_response (response, sw, error);
      if (data == NULL)
        return FALSE;

      if (TKE_SW_IS_WRONG_LE (*sw) && !resent)
        {
          /* The card names the right Le; the same command again (once) with it. */
          cmd.ne = (*sw & 0xFF) == 0 ? TKE_APDU_MAX_LE : (*sw & 0xFF);
          resent = TRUE;
          continue;
        }

      if (answer->len + g_bytes_get_size (data) > MAX_RESPONSE_LEN)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                       _ ("The card's answer grew past %u bytes; it is not a PIV card that works."),
                       MAX_RESPONSE_LEN);
          return FALSE;
        }
      g_byte_array_append (answer, g_bytes_get_data (data, NULL), g_bytes_get_size (data));
      if (apdu->sensitive)
        wipe_bytes (response);

      if (!TKE_SW_IS_MORE_DATA (*sw))
        return TRUE;

      /* 61xx: the rest waits behind GET RESPONSE, xx bytes of it (00 = 256 or more). */
      cmd = (TkeApdu){ .cla = apdu->cla & ~0x10, .ins = 0xC0, .sensitive = apdu->sensitive };
      cmd.ne = (*sw & 0xFF) == 0 ? TKE_APDU_MAX_LE : (*sw & 0xFF);
      resent = FALSE;
    }
}

GBytes *
tke_card_connection_transmit (TkeCardConnection *self, const TkeApdu *apdu, guint16 *sw,
                              GError **error)
{
  g_autoptr (GByteArray) answer = NULL;
  gsize offset = 0;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), NULL);
  g_return_val_if_fail (apdu != NULL && sw != NULL, NULL);
  g_return_val_if_fail (apdu->data != NULL || apdu->len == 0, NULL);

  /* Room for a secret answer up front, so that no reallocation leaves a copy behind. */
  answer = g_byte_array_sized_new (apdu->sensitive ? 2 * TKE_APDU_MAX_LE : 0);

  /* Chaining: every block but the last with CLA | 0x10; each must be accepted with 9000. */
  while (apdu->len - offset > TKE_APDU_MAX_LC)
    {
      TkeApdu block = *apdu;

      block.cla |= 0x10;
      block.data = apdu->data + offset;
      block.len = TKE_APDU_MAX_LC;
      block.ne = 0;
      if (!transmit_one (self, &block, answer, sw, error))
        return NULL;
      if (*sw != TKE_SW_OK)
        return g_byte_array_free_to_bytes (g_steal_pointer (&answer));
      g_byte_array_set_size (answer, 0);
      offset += TKE_APDU_MAX_LC;
    }

  {
    TkeApdu last = *apdu;

    last.data = apdu->len > 0 ? apdu->data + offset : NULL;
    last.len = apdu->len - offset;
    if (!transmit_one (self, &last, answer, sw, error))
      return NULL;
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&answer));
}

gboolean
tke_card_connection_has_pin_pad (TkeCardConnection *self)
{
  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), FALSE);
  return TKE_CARD_CONNECTION_GET_CLASS (self)->has_pin_pad (self);
}

gboolean
tke_card_connection_verify_pin_pad (TkeCardConnection *self, guint8 reference, guint16 *sw,
                                    GError **error)
{
  TkeCardConnectionPrivate *priv;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), FALSE);
  g_return_val_if_fail (sw != NULL, FALSE);
  priv = tke_card_connection_get_instance_private (self);

  priv->apdu_count++;
  return TKE_CARD_CONNECTION_GET_CLASS (self)->verify_pin_pad (self, reference, sw, error);
}

void
tke_card_connection_disconnect (TkeCardConnection *self, gboolean reset)
{
  TkeCardConnectionPrivate *priv;

  g_return_if_fail (TKE_IS_CARD_CONNECTION (self));
  priv = tke_card_connection_get_instance_private (self);

  if (priv->disconnected)
    return;
  priv->disconnected = TRUE;
  TKE_CARD_CONNECTION_GET_CLASS (self)->disconnect (self, reset);
}

guint
tke_card_connection_get_apdu_count (TkeCardConnection *self)
{
  TkeCardConnectionPrivate *priv;

  g_return_val_if_fail (TKE_IS_CARD_CONNECTION (self), 0);
  priv = tke_card_connection_get_instance_private (self);
  return priv->apdu_count;
}
