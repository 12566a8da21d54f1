//! The connection, kept up: when it breaks, a supervisor task reconnects with a growing
//! wait, declares the recorded topology again, and only then announces the new link, so
//! consumers come back to queues that exist.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use lapin::options::{
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::watch;

use super::config::{Declaration, ExchangeKind, QueueSpec, RabbitConfig};
use super::convert::field_table;
use crate::messaging::MessagingError;

/// One live connection and the channel publishes go through.
pub struct Link {
    pub connection: Connection,
    publisher: tokio::sync::Mutex<Channel>,
}

impl Link {
    /// The publishing channel, opened again if the broker closed it (a publish to a
    /// missing exchange closes its channel, not the connection).
    pub async fn publisher(&self) -> Result<Channel, MessagingError> {
        let mut channel = self.publisher.lock().await;
        if !channel.status().connected() {
            *channel = publishing_channel(&self.connection).await?;
        }
        Ok(channel.clone())
    }
}

/// A connection's events (errors, closing), which wake the supervisor.
pub type Events = BoxStream<'static, lapin::Event>;

/// What the broker's tasks see of the connection.
#[derive(Clone)]
pub enum State {
    /// connected
    Up(Arc<Link>),
    /// lost, reconnecting
    Reconnecting,
    /// closed by `close`
    Closed,
}

/// The state shared by the broker, its supervisor and its consumers.
pub struct Shared {
    pub config: RabbitConfig,
    uri: AMQPUri,
    pub state: watch::Sender<State>,
    topology: Mutex<Vec<Declaration>>,
}

impl Shared {
    pub fn new(config: RabbitConfig) -> Result<Self, MessagingError> {
        let mut uri: AMQPUri = config.url.parse().map_err(|reason| {
            MessagingError::Config(format!(
                "RabbitMQ url {:?} is not an AMQP URL ({reason}); use amqp://user:password@host:5672/vhost",
                redact(&config.url)
            ))
        })?;
        if !has_vhost(&config.url) {
            uri.vhost.clone_from(&config.vhost);
        }
        if uri.query.heartbeat.is_none() {
            uri.query.heartbeat = Some(config.heartbeat);
        }
        let (state, _) = watch::channel(State::Reconnecting);
        Ok(Self {
            config,
            uri,
            state,
            topology: Mutex::new(Vec::new()),
        })
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.uri.authority.host, self.uri.authority.port)
    }

    /// Opens a connection and its publishing channel, within the connection timeout.
    pub async fn open(&self) -> Result<(Arc<Link>, Events), MessagingError> {
        let fail = |reason: String| MessagingError::Connect {
            address: self.address(),
            reason,
        };
        let mut properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current());
        if let Some(name) = &self.config.connection_name {
            properties = properties.with_connection_name(LongString::from(name.as_str()));
        }
        let connect = Connection::connect_uri(self.uri.clone(), properties);
        let connection = tokio::time::timeout(self.config.connection_timeout, connect)
            .await
            .map_err(|_| {
                fail(format!(
                    "no answer within {:?} (connection_timeout)",
                    self.config.connection_timeout
                ))
            })?
            .map_err(|error| fail(error.to_string()))?;
        let events = connection.events_listener().boxed();
        let publisher = publishing_channel(&connection).await?;
        let link = Arc::new(Link {
            connection,
            publisher: tokio::sync::Mutex::new(publisher),
        });
        Ok((link, events))
    }

    /// Declares `declaration` on the live connection and records it for reconnections.
    pub async fn declare(
        &self,
        link: &Link,
        declaration: Declaration,
    ) -> Result<(), MessagingError> {
        let channel = link
            .connection
            .create_channel()
            .await
            .map_err(|error| MessagingError::broker("opening a channel", error))?;
        let result = apply(&channel, &declaration).await;
        channel.close(200, "declared").await.ok();
        result?;
        let mut topology = self
            .topology
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !topology.contains(&declaration) {
            topology.push(declaration);
        }
        Ok(())
    }

    async fn replay(&self, link: &Link) -> Result<(), MessagingError> {
        let declarations = self
            .topology
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let channel = link
            .connection
            .create_channel()
            .await
            .map_err(|error| MessagingError::broker("opening a channel", error))?;
        for declaration in &declarations {
            apply(&channel, declaration).await?;
        }
        channel.close(200, "declared").await.ok();
        Ok(())
    }

    /// The live link, waiting for a reconnection; None once closed.
    pub async fn link(&self) -> Option<Arc<Link>> {
        let mut receiver = self.state.subscribe();
        let state = receiver
            .wait_for(|state| !matches!(state, State::Reconnecting))
            .await
            .ok()?
            .clone();
        match state {
            State::Up(link) => Some(link),
            _ => None,
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(*self.state.borrow(), State::Closed)
    }
}

