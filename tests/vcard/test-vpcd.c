/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The vpcd connector against a fake vpcd on a loopback port: frames, controls, pulls, faults. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "tke-error.h"
#include "tke-vcard-engine.h"
#include "tke-vpcd.h"

/* The test plays vpcd: it listens, tke-vpcd connects, and a thread serves the card. */
typedef struct
{
  TkeVcardEngine *card;
  TkeVpcd *vpcd;
  GCancellable *cancellable;
  GThread *thread;
  int listen_fd;
  int fd;
  gboolean served;
  GError *error;
} Fixture;

static gpointer
serve_thread (gpointer data)
{
  Fixture *f = data;

  f->served = tke_vpcd_serve (f->vpcd, f->cancellable, &f->error);
  return NULL;
}

static void
fixture_start (Fixture *f, guint fail_after)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t addr_len = sizeof addr;
  g_autoptr (GError) error = NULL;
  struct timeval timeout = { .tv_sec = 10 };

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  f->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (f->listen_fd, >=, 0);
  g_assert_cmpint (bind (f->listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (f->listen_fd, 1), ==, 0);
  g_assert_cmpint (getsockname (f->listen_fd, (struct sockaddr *) &addr, &addr_len), ==, 0);

  f->card = tke_vcard_engine_new_blank (777, TKE_VCARD_MGMT_ALG_3DES);
  f->vpcd = tke_vpcd_new_for_port (TKE_VIRTUAL_CARD (f->card), ntohs (addr.sin_port));
  tke_vpcd_set_fail_after_apdus (f->vpcd, fail_after);
  g_assert_true (tke_vpcd_connect (f->vpcd, &error));
  g_assert_no_error (error);

  f->fd = accept (f->listen_fd, NULL, NULL);
  g_assert_cmpint (f->fd, >=, 0);
  /* A card that never answers fails the test instead of hanging it. */
  setsockopt (f->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  f->cancellable = g_cancellable_new ();
  f->thread = g_thread_new ("vpcd", serve_thread, f);
}

/* Waits for the serving thread; the card has been pulled one way or another. */
static void
fixture_join (Fixture *f)
{
  g_thread_join (g_steal_pointer (&f->thread));
}

static void
fixture_stop (Fixture *f)
{
  if (f->thread != NULL)
    {
      g_cancellable_cancel (f->cancellable);
      fixture_join (f);
    }
  if (f->fd >= 0)
    close (f->fd);
  close (f->listen_fd);
  g_clear_error (&f->error);
  g_clear_object (&f->cancellable);
  g_clear_object (&f->vpcd);
  g_clear_object (&f->card);
}

static void
send_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      g_assert_cmpint (n, >, 0);
      data += n;
      len -= n;
    }
}

static void
send_frame (Fixture *f, const guint8 *payload, gsize len)
{
  const guint8 header[] = { len >> 8, len & 0xFF };

  send_all (f->fd, header, sizeof header);
  send_all (f->fd, payload, len);
}

static void
send_hex (Fixture *f, const char *hex)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  for (const char *p = hex; p[0] != '\0'; p++)
    if (g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]))
      {
        guint8 b = (g_ascii_xdigit_value (p[0]) << 4) | g_ascii_xdigit_value (p[1]);

        g_byte_array_append (bytes, &b, 1);
        p++;
      }
  send_frame (f, bytes->data, bytes->len);
}

/* Reads one frame; NULL when the card closed the connection. */
static GBytes *
read_frame (Fixture *f)
{
  guint8 header[2];
  gsize got = 0, len;
  g_autofree guint8 *payload = NULL;

  while (got < sizeof header)
    {
      ssize_t n = recv (f->fd, header + got, sizeof header - got, 0);

      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        return NULL;
      got += n;
    }
  len = (header[0] << 8) | header[1];
  payload = g_malloc (len + 1);
  for (got = 0; got < len;)
    {
      ssize_t n = recv (f->fd, payload + got, len - got, 0);

      g_assert_cmpint (n, >, 0);
      got += n;
    }
  return g_bytes_new (payload, len);
}

static guint16
read_sw (Fixture *f)
{
  g_autoptr (GBytes) frame = read_frame (f);
  gsize len;
  const guint8 *data;

  g_assert_nonnull (frame);
  data = g_bytes_get_data (frame, &len);
  g_assert_cmpuint (len, >=, 2);
  return (data[len - 2] << 8) | data[len - 1];
}

