//! Group commit: the posts of concurrent `POST /v1/posts` requests share transactions.
//!
//! One transaction per request makes Postgres pay a commit (a WAL flush) and a handful of
//! round trips for every post; under load that, not the checks, is what limits how many
//! posts an instance accepts. So a handler that has checked its post hands it to this
//! instance's writer and waits. The writer takes whatever posts are waiting (up to
//! [`MAX_BATCH`]) and inserts them in one transaction through the store's batch insert
//! (`Posts::insert_posts`), at most [`IN_FLIGHT`] batches at once: while they commit, the
//! next posts gather, so a batch grows with the load and an idle instance adds no wait.
//! After the commit it pushes the jobs of the whole batch to Redis in one call
//! ([`crate::dispatch`]), and only then answers each request with its own outcome.
//!
//! What each request is told is what it would have been told alone:
//!
//! - **Nothing is answered before its commit.** A 202 means the post is in Postgres.
//! - **A batch that fails fails no request that would have succeeded alone.** When the
//!   database refuses the batch (a connection deleted since it was checked, a deadlock
//!   between two batches), it was rolled back whole, and its posts are inserted again one
//!   by one, each answered with its own outcome. When Postgres is unreachable, each would
//!   have failed alone too: every request is answered 503 `unavailable`, and since nothing
//!   was answered 202 nothing answered is lost.
//! - **Idempotency keys hold exactly.** Within a batch a key used twice is inserted once and
//!   the second request answered with the first one's post (or 409 for another body); across
//!   batches the unique index makes the later insert wait for the earlier commit and read it.

use std::collections::BTreeMap;
use std::sync::Arc;

use herald_store::{NewPost, PostInsert, Store, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::dispatch::{self, Dispatcher};
use crate::error::{ApiError, FieldError};

/// Most posts in one transaction.
pub(crate) const MAX_BATCH: usize = 128;
/// Batches committing at once (each holds one pooled connection meanwhile).
pub(crate) const IN_FLIGHT: usize = 4;
/// Posts that may wait for a batch before handlers wait to hand theirs over.
const QUEUE: usize = 4 * MAX_BATCH;

/// A checked post waiting for its commit.
struct Pending {
    post: NewPost,
    /// The request's trace context, for its jobs.
    trace: BTreeMap<String, String>,
    answer: oneshot::Sender<Result<PostInsert, ApiError>>,
}

/// The handle handlers submit posts through. Dropping the last one ends the writer once the
/// posts already handed over are committed and answered.
#[derive(Debug)]
pub(crate) struct PostWriter {
    sender: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl PostWriter {
    /// Starts the writer on the current Tokio runtime.
    pub(crate) fn start(store: Store, dispatcher: Dispatcher) -> PostWriter {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, dispatcher, receiver));
        PostWriter { sender }
    }

    /// Inserts `post` with whatever other posts are waiting, pushes its jobs, and answers
    /// what became of it once it is committed.
    pub(crate) async fn insert(&self, post: NewPost) -> Result<PostInsert, ApiError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            post,
            trace: dispatch::trace_context(),
            answer,
        };
        self.sender
            .send(pending)
            .await
            .map_err(|_| ApiError::Internal("the post writer has stopped".to_owned()))?;
        answered.await.map_err(|_| {
            ApiError::Internal("the post writer dropped a post without an answer".to_owned())
        })?
    }
}

async fn run(store: Store, dispatcher: Dispatcher, mut receiver: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = receiver.recv().await {
        // Wait for a free slot before gathering: posts that arrive meanwhile join this batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let store = store.clone();
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            commit(&store, &dispatcher, batch).await;
            drop(slot);
        });
    }
}

/// Commits one batch (or its posts one by one, see the module docs), dispatches the jobs
/// of the posts it created, and answers every request.
async fn commit(store: &Store, dispatcher: &Dispatcher, batch: Vec<Pending>) {
    let posts: Vec<NewPost> = batch.iter().map(|p| p.post.clone()).collect();
    let answers: Vec<Result<PostInsert, ApiError>> = match store.posts().insert_posts(&posts).await
    {
        Ok(answers) if answers.len() == batch.len() => answers.into_iter().map(Ok).collect(),
        Ok(_) => batch
            .iter()
            .map(|_| {
                Err(ApiError::Internal(
                    "the store answered another number of posts than it was given".to_owned(),
                ))
            })
            .collect(),
        Err(error) if batch.len() == 1 => vec![Err(refusal(&posts[0], error))],
        Err(error) if error.is_unavailable() => {
            let mut first = Some(ApiError::from(error));
            batch
                .iter()
                .map(|_| Err(first.take().unwrap_or_else(unavailable)))
                .collect()
        }
        Err(error) => {
            tracing::info!(%error, posts = batch.len(),
                "a batch of posts was refused; inserting them one by one");
            one_by_one(store, &posts).await
        }
    };
    let jobs: Vec<_> = batch
        .iter()
        .zip(&answers)
        .filter_map(|(pending, answer)| match answer {
            Ok(PostInsert::Created(post)) => Some((pending.trace.clone(), post)),
            _ => None,
        })
        .flat_map(|(trace, post)| {
            post.deliveries
                .iter()
                .map(move |d| (d.id, d.run_at, trace.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    dispatcher.push(&jobs).await;
    for (pending, answer) in batch.into_iter().zip(answers) {
        // A request whose client has gone is not waiting: its post stays committed.
        let _ = pending.answer.send(answer);
    }
}

/// The posts of a refused batch, each in a transaction of its own.
async fn one_by_one(store: &Store, posts: &[NewPost]) -> Vec<Result<PostInsert, ApiError>> {
    let mut answers = Vec::with_capacity(posts.len());
    for post in posts {
        let answer = store
            .posts()
            .insert_posts(std::slice::from_ref(post))
            .await
            .map_err(|error| refusal(post, error))
            .and_then(|mut a| {
                a.pop()
                    .ok_or_else(|| ApiError::Internal("the store answered no post".to_owned()))
            });
        answers.push(answer);
    }
    answers
}

/// What a request is told when the store refused its post. A target connection deleted
/// after the check read it (from the connection cache) is the 422 the check gives an
/// unknown connection, on that target.
fn refusal(post: &NewPost, error: StoreError) -> ApiError {
    let StoreError::ForeignConnection { connection_id, .. } = error else {
        return ApiError::from(error);
    };
    // Every target of a checked post became a delivery, in order.
    let index = post
        .deliveries
        .iter()
        .position(|d| d.connection_id == connection_id);
    let field = index.map_or_else(|| "targets".to_owned(), |i| format!("targets[{i}]"));
    ApiError::invalid(vec![FieldError {
        target: index,
        connection_id: Some(connection_id.to_string()),
        ..FieldError::new(
            field,
            "connection.unknown",
            format!("no connection {connection_id}"),
        )
    }])
}

/// What each further request of a batch is told while Postgres is unreachable (the first
/// gets the store's own error, logged once).
fn unavailable() -> ApiError {
    ApiError::Unavailable {
        detail: "the database is unavailable right now; try again shortly".to_owned(),
    }
}
