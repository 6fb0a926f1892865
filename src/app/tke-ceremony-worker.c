/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony worker: one thread, its own reader context, a queue of jobs. Operations come from
 * the window's actions; the worker's prompts reach the main thread through the prompter's
 * signals, and each job's end through its GTask, whose callback runs on the main thread. */
#include "config.h"

#include "tke-ceremony-worker.h"
#include "tke-error.h"

typedef enum
{
  JOB_RUN,
  JOB_RETRY,
  JOB_READ_CARD,
  JOB_QUIT,
} JobKind;

typedef struct
{
  JobKind kind;
  GTask *task;
  TkeCeremonyOp op;
  json_t *params;
  GPtrArray *units;
  char *reader_names[2];
  TkeCeremonyResult *previous;
} Job;

struct _TkeCeremonyWorker
{
  GObject parent_instance;

  TkeReaderManager *readers;
  TkePrompter *prompter;
  TkeJournal *journal;
  GAsyncQueue *jobs;
  GThread *thread;
  guint busy; /* jobs queued or running; main thread only */
};

G_DEFINE_FINAL_TYPE (TkeCeremonyWorker, tke_ceremony_worker, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  json_decref (job->params);
  g_clear_pointer (&job->units, g_ptr_array_unref);
  g_free (job->reader_names[0]);
  g_free (job->reader_names[1]);
  g_free (job);
}

/* The previous result is only read by the worker; a deep copy keeps ownership simple. */
static TkeCeremonyResult *
result_copy_for_retry (const TkeCeremonyResult *previous)
{
  TkeCeremonyResult *copy = g_new0 (TkeCeremonyResult, 1);

  copy->op = previous->op;
  copy->summary = g_strdup (previous->summary);
  copy->params = json_deep_copy (previous->params);
  copy->differences = g_ptr_array_new_with_free_func (g_free);
  copy->outcomes = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_outcome_free);
  for (guint i = 0; i < previous->outcomes->len; i++)
    {
      TkeUnitOutcome *from = previous->outcomes->pdata[i];
      TkeUnitOutcome *to = g_new0 (TkeUnitOutcome, 1);

      to->num = from->num;
      to->id = g_strdup (from->id);
      to->accepted = from->accepted;
      to->code = g_strdup (from->code);
      to->message = g_strdup (from->message);
      g_ptr_array_add (copy->outcomes, to);
    }
  return copy;
}

static void
run_job (TkeCeremonyWorker *self, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (job->task);
  g_autoptr (GError) error = NULL;

  if (job->kind == JOB_READ_CARD)
    {
      g_autoptr (TkeCardConnection) connection = NULL;
      g_autoptr (TkePivClient) piv = NULL;
      TkeCardInfo *info;

      connection = tke_reader_manager_connect (self->readers, job->reader_names[0], &error);
      if (connection == NULL)
        {
          g_task_return_error (job->task, g_steal_pointer (&error));
          return;
        }
      piv = tke_piv_client_new (connection);
      info = tke_card_profile_read_info (piv, &error);
      tke_card_connection_disconnect (connection, FALSE);
      if (info == NULL)
        g_task_return_error (job->task, g_steal_pointer (&error));
      else
        g_task_return_pointer (job->task, info, (GDestroyNotify) tke_card_info_free);
      return;
    }

  {
    g_autoptr (TkeCeremony) ceremony =
        tke_ceremony_new (self->readers, self->prompter, self->journal);
    TkeCeremonyResult *result;

    tke_ceremony_set_units (ceremony, job->units);
    tke_ceremony_set_reader_names (ceremony, job->reader_names[0], job->reader_names[1]);
    if (job->kind == JOB_RETRY)
      result = tke_ceremony_retry_failed (ceremony, job->previous, cancellable, &error);
    else
      result = tke_ceremony_run (ceremony, job->op, job->params, cancellable, &error);

    if (job->previous != NULL)
      g_clear_pointer (&job->previous, tke_ceremony_result_free);
    if (result == NULL)
      g_task_return_error (job->task, g_steal_pointer (&error));
    else
      g_task_return_pointer (job->task, result, (GDestroyNotify) tke_ceremony_result_free);
  }
}

static gpointer
worker_thread (gpointer data)
{
  TkeCeremonyWorker *self = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (self->jobs);

      if (job->kind == JOB_QUIT)
        {
          job_free (job);
          break;
        }
      run_job (self, job);
      job_free (job);
    }
  return NULL;
}

typedef struct
{
  GAsyncReadyCallback callback;
  gpointer user_data;
  gboolean ceremony; /* counts as busy; reading a card does not */
} Caller;

/* Every job's task ends here, on the main thread: the worker is free again, then the caller
 * hears of it. */
static void
job_task_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TkeCeremonyWorker *self = TKE_CEREMONY_WORKER (source);
  Caller *caller = data;

  if (caller->ceremony)
    {
      self->busy--;
      if (self->busy == 0)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  if (caller->callback != NULL)
    caller->callback (source, result, caller->user_data);
  g_free (caller);
}

