/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The vpcd wire protocol: 2-byte big-endian length frames; 1-byte frames are power controls. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "tke-error.h"
#include "tke-vpcd.h"

#define VPCD_POWER_OFF 0x00
#define VPCD_POWER_ON  0x01
#define VPCD_RESET     0x02
#define VPCD_GET_ATR   0x04

/* The largest frame vpcd sends: an extended APDU. */
#define FRAME_MAX 0xFFFF

struct _TkeVpcd
{
  GObject parent_instance;

  TkeVirtualCard *card;
  guint reader;
  guint16 port;
  guint fail_after;
  guint apdu_count;
  gboolean pulled_by_fault;
  int fd;
};

G_DEFINE_FINAL_TYPE (TkeVpcd, tke_vpcd, G_TYPE_OBJECT)

typedef enum
{
  READ_OK,
  READ_CLOSED,
  READ_CANCELLED,
  READ_FAILED,
} ReadResult;

/* Delayed ACKs would hold each answer about 40 ms; QUICKACK wears off, so it is set anew after
 * every read. */
static void
rearm_quickack (int fd)
{
  int one = 1;

  setsockopt (fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static ReadResult
read_exact (TkeVpcd *self, guint8 *buf, gsize len, GCancellable *cancellable)
{
  int cancel_fd = cancellable != NULL ? g_cancellable_get_fd (cancellable) : -1;
  gsize got = 0;

  while (got < len)
    {
      struct pollfd fds[2] = {
        { .fd = self->fd, .events = POLLIN },
        { .fd = cancel_fd, .events = POLLIN },
      };
      ssize_t n;

      if (poll (fds, cancel_fd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return READ_FAILED;
        }
      if (cancel_fd >= 0 && (fds[1].revents & POLLIN))
        return READ_CANCELLED;
      if (fds[0].revents == 0)
        continue;

      n = recv (self->fd, buf + got, len - got, 0);
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          return errno == ECONNRESET ? READ_CLOSED : READ_FAILED;
        }
      if (n == 0)
        return READ_CLOSED;
      got += n;
      rearm_quickack (self->fd);
    }
  return READ_OK;
}

static gboolean
send_frame (TkeVpcd *self, const guint8 *payload, gsize len)
{
  g_autofree guint8 *frame = g_malloc (len + 2);
  gsize sent = 0;

  if (len > FRAME_MAX)
    return FALSE;
  frame[0] = len >> 8;
  frame[1] = len & 0xFF;
  memcpy (frame + 2, payload, len);

  /* One send for header and payload: two small segments would wait on each other. */
  while (sent < len + 2)
    {
      ssize_t n = send (self->fd, frame + sent, len + 2 - sent, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          OPENSSL_cleanse (frame, len + 2);
          return FALSE;
        }
      sent += n;
    }
  OPENSSL_cleanse (frame, len + 2);
  return TRUE;
}

static void
close_connection (TkeVpcd *self)
{
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
}

static void
tke_vpcd_finalize (GObject *object)
{
  TkeVpcd *self = TKE_VPCD (object);

  close_connection (self);
  g_clear_object (&self->card);

  G_OBJECT_CLASS (tke_vpcd_parent_class)->finalize (object);
}

static void
tke_vpcd_class_init (TkeVpcdClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tke_vpcd_finalize;
}

static void
tke_vpcd_init (TkeVpcd *self)
{
  self->fd = -1;
}

TkeVpcd *
tke_vpcd_new (TkeVirtualCard *card, guint reader)
{
  TkeVpcd *self;

  g_return_val_if_fail (TKE_IS_VIRTUAL_CARD (card), NULL);
  g_return_val_if_fail (reader < TKE_VPCD_N_READERS, NULL);

  self = g_object_new (TKE_TYPE_VPCD, NULL);
  self->card = g_object_ref (card);
  self->reader = reader;
  self->port = TKE_VPCD_PORT_BASE + reader;
  return self;
}

TkeVpcd *
tke_vpcd_new_for_port (TkeVirtualCard *card, guint16 port)
{
  TkeVpcd *self;

  g_return_val_if_fail (TKE_IS_VIRTUAL_CARD (card), NULL);
  g_return_val_if_fail (port != 0, NULL);

  self = g_object_new (TKE_TYPE_VPCD, NULL);
  self->card = g_object_ref (card);
  self->port = port;
  return self;
}

void
tke_vpcd_set_fail_after_apdus (TkeVpcd *self, guint n)
{
  g_return_if_fail (TKE_IS_VPCD (self));
  self->fail_after = n;
}

gboolean
tke_vpcd_connect (TkeVpcd *self, GError **error)
{
  struct sockaddr_in addr = { 0 };
  guint port;
  int one = 1;
  int fd;

  g_return_val_if_fail (TKE_IS_VPCD (self), FALSE);
  g_return_val_if_fail (self->fd < 0, FALSE);

  port = self->port;
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER, "No socket for the card: %s.",
                   g_strerror (errno));
      return FALSE;
    }

  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      int saved = errno;

      close (fd);
      g_set_error (error, TKE_ERROR, TKE_ERROR_NO_READER,
                   "The virtual reader %u (vpcd, 127.0.0.1:%u) does not answer: %s. Start pcscd "
                   "with the vsmartcard-vpcd driver (build-aux/pcscd-up.sh) and try again.",
                   self->reader, port, g_strerror (saved));
      return FALSE;
    }

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  rearm_quickack (fd);
  self->fd = fd;
  return TRUE;
}

