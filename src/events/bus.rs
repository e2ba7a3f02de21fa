//! The in-process event bus: per-run channels for event readers, per-organisation
//! channels for run status changes, cancellation signals, key revocations and a wake-up
//! for workers.
//! Events are published only after they are stored, so a reader that replays the log
//! and then follows the bus never sees a gap it cannot fill from the database.

use super::transport::{Message, Transport};
use super::RunEvent;
use entity::{gates, knowledge_documents, runs};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

const RUN_CHANNEL: usize = 256;
const ORG_CHANNEL: usize = 256;

/// What an instance does when it hears that a key was revoked.
pub type RevokeHook = Box<dyn Fn(&str) + Send + Sync>;

type TopicMap<T> = Arc<Mutex<HashMap<String, broadcast::Sender<T>>>>;

/// Topic → sender. A topic lives while someone listens: the last subscription to go
/// removes it (a run's topic would otherwise outlive the run).
struct Topics<T: Clone> {
    map: TopicMap<T>,
    capacity: usize,
}

impl<T: Clone> Topics<T> {
    fn new(capacity: usize) -> Self {
        Self {
            map: Arc::default(),
            capacity,
        }
    }

    fn subscribe(&self, topic: &str) -> Subscription<T> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let rx = map
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        Subscription {
            rx: Some(rx),
            map: self.map.clone(),
            topic: topic.to_owned(),
        }
    }

    fn publish(&self, topic: &str, value: T) {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(topic) {
            let _ = tx.send(value);
        }
    }

    fn has_receivers(&self, topic: &str) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(topic).is_some_and(|tx| tx.receiver_count() > 0)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A subscription to one topic of the bus; dropping the last one removes the topic.
pub struct Subscription<T: Clone> {
    rx: Option<broadcast::Receiver<T>>,
    map: TopicMap<T>,
    topic: String,
}

impl<T: Clone> Subscription<T> {
    /// The next value (see [`broadcast::Receiver::recv`]).
    pub async fn recv(&mut self) -> Result<T, broadcast::error::RecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => Err(broadcast::error::RecvError::Closed),
        }
    }
}

impl<T: Clone + Send + 'static> Subscription<T> {
    /// The values as a stream; a lagging subscriber gets an `Err` and continues.
    pub fn into_stream(
        mut self,
    ) -> impl futures::Stream<Item = Result<T, broadcast::error::RecvError>> + Send {
        async_stream::stream! {
            loop {
                match self.recv().await {
                    Err(broadcast::error::RecvError::Closed) => break,
                    item => yield item,
                }
            }
        }
    }
}

impl<T: Clone> Drop for Subscription<T> {
    fn drop(&mut self) {
        // Under the lock, after this receiver is gone: no subscribe can interleave.
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        drop(self.rx.take());
        if map
            .get(&self.topic)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            map.remove(&self.topic);
        }
    }
}

/// The bus shared by the API and the workers of one instance.
pub struct Bus {
    remote: std::sync::OnceLock<Box<dyn Transport>>,
    runs: Topics<Arc<RunEvent>>,
    orgs: Topics<Arc<runs::Model>>,
    /// Gates opened and resolved, per organisation.
    gates: Topics<Arc<gates::Model>>,
    /// Knowledge documents as their indexing moves, per organisation.
    documents: Topics<Arc<knowledge_documents::Model>>,
    cancels: Mutex<HashMap<String, CancellationToken>>,
    /// Cancels that came before the run's executor registered its token (it may be
    /// about to): kept a while so the executor starts cancelled.
    early_cancels: moka::sync::Cache<String, ()>,
    /// Runs whose log a task of this instance polls for its readers (see
    /// `reader::follow`).
    polled: Mutex<std::collections::HashSet<String>>,
    work: Notify,
    deliveries: Notify,
    indexing: Notify,
    on_revoke: std::sync::OnceLock<RevokeHook>,
}