static void
test_controls_and_apdus (void)
{
  Fixture f = { 0 };
  const guint8 get_atr = 0x04, power_on = 0x01, power_off = 0x00, reset = 0x02, unknown = 0x7F;
  const guint8 expected_atr[] = { 0x3B, 0x88, 0x80, 0x01, 0x54, 0x4B, 0x45,
                                  0x56, 0x43, 0x41, 0x52, 0x44, 0x11 };
  g_autoptr (GBytes) atr = NULL;
  g_autoptr (GBytes) apt = NULL;

  fixture_start (&f, 0);

  send_frame (&f, &get_atr, 1);
  atr = read_frame (&f);
  g_assert_nonnull (atr);
  g_assert_cmpmem (g_bytes_get_data (atr, NULL), g_bytes_get_size (atr), expected_atr,
                   sizeof expected_atr);

  /* Controls carry no answer: the next frame read is the APDU's. An unknown control and an
   * empty frame are ignored. */
  send_frame (&f, &power_on, 1);
  send_frame (&f, &unknown, 1);
  send_frame (&f, NULL, 0);
  send_hex (&f, "00 A4 04 00 05 A0 00 00 03 08");
  apt = read_frame (&f);
  g_assert_nonnull (apt);
  g_assert_cmpuint (g_bytes_get_size (apt), ==, 19 + 2);

  /* Power off between VERIFY and the status query: the PIN is forgotten. */
  send_hex (&f, "00 20 00 80 08 31 32 33 34 35 36 FF FF");
  g_assert_cmphex (read_sw (&f), ==, 0x9000);
  send_hex (&f, "00 20 00 80");
  g_assert_cmphex (read_sw (&f), ==, 0x9000);
  send_frame (&f, &power_off, 1);
  send_frame (&f, &power_on, 1);
  send_hex (&f, "00 20 00 80");
  g_assert_cmphex (read_sw (&f), ==, 0x63C3);
  /* So does a reset. */
  send_hex (&f, "00 20 00 80 08 31 32 33 34 35 36 FF FF");
  g_assert_cmphex (read_sw (&f), ==, 0x9000);
  send_frame (&f, &reset, 1);
  send_hex (&f, "00 20 00 80");
  g_assert_cmphex (read_sw (&f), ==, 0x63C3);

  /* A frame that arrives one byte at a time is still one APDU. */
  {
    const guint8 frame[] = { 0x00, 0x04, 0x00, 0xFD, 0x00, 0x00 };
    g_autoptr (GBytes) version = NULL;

    for (gsize i = 0; i < sizeof frame; i++)
      {
        send_all (f.fd, frame + i, 1);
        g_usleep (1000);
      }
    version = read_frame (&f);
    g_assert_nonnull (version);
    g_assert_cmpmem (g_bytes_get_data (version, NULL), g_bytes_get_size (version),
                     "\x05\x07\x01\x90\x00", 5);
  }
  g_assert_cmpuint (tke_vpcd_get_apdu_count (f.vpcd), ==, 7);

  /* Cancelling is pulling the card: the connection closes, serve () says it went well. */
  g_cancellable_cancel (f.cancellable);
  fixture_join (&f);
  g_assert_true (f.served);
  g_assert_no_error (f.error);
  g_assert_false (tke_vpcd_get_pulled_by_fault (f.vpcd));
  g_assert_null (read_frame (&f));
  fixture_stop (&f);
}

static void
test_fail_after_apdus (void)
{
  Fixture f = { 0 };
  const guint8 power_on = 0x01;

  fixture_start (&f, 3);
  send_frame (&f, &power_on, 1);
  send_hex (&f, "00 A4 04 00 05 A0 00 00 03 08");
  g_assert_cmphex (read_sw (&f), ==, 0x9000);
  /* Controls don't count: only APDUs do. */
  send_frame (&f, &power_on, 1);
  send_hex (&f, "00 20 00 80 08 39 39 39 39 39 39 FF FF");
  g_assert_cmphex (read_sw (&f), ==, 0x63C2);
  /* The third APDU is never answered, nor run: the connection just closes. */
  send_hex (&f, "00 20 00 80 08 39 39 39 39 39 39 FF FF");
  g_assert_null (read_frame (&f));

  fixture_join (&f);
  g_assert_true (f.served);
  g_assert_true (tke_vpcd_get_pulled_by_fault (f.vpcd));
  g_assert_cmpuint (tke_vpcd_get_apdu_count (f.vpcd), ==, 2);
  {
    const guint8 status[] = { 0x00, 0x20, 0x00, 0x80 };
    g_autoptr (GBytes) command = g_bytes_new (status, sizeof status);
    g_autoptr (GBytes) answer = tke_virtual_card_transmit (TKE_VIRTUAL_CARD (f.card), command);

    g_assert_cmpmem (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), "\x63\xC2", 2);
  }
  fixture_stop (&f);
}

static void
test_vpcd_goes_away (void)
{
  Fixture f = { 0 };
  const guint8 power_on = 0x01;

  fixture_start (&f, 0);
  send_frame (&f, &power_on, 1);
  /* Half a frame, then vpcd closes. */
  send_all (f.fd, (const guint8 *) "\x00\x05\x00\xFD", 4);
  close (f.fd);
  f.fd = -1;

  fixture_join (&f);
  g_assert_false (f.served);
  g_assert_error (f.error, TKE_ERROR, TKE_ERROR_READER_GONE);
  fixture_stop (&f);
}

static void
test_nobody_listening (void)
{
  g_autoptr (TkeVcardEngine) card = tke_vcard_engine_new_blank (1, TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (TkeVpcd) vpcd = NULL;
  g_autoptr (GError) error = NULL;
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t addr_len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  /* A port that was free a moment ago and has no listener. */
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &addr_len), ==, 0);
  close (fd);

  vpcd = tke_vpcd_new_for_port (TKE_VIRTUAL_CARD (card), ntohs (addr.sin_port));
  g_assert_false (tke_vpcd_connect (vpcd, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_READER);
  g_assert_nonnull (strstr (error->message, "pcscd"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vpcd/controls-and-apdus", test_controls_and_apdus);
  g_test_add_func ("/vpcd/fail-after-apdus", test_fail_after_apdus);
  g_test_add_func ("/vpcd/vpcd-goes-away", test_vpcd_goes_away);
  g_test_add_func ("/vpcd/nobody-listening", test_nobody_listening);

  return g_test_run ();
}