static gboolean
handle_control (TkeVpcd *self, guint8 control)
{
  switch (control)
    {
      case VPCD_POWER_OFF:
        tke_virtual_card_power_off (self->card);
        return TRUE;
      case VPCD_POWER_ON:
        tke_virtual_card_power_on (self->card);
        return TRUE;
      case VPCD_RESET:
        tke_virtual_card_reset (self->card);
        return TRUE;
      case VPCD_GET_ATR:
        {
          g_autoptr (GBytes) atr = tke_virtual_card_get_atr (self->card);
          gsize len;
          const guint8 *data = g_bytes_get_data (atr, &len);

          return send_frame (self, data, len);
        }
      default:
        /* Unknown controls carry no answer in the protocol; ignoring them keeps the card in. */
        g_debug ("vpcd sent an unknown control byte %02X", control);
        return TRUE;
    }
}

gboolean
tke_vpcd_serve (TkeVpcd *self, GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *payload = g_malloc (FRAME_MAX);
  gboolean ok = TRUE;

  g_return_val_if_fail (TKE_IS_VPCD (self), FALSE);
  g_return_val_if_fail (self->fd >= 0, FALSE);

  while (TRUE)
    {
      guint8 header[2];
      gsize len;
      ReadResult result;

      result = read_exact (self, header, sizeof header, cancellable);
      if (result == READ_OK)
        {
          len = (header[0] << 8) | header[1];
          result = read_exact (self, payload, len, cancellable);
        }
      if (result == READ_CANCELLED)
        break;
      if (result != READ_OK)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_READER_GONE,
                       "vpcd closed the connection of reader %u: pcscd stopped or restarted.",
                       self->reader);
          ok = FALSE;
          break;
        }

      if (len == 0)
        continue;
      if (len == 1)
        {
          if (!handle_control (self, payload[0]))
            {
              g_set_error (error, TKE_ERROR, TKE_ERROR_READER_GONE,
                           "vpcd stopped listening on reader %u.", self->reader);
              ok = FALSE;
              break;
            }
          continue;
        }

      if (self->fail_after > 0 && self->apdu_count + 1 == self->fail_after)
        {
          self->pulled_by_fault = TRUE;
          break;
        }

      {
        g_autoptr (GBytes) command = g_bytes_new (payload, len);
        g_autoptr (GBytes) answer = tke_virtual_card_transmit (self->card, command);
        gsize answer_len;
        const guint8 *answer_data = g_bytes_get_data (answer, &answer_len);

        /* Header and status word only: the data may hold a PIN or a key. */
        g_debug ("APDU %u: %02X %02X %02X %02X, %" G_GSIZE_FORMAT " bytes -> %02X%02X",
                 self->apdu_count + 1, payload[0], payload[1], payload[2], payload[3], len,
                 answer_len >= 2 ? answer_data[answer_len - 2] : 0,
                 answer_len >= 2 ? answer_data[answer_len - 1] : 0);
        OPENSSL_cleanse (payload, len);
        self->apdu_count++;
        if (!send_frame (self, answer_data, answer_len))
          {
            g_set_error (error, TKE_ERROR, TKE_ERROR_READER_GONE,
                         "vpcd stopped listening on reader %u.", self->reader);
            ok = FALSE;
            break;
          }
      }
    }

  close_connection (self);
  /* Pulled: the card loses power and with it every security state. */
  tke_virtual_card_power_off (self->card);
  return ok;
}

guint
tke_vpcd_get_apdu_count (TkeVpcd *self)
{
  g_return_val_if_fail (TKE_IS_VPCD (self), 0);
  return self->apdu_count;
}

gboolean
tke_vpcd_get_pulled_by_fault (TkeVpcd *self)
{
  g_return_val_if_fail (TKE_IS_VPCD (self), FALSE);
  return self->pulled_by_fault;
}