impl Default for Bus {
    fn default() -> Self {
        Self {
            remote: std::sync::OnceLock::new(),
            runs: Topics::new(RUN_CHANNEL),
            orgs: Topics::new(ORG_CHANNEL),
            gates: Topics::new(ORG_CHANNEL),
            documents: Topics::new(ORG_CHANNEL),
            cancels: Mutex::new(HashMap::new()),
            early_cancels: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
            polled: Mutex::default(),
            work: Notify::new(),
            deliveries: Notify::new(),
            indexing: Notify::new(),
            on_revoke: std::sync::OnceLock::new(),
        }
    }
}

impl Bus {
    /// New events of one run.
    pub fn subscribe_run(&self, run_id: &str) -> Subscription<Arc<RunEvent>> {
        self.runs.subscribe(run_id)
    }

    /// Publishes a stored event (here and, when shared, on every instance).
    pub fn publish_event(&self, event: Arc<RunEvent>) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Event((*event).clone()));
        }
        self.runs.publish(&event.run_id.clone(), event);
    }

    /// Hands an event read back from the log to this instance's readers only.
    pub fn publish_local(&self, event: Arc<RunEvent>) {
        self.runs.publish(&event.run_id.clone(), event);
    }

    /// Registers the poller of a run's log; false if the run already has one.
    pub fn start_polling(&self, run_id: &str) -> bool {
        let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        polled.insert(run_id.to_owned())
    }

    /// Unregisters the poller of a run's log if nobody here follows the run any more (or
    /// `ended`); false means the poller must go on.
    pub fn stop_polling(&self, run_id: &str, ended: bool) -> bool {
        // Under the lock: a reader subscribes before it registers a poller, so either it
        // is counted here or it finds the poller gone and starts its own.
        let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        if ended || !self.runs.has_receivers(run_id) {
            polled.remove(run_id);
            return true;
        }
        false
    }

    /// Carries everything published from now on to the other instances too.
    pub fn set_remote(&self, remote: impl Transport + 'static) {
        let _ = self.remote.set(Box::new(remote));
    }

    /// Whether other instances hear what this one publishes.
    pub fn is_shared(&self) -> bool {
        self.remote.get().is_some()
    }

    /// Delivers another instance's message to this instance's subscribers.
    pub fn deliver(&self, message: Message) {
        match message {
            Message::Event(e) => self.runs.publish(&e.run_id.clone(), Arc::new(e)),
            Message::Run(r) => self.orgs.publish(&r.org_id.clone(), Arc::new(*r)),
            Message::Gate(g) => self.gates.publish(&g.org_id.clone(), Arc::new(*g)),
            Message::Cancel(id) => self.cancel_local(&id),
            Message::Work => self.work.notify_one(),
            Message::Deliveries => self.deliveries.notify_one(),
            Message::Document(d) => self.documents.publish(&d.org_id.clone(), Arc::new(*d)),
            Message::Indexing => self.indexing.notify_one(),
            Message::Revoke(key_id) => self.revoke_local(&key_id),
        }
    }

    /// Sets what this instance does when a key is revoked (here or elsewhere); set once,
    /// at start-up, before anything is delivered.
    pub fn on_key_revoked(&self, hook: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.on_revoke.set(Box::new(hook));
    }

    /// Tells every instance (this one first) that a key was revoked.
    pub fn revoke_key(&self, key_id: &str) {
        self.revoke_local(key_id);
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Revoke(key_id.to_owned()));
        }
    }

    fn revoke_local(&self, key_id: &str) {
        if let Some(hook) = self.on_revoke.get() {
            hook(key_id);
        }
    }

    /// Status changes of an organisation's runs.
    pub fn subscribe_org(&self, org_id: &str) -> Subscription<Arc<runs::Model>> {
        self.orgs.subscribe(org_id)
    }

    /// Publishes a run's new state.
    pub fn publish_run(&self, run: runs::Model) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Run(Box::new(run.clone())));
        }
        self.orgs.publish(&run.org_id.clone(), Arc::new(run));
    }

    /// Gates of an organisation as they open and close.
    pub fn subscribe_gates(&self, org_id: &str) -> Subscription<Arc<gates::Model>> {
        self.gates.subscribe(org_id)
    }

    /// Publishes a gate's new state (once stored), here and on every instance.
    pub fn publish_gate(&self, gate: gates::Model) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Gate(Box::new(gate.clone())));
        }
        self.gates.publish(&gate.org_id.clone(), Arc::new(gate));
    }

    /// Wakes a worker (here or, when shared, anywhere): a run was queued.
    pub fn notify_work(&self) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Work);
        }
        self.work.notify_one();
    }

    /// Waits until a run is queued (or a spurious wake-up).
    pub async fn work_queued(&self) {
        self.work.notified().await
    }

    /// Knowledge documents of an organisation as their indexing moves.
    pub fn subscribe_documents(
        &self,
        org_id: &str,
    ) -> Subscription<Arc<knowledge_documents::Model>> {
        self.documents.subscribe(org_id)
    }

    /// Publishes a document's new state (once stored), here and on every instance.
    pub fn publish_document(&self, doc: knowledge_documents::Model) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Document(Box::new(doc.clone())));
        }
        self.documents.publish(&doc.org_id.clone(), Arc::new(doc));
    }

    /// Wakes an indexing worker (here or, when shared, anywhere): documents were queued.
    pub fn notify_indexing(&self) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Indexing);
        }
        self.indexing.notify_one();
    }

    /// Waits until documents are queued for indexing (or a spurious wake-up).
    pub async fn indexing_queued(&self) {
        self.indexing.notified().await
    }

    /// Wakes a delivery worker (here or, when shared, anywhere): webhook deliveries were
    /// committed due now.
    pub fn notify_deliveries(&self) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Deliveries);
        }
        self.deliveries.notify_one();
    }

    /// Waits until webhook deliveries are due (or a spurious wake-up).
    pub async fn deliveries_queued(&self) {
        self.deliveries.notified().await
    }

    /// The token a run's executor watches; cancelling it stops the run. Already
    /// cancelled if a cancel for the run arrived before.
    pub fn cancel_token(&self, run_id: &str) -> CancellationToken {
        let mut map = self.cancels.lock().unwrap_or_else(|e| e.into_inner());
        let token = map.entry(run_id.to_owned()).or_default().clone();
        if self.early_cancels.remove(run_id).is_some() {
            token.cancel();
        }
        token
    }

    /// Asks the executor of a run, on whichever instance, to stop.
    pub fn cancel(&self, run_id: &str) {
        if let Some(remote) = self.remote.get() {
            remote.send(Message::Cancel(run_id.to_owned()));
        }
        self.cancel_local(run_id);
    }

    fn cancel_local(&self, run_id: &str) {
        // Under the lock: a token registered concurrently either is found here or finds
        // the early cancel.
        let map = self.cancels.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(run_id) {
            Some(token) => token.cancel(),
            None => self.early_cancels.insert(run_id.to_owned(), ()),
        }
    }

    /// Forgets a finished run's cancel token.
    pub fn forget(&self, run_id: &str) {
        self.cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(run_id: &str, seq: i64) -> Arc<RunEvent> {
        Arc::new(RunEvent {
            run_id: run_id.into(),
            org_id: "org_1".into(),
            seq,
            kind: crate::events::EventKind::Token,
            data: serde_json::json!({}),
            created_at: chrono::Utc::now(),
        })
    }

    #[tokio::test]
    async fn a_topic_lives_exactly_as_long_as_its_subscriptions() {
        let bus = Bus::default();
        let mut a = bus.subscribe_run("run_1");
        let b = bus.subscribe_run("run_1");
        assert_eq!(bus.runs.len(), 1);
        drop(b);
        assert_eq!(bus.runs.len(), 1, "a is still listening");
        bus.publish_event(event("run_1", 1));
        assert_eq!(a.recv().await.expect("delivered").seq, 1);
        drop(a);
        assert_eq!(bus.runs.len(), 0, "the last subscription removed the topic");
        // Publishing to a topic nobody listens to creates nothing.
        bus.publish_event(event("run_1", 2));
        assert_eq!(bus.runs.len(), 0);
        let stream = bus.subscribe_run("run_2").into_stream();
        assert_eq!(bus.runs.len(), 1);
        drop(stream);
        assert_eq!(bus.runs.len(), 0, "a dropped stream removes its topic");
    }
}