static void
submit (TkeCeremonyWorker *self, Job *job)
{
  if (job->kind != JOB_READ_CARD)
    {
      self->busy++;
      if (self->busy == 1)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  g_async_queue_push (self->jobs, job);
}

static Job *
job_new (TkeCeremonyWorker *self, JobKind kind, GPtrArray *units, const char *reader1,
         const char *reader2, GCancellable *cancellable, GAsyncReadyCallback callback,
         gpointer user_data, gpointer source_tag)
{
  Job *job = g_new0 (Job, 1);
  Caller *caller = g_new0 (Caller, 1);

  caller->callback = callback;
  caller->user_data = user_data;
  caller->ceremony = kind != JOB_READ_CARD;
  job->kind = kind;
  job->task = g_task_new (self, cancellable, job_task_done, caller);
  g_task_set_source_tag (job->task, source_tag);
  job->reader_names[0] = g_strdup (reader1);
  job->reader_names[1] = g_strdup (reader2);
  job->units = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_ceremony_unit_free);
  for (guint i = 0; units != NULL && i < units->len; i++)
    g_ptr_array_add (job->units, tke_ceremony_unit_copy (units->pdata[i]));
  return job;
}

void
tke_ceremony_worker_run_async (TkeCeremonyWorker *self, TkeCeremonyOp op, json_t *params,
                               GPtrArray *units, const char *reader1, const char *reader2,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  Job *job;

  g_return_if_fail (TKE_IS_CEREMONY_WORKER (self));

  job = job_new (self, JOB_RUN, units, reader1, reader2, cancellable, callback, user_data,
                 tke_ceremony_worker_run_async);
  job->op = op;
  job->params = params != NULL ? json_deep_copy (params) : NULL;
  submit (self, job);
}

void
tke_ceremony_worker_retry_async (TkeCeremonyWorker *self, const TkeCeremonyResult *previous,
                                 GPtrArray *units, const char *reader1, const char *reader2,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  Job *job;

  g_return_if_fail (TKE_IS_CEREMONY_WORKER (self));
  g_return_if_fail (previous != NULL);

  job = job_new (self, JOB_RETRY, units, reader1, reader2, cancellable, callback, user_data,
                 tke_ceremony_worker_run_async);
  job->op = previous->op;
  job->previous = result_copy_for_retry (previous);
  submit (self, job);
}

TkeCeremonyResult *
tke_ceremony_worker_run_finish (TkeCeremonyWorker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tke_ceremony_worker_run_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tke_ceremony_worker_read_card_async (TkeCeremonyWorker *self, const char *reader,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_return_if_fail (TKE_IS_CEREMONY_WORKER (self));
  g_return_if_fail (reader != NULL);

  submit (self, job_new (self, JOB_READ_CARD, NULL, reader, NULL, cancellable, callback, user_data,
                         tke_ceremony_worker_read_card_async));
}

TkeCardInfo *
tke_ceremony_worker_read_card_finish (TkeCeremonyWorker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
tke_ceremony_worker_get_busy (TkeCeremonyWorker *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_WORKER (self), FALSE);
  return self->busy > 0;
}

TkeReaderManager *
tke_ceremony_worker_get_readers (TkeCeremonyWorker *self)
{
  g_return_val_if_fail (TKE_IS_CEREMONY_WORKER (self), NULL);
  return self->readers;
}

static void
tke_ceremony_worker_dispose (GObject *object)
{
  TkeCeremonyWorker *self = TKE_CEREMONY_WORKER (object);

  if (self->thread != NULL)
    {
      Job *quit = g_new0 (Job, 1);

      /* Jobs already queued finish first; a job waiting on the operator was cancelled by the
       * window before it let go of the worker. */
      quit->kind = JOB_QUIT;
      g_async_queue_push (self->jobs, quit);
      g_thread_join (self->thread);
      self->thread = NULL;
    }
  g_clear_object (&self->readers);
  g_clear_object (&self->prompter);
  g_clear_object (&self->journal);

  G_OBJECT_CLASS (tke_ceremony_worker_parent_class)->dispose (object);
}

static void
tke_ceremony_worker_finalize (GObject *object)
{
  TkeCeremonyWorker *self = TKE_CEREMONY_WORKER (object);

  g_async_queue_unref (self->jobs);

  G_OBJECT_CLASS (tke_ceremony_worker_parent_class)->finalize (object);
}

static void
tke_ceremony_worker_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeCeremonyWorker *self = TKE_CEREMONY_WORKER (object);

  switch (prop_id)
    {
      case PROP_BUSY:
        g_value_set_boolean (value, self->busy > 0);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_ceremony_worker_class_init (TkeCeremonyWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tke_ceremony_worker_dispose;
  object_class->finalize = tke_ceremony_worker_finalize;
  object_class->get_property = tke_ceremony_worker_get_property;

  properties[PROP_BUSY] =
      g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tke_ceremony_worker_init (TkeCeremonyWorker *self)
{
  self->jobs = g_async_queue_new ();
}

TkeCeremonyWorker *
tke_ceremony_worker_new (TkeReaderManager *readers, TkePrompter *prompter, TkeJournal *journal)
{
  TkeCeremonyWorker *self;

  g_return_val_if_fail (TKE_IS_READER_MANAGER (readers), NULL);
  g_return_val_if_fail (TKE_IS_PROMPTER (prompter), NULL);

  self = g_object_new (TKE_TYPE_CEREMONY_WORKER, NULL);
  self->readers = g_object_ref (readers);
  self->prompter = g_object_ref (prompter);
  self->journal = journal != NULL ? g_object_ref (journal) : NULL;
  self->thread = g_thread_new ("tke-ceremony-worker", worker_thread, self);
  return self;
}