/// Watches the link and replaces it when it breaks, until the broker is closed.
pub async fn supervise(shared: Arc<Shared>, mut link: Arc<Link>, mut events: Events) {
    loop {
        // The connection's events are the prompt signal; the status check every second
        // covers a connection that died without one.
        while link.connection.status().connected() {
            tokio::select! {
                _ = events.next() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if shared.is_closed() {
                return;
            }
        }
        if shared.is_closed() {
            return;
        }
        shared.state.send_if_modified(|state| match state {
            State::Closed => false,
            _ => {
                *state = State::Reconnecting;
                true
            }
        });
        tracing::warn!(
            "RabbitMQ connection to {} lost; reconnecting",
            shared.address()
        );
        let mut delay = shared.config.reconnect_delay;
        loop {
            if shared.is_closed() {
                return;
            }
            match reconnect(&shared).await {
                Ok((new_link, new_events)) => {
                    link = new_link;
                    events = new_events;
                    break;
                }
                Err(error) => tracing::warn!("RabbitMQ reconnection failed: {error}"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(shared.config.max_reconnect_delay);
        }
        let announced = shared.state.send_if_modified(|state| match state {
            State::Closed => false,
            _ => {
                *state = State::Up(Arc::clone(&link));
                true
            }
        });
        if !announced {
            link.connection.close(200, "closed").await.ok();
            return;
        }
        tracing::info!("RabbitMQ connection to {} restored", shared.address());
    }
}

async fn reconnect(shared: &Shared) -> Result<(Arc<Link>, Events), MessagingError> {
    let (link, events) = shared.open().await?;
    if let Err(error) = shared.replay(&link).await {
        link.connection.close(200, "replay failed").await.ok();
        return Err(error);
    }
    Ok((link, events))
}

async fn publishing_channel(connection: &Connection) -> Result<Channel, MessagingError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|error| MessagingError::broker("opening the publishing channel", error))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|error| MessagingError::broker("enabling publisher confirms", error))?;
    Ok(channel)
}

async fn apply(channel: &Channel, declaration: &Declaration) -> Result<(), MessagingError> {
    match declaration {
        Declaration::Exchange(exchange) => {
            let kind = match exchange.kind {
                ExchangeKind::Direct => lapin::ExchangeKind::Direct,
                ExchangeKind::Fanout => lapin::ExchangeKind::Fanout,
                ExchangeKind::Topic => lapin::ExchangeKind::Topic,
                ExchangeKind::Headers => lapin::ExchangeKind::Headers,
            };
            let options = ExchangeDeclareOptions {
                durable: exchange.durable,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(&exchange.name, kind, options, FieldTable::default())
                .await
                .map_err(|error| {
                    MessagingError::broker(format!("declaring exchange {:?}", exchange.name), error)
                })
        }
        Declaration::Queue(queue) => declare_queue(channel, queue).await,
        Declaration::Binding(binding) => channel
            .queue_bind(
                &binding.queue,
                &binding.exchange,
                &binding.routing_key,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|error| {
                MessagingError::broker(
                    format!(
                        "binding queue {:?} to exchange {:?} with {:?}",
                        binding.queue, binding.exchange, binding.routing_key
                    ),
                    error,
                )
            }),
    }
}

async fn declare_queue(channel: &Channel, queue: &QueueSpec) -> Result<(), MessagingError> {
    let mut arguments = field_table(&queue.arguments);
    if let Some(dead_letter) = &queue.dead_letter_queue {
        declare_plain_queue(
            channel,
            &QueueSpec::durable(dead_letter.as_str()),
            FieldTable::default(),
        )
        .await?;
        // The default exchange routes by queue name: no dead-letter exchange to declare.
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(dead_letter.as_str().into()),
        );
    }
    declare_plain_queue(channel, queue, arguments).await
}

async fn declare_plain_queue(
    channel: &Channel,
    queue: &QueueSpec,
    arguments: FieldTable,
) -> Result<(), MessagingError> {
    let options = QueueDeclareOptions {
        durable: queue.durable,
        auto_delete: queue.auto_delete,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(&queue.name, options, arguments)
        .await
        .map(|_| ())
        .map_err(|error| {
            MessagingError::broker(
                format!(
                    "declaring queue {:?} (a queue that exists already must be declared with the same durability, dead letter and arguments)",
                    queue.name
                ),
                error,
            )
        })
}

/// Whether the URL names a vhost (a path after the authority).
fn has_vhost(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    path.split_once('/')
        .is_some_and(|(_, vhost)| !vhost.is_empty())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhost_in_url() {
        assert!(!has_vhost("amqp://localhost"));
        assert!(!has_vhost("amqp://localhost/"));
        assert!(!has_vhost("amqp://guest:guest@localhost:5672?heartbeat=5"));
        assert!(has_vhost("amqp://localhost/%2f"));
        assert!(has_vhost("amqp://localhost:5672/orders?heartbeat=5"));
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("amqp://guest:secret@host/"),
            "amqp://guest:***@host/"
        );
        assert_eq!(redact("amqp://host/"), "amqp://host/");
    }
}
