//! Carrying the bus between instances over Redis pub/sub (when `REDIS_URL` is set).
//! Every instance publishes what it publishes locally to one channel and delivers what
//! other instances publish to its local subscribers, so a client streaming from
//! instance B sees a run executed on instance A. Readers also re-read the log now and
//! then, so a lost message delays an event but never drops it.

use super::bus::Bus;
use super::transport::{Message, Transport};
use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The one channel all instances share.
const CHANNEL: &str = "orchstack:bus";

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The sending instance (it has delivered locally already).
    from: String,
    #[serde(flatten)]
    message: Message,
}

/// The publishing side: the bus's [`Transport`] over Redis.
pub struct Remote {
    conn: ConnectionManager,
    instance: String,
}

impl Transport for Remote {
    /// Publishes to the other instances, off the caller's path.
    fn send(&self, message: Message) {
        let payload = match serde_json::to_string(&Envelope {
            from: self.instance.clone(),
            message,
        }) {
            Ok(p) => p,
            Err(err) => return tracing::error!(error = %err, "could not encode a bus message"),
        };
        let mut conn = self.conn.clone();
        tokio::spawn(async move {
            let res: redis::RedisResult<()> = redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async(&mut conn)
                .await;
            if let Err(err) = res {
                tracing::warn!(error = %err, "could not publish to Redis; other instances will catch up from the log");
            }
        });
    }
}

/// Connects the bus to Redis: publishing from now on, and a listener task delivering
/// other instances' messages (reconnecting with a pause if the connection drops).
pub async fn connect(url: &str, instance: &str, bus: &Arc<Bus>) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let conn = client.get_connection_manager().await?;
    // Subscribe before publishing anything, so nothing sent after start-up is missed.
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    bus.set_remote(Remote {
        conn,
        instance: instance.to_owned(),
    });
    let (weak, instance) = (Arc::downgrade(bus), instance.to_owned());
    tokio::spawn(async move {
        let mut pubsub = Some(pubsub);
        loop {
            if let Some(ps) = pubsub.take() {
                listen(ps, &weak, &instance).await;
            }
            if weak.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            match client.get_async_pubsub().await {
                Ok(mut ps) => match ps.subscribe(CHANNEL).await {
                    Ok(()) => pubsub = Some(ps),
                    Err(err) => tracing::warn!(error = %err, "Redis subscribe failed; retrying"),
                },
                Err(err) => tracing::warn!(error = %err, "Redis pub/sub unavailable; retrying"),
            }
        }
    });
    Ok(())
}

async fn listen(pubsub: redis::aio::PubSub, bus: &Weak<Bus>, instance: &str) {
    let mut messages = pubsub.into_on_message();
    while let Some(msg) = messages.next().await {
        let Some(bus) = bus.upgrade() else { return };
        let Ok(payload) = msg.get_payload::<String>() else {
            continue;
        };
        match serde_json::from_str::<Envelope>(&payload) {
            Ok(env) if env.from == instance => {}
            Ok(env) => bus.deliver(env.message),
            Err(err) => tracing::warn!(error = %err, "ignoring an unreadable bus message"),
        }
    }
    tracing::warn!("Redis pub/sub connection closed");
}
