//! One room: an actor task that alone owns the room's members and its next
//! message id, so no lock guards them and none is held across an await.
//!
//! A message's path, in both modes: `Post` queues the draft with the
//! store, which gives it the room's next id in the transaction that stores
//! it; once committed (commits complete in order) the message is broadcast
//! (`Room::on_written`, the one place that applies the ordering rules:
//! what was committed is sent before anything that follows it). So nothing
//! is shown that could be lost, and every member sees one room's messages
//! in id order.
//!
//! A `send` with a nonce that the room has seen from the same author within
//! [`DEDUP_WINDOW`] is not stored again (see [`nonces`]): the original's
//! broadcast answers it, or, for a member that joined after that broadcast,
//! the original `message` read back; so a client that resends what it did
//! not see confirmed gets exactly-once delivery.
//!
//! A join's path: the member is added at once but is *loading*: its history is read from the store while messages
//! broadcast meanwhile are kept in its backlog. When the history arrives the
//! member gets `joined` and then its backlog, and is *live*. The history
//! ends at the last broadcast id of the moment of joining and the backlog
//! starts after it, so the member misses nothing and sees nothing twice.
//!
//! In cluster mode the room runs on every instance with members of it
//! (`cluster`, `cluster_link`): a join is first registered in the
//! broker; a post is stored in the database all instances share, which
//! assigns the id and tells repeated nonces from every instance, then
//! published; the room broadcasts its own and what the bus brings from
//! other instances in id order, reading from the database what it missed.

mod cluster;
mod cluster_link;
mod handle;
pub mod nonces;
pub mod pacing;
mod posting;
pub mod recent;
mod rules;

pub use cluster_link::{CATCH_UP_BATCH, LINK_RETRY_DELAY};
pub(super) use handle::{Command, JoinCommand, ModerateCommand, PostCommand};
pub use handle::{RoomGone, RoomHandle};
pub use nonces::{DEDUP_MAX_NONCES, DEDUP_WINDOW};
pub use rules::{JoinGrant, Moderation};

use super::client::{ClientHandle, ClientId};
use super::members::{encode, Audience, Members};
use super::{lock_registry, Registry, RoomEntry, TRACER};
use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::store::{HistoryPage, HistoryQuery, MessageStore, Posted, StoreError, StoreFuture};
use crate::websocket::OutgoingFrame;
use cluster_link::{ClusterLink, LinkEvent};
use common::api::{JOIN_HISTORY_LIMIT, SINCE_HISTORY_LIMIT};
use common::{
    ChatMessage, DisplayName, ErrorCode, MessageId, Nonce, Person, RequestError, RoomName,
    ServerFrame, UserId,
};
use futures_util::stream::{FuturesOrdered, FuturesUnordered, StreamExt};
use nonces::{NonceKey, RecentNonces, Seen};
use pacing::BroadcastPacer;
use recent::{RecentMessages, RECENT_MESSAGES};
use rules::PostRules;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// Commands a room's inbox holds before senders wait. Senders are the
/// connections of the room's members, so a busy room slows down only those
/// who post to it.
pub const ROOM_INBOX: usize = 256;

/// Members from which a room gathers presence changes for a while before
/// sending them; a smaller room tells its members at once.
pub const PRESENCE_GATHER_FROM_MEMBERS: usize = 1_000;

/// How long a large room gathers presence changes, per started thousand
/// members: a room of 19,000 during a join storm sends each member one
/// frame a second rather than one per join (which made joins O(members²)).
pub const PRESENCE_DELAY_PER_THOUSAND: Duration = Duration::from_millis(50);

/// The longest a presence change waits, however large the room.
pub const PRESENCE_MAX_DELAY: Duration = Duration::from_secs(1);

/// How long a room of `members` gathers presence changes.
fn presence_delay(members: usize) -> Duration {
    if members < PRESENCE_GATHER_FROM_MEMBERS {
        return Duration::ZERO;
    }
    let thousands = u32::try_from(members.div_ceil(1_000)).unwrap_or(u32::MAX);
    PRESENCE_DELAY_PER_THOUSAND
        .saturating_mul(thousands)
        .min(PRESENCE_MAX_DELAY)
}

/// Messages of one room that may be waiting for their commit at once. Past
/// this the room stops taking commands until commits catch up, which pushes
/// back on the posters instead of growing memory. Four write batches keep
/// the database busy; more would only lengthen the queue that members'
/// outgoing queues must absorb once it commits.
pub const MAX_PENDING_WRITES: usize = 1_024;

/// A message on its way to the database.
struct Written {
    author: ClientId,
    nonce: Option<Nonce>,
    /// The nonce as the room remembers it (`None` without a nonce).
    nonce_key: Option<NonceKey>,
    started: Instant,
    result: Result<Posted, StoreError>,
    /// Where to answer a post from outside any connection.
    reply: Option<oneshot::Sender<Result<Posted, RequestError>>>,
}

type PendingWrite = Pin<Box<dyn Future<Output = Written> + Send>>;
type PendingHistory =
    Pin<Box<dyn Future<Output = (ClientId, Result<HistoryPage, StoreError>)> + Send>>;

/// The state a room's task owns.
pub(super) struct Room {
    name: RoomName,
    store: Arc<dyn MessageStore>,
    /// The broker, in cluster mode.
    cluster: Option<Cluster>,
    /// The room's subscription, once running in cluster mode.
    link: Option<ClusterLink>,
    registry: Registry,
    /// Identifies this room's entry in the registry (the entry holds the
    /// same counter).
    member_count: Arc<AtomicUsize>,
    members: Members,
    /// The newest message id the room knows of: the last stored, or in
    /// cluster mode brought by the bus (in order).
    last_known: MessageId,
    last_broadcast: MessageId,
    pending_writes: FuturesOrdered<PendingWrite>,
    pending_history: FuturesUnordered<PendingHistory>,
    /// Reads of stored messages that a member sent again, to answer it.
    pending_repeats: FuturesUnordered<PendingHistory>,
    nonces: RecentNonces,
    /// The newest messages, to answer most joins without the store.
    recent: RecentMessages,
    /// Committed messages not sent to the members yet (a busy room sends
    /// them in batches, see [`pacing`]).
    held: Vec<ChatMessage>,
    pacer: BroadcastPacer,
    /// Whether the room is archived, and who is muted.
    rules: PostRules,
    metrics: Metrics,
}

impl Room {
    /// Creates a room and the handle to reach it; [`Room::run`] must then be spawned.
    pub(super) fn new(
        name: RoomName,
        store: Arc<dyn MessageStore>,
        cluster: Option<Cluster>,
        registry: Registry,
        metrics: Metrics,
    ) -> (Self, RoomHandle, mpsc::Receiver<Command>, Arc<AtomicUsize>) {
        let (commands, inbox) = mpsc::channel(ROOM_INBOX);
        let member_count = Arc::new(AtomicUsize::new(0));
        let room = Self {
            members: Members::new(name.clone(), Arc::clone(&member_count), cluster.is_some()),
            name,
            store,
            cluster,
            link: None,
            registry,
            member_count: Arc::clone(&member_count),
            last_known: 0,
            last_broadcast: 0,
            pending_writes: FuturesOrdered::new(),
            pending_history: FuturesUnordered::new(),
            pending_repeats: FuturesUnordered::new(),
            nonces: RecentNonces::default(),
            recent: RecentMessages::default(),
            held: Vec::new(),
            pacer: BroadcastPacer::default(),
            rules: PostRules::default(),
            metrics,
        };
        (room, RoomHandle { commands }, inbox, member_count)
    }

    /// Runs the room until it is empty and idle, then retires it.
    ///
    /// A plain function returning the future, which uses the room in place:
    /// as an `async fn` the future would keep a second copy of the room.
    #[allow(clippy::manual_async_fn)]
    pub(super) fn run(
        mut self,
        mut inbox: mpsc::Receiver<Command>,
    ) -> impl Future<Output = ()> + Send {
        async move {
            // In cluster mode the subscription comes first: whatever is
            // published from then on arrives, and what came before is read.
            if let Some(cluster) = &self.cluster {
                let store = Arc::clone(&self.store);
                match ClusterLink::subscribe(cluster, store, &self.name).await {
                    Ok(link) => self.link = Some(link),
                    Err(err) => {
                        tracing::error!(room = %self.name, error = %err, "cannot subscribe to the room");
                        self.retire(&mut inbox);
                        return;
                    }
                }
            }
            if let Err(err) = self.load().await {
                tracing::error!(room = %self.name, error = %err, "cannot read the room's state");
                self.retire(&mut inbox);
                return;
            }
            // When the presence changes gathered so far are to be sent.
            let mut presence_due: Option<tokio::time::Instant> = None;
            loop {
                tokio::select! {
                    // Finished work first: it frees capacity and delivers messages.
                    biased;
                    Some(written) = self.pending_writes.next() => self.on_written(written),
                    Some((client, result)) = self.pending_history.next() => {
                        self.send_held();
                        self.on_history(client, result);
                    }
                    Some((client, result)) = self.pending_repeats.next() => {
                        self.send_held();
                        self.on_repeat_read(client, result);
                    }
                    event = next_link_event(&mut self.link) => match event {
                        LinkEvent::Bus(event) => self.on_room_event(event),
                        LinkEvent::Read(read) => self.on_caught_up(read),
                        LinkEvent::Claimed(join, claimed) => self.on_claimed(*join, claimed),
                        LinkEvent::Resynced(result, noted) => self.on_resynced(result, noted),
                        LinkEvent::Retry(retry) => self.on_retry(retry),
                    },
                    () = sleep_until_due(self.pacer.due()), if self.pacer.due().is_some() => {
                        self.send_held();
                    }
                    () = sleep_until_due(presence_due), if presence_due.is_some() => {
                        self.send_held();
                        self.members.flush_presence();
                        presence_due = None;
                    }
                    command = inbox.recv(), if self.pending_writes.len() < MAX_PENDING_WRITES => {
                        match command {
                            Some(command) => self.handle(command),
                            None => break,
                        }
                    }
                }
                // In cluster mode members who left are released.
                if let Some(link) = &self.link {
                    for departure in self.members.take_departures() {
                        link.release(&self.name, departure.client, &departure.person);
                    }
                }
                // In a large room presence changes are gathered for a while and
                // sent together: one frame per member for a burst of joins.
                if self.members.presence_changed() && presence_due.is_none() {
                    let delay = presence_delay(self.members.len());
                    if delay.is_zero() {
                        self.send_held();
                        self.members.flush_presence();
                    } else {
                        presence_due = Some(tokio::time::Instant::now() + delay);
                    }
                }
                if self.is_idle() && self.try_retire(&mut inbox) {
                    return;
                }
            }
        }
    }

    /// Reads what the room continues from: its last id, and the nonces of
    /// its recent messages (so a resend after a restart is recognised).
    async fn load(&mut self) -> Result<(), StoreError> {
        let last = self.store.last_id(&self.name).await?;
        self.last_known = last;
        self.last_broadcast = last;
        let newest = HistoryQuery {
            after: None,
            before: None,
            limit: RECENT_MESSAGES,
        };
        let page = self.store.history(&self.name, newest).await?;
        // In cluster mode messages may be posted between the two reads:
        // the room continues from the newest it has.
        if let Some(newest) = page.messages.last() {
            self.last_known = self.last_known.max(newest.id);
            self.last_broadcast = self.last_known;
        }
        if let Some(link) = &mut self.link {
            link.start_after(self.last_known);
            // Subscribed first, so presence changes from now on arrive too.
            let remote = link.remote_members(&self.name).await?;
            self.members.replace_remote(remote);
        }
        self.recent = RecentMessages::new(page.messages, page.has_older);
        let since = unix_millis().saturating_sub(nonces::window_ms());
        let mut recent = self
            .store
            .recent_nonces(&self.name, since, DEDUP_MAX_NONCES)
            .await?;
        // Oldest first, as if accepted now.
        recent.reverse();
        for record in recent {
            let key = (author_key(record.user_id, &record.name), record.nonce);
            self.nonces.insert(key, Seen::Stored(record.id), record.ts);
        }
        Ok(())
    }

    fn handle(&mut self, command: Command) {
        // What a join, leave or typing notice sends or changes comes after
        // the messages committed before it. (A post sends nothing yet.)
        if !matches!(command, Command::Post(_) | Command::PostAs(_)) {
            self.send_held();
        }
        match command {
            Command::Join(join) => self.join(join),
            Command::Post(post) => {
                let PostCommand {
                    client,
                    text,
                    nonce,
                    mentions,
                    permit,
                } = *post;
                self.post(client, text, nonce, mentions, permit);
            }
            Command::PostAs(post) => self.post_as(*post),
            Command::Leave { client } => self.leave(client),
            Command::Typing { client } => self.typing(client),
            Command::Rename(rename) => {
                let (user, display_name) = *rename;
                self.rename(user, &display_name);
            }
            Command::Online(reply) => {
                let people = self.members.people();
                let _ = reply.send(people.iter().map(|person| person.user_id).collect());
            }
            Command::Moderate(moderate) => {
                let ModerateCommand { change, applied } = *moderate;
                self.moderate(change);
                let _ = applied.send(());
            }
        }
    }

    /// A join: refused at once, or admitted (in cluster mode, once it is
    /// registered in the broker).
    fn join(&mut self, join: Box<JoinCommand>) {
        if self.members.get(join.client.id()).is_some() {
            let refusal =
                RequestError::new(ErrorCode::AlreadyJoined, "you are already in this room")
                    .about(&self.name, None);
            let _ = join.accepted.send(Err(refusal));
            return;
        }
        match &mut self.link {
            Some(link) => link.claim(&self.name, join),
            None => self.admit(*join),
        }
    }

    /// Adds a member whose join was accepted and answers it. A joiner that
    /// stopped waiting for the answer (its connection closed) is not kept.
    fn admit(&mut self, join: JoinCommand) {
        let JoinCommand {
            client,
            since,
            grant,
            accepted,
        } = join;
        let id = client.id();
        self.rules.admit(client.user_id(), grant);
        self.add_member(client, since);
        if accepted.send(Ok(())).is_err() {
            self.members.remove(&[id]);
        }
    }

    fn add_member(&mut self, client: ClientHandle, since: Option<MessageId>) {
        // History ends at the last broadcast message; anything after it
        // reaches the new member through its backlog.
        let (after, limit) = match since {
            Some(since) => (Some(since), SINCE_HISTORY_LIMIT),
            None => (None, JOIN_HISTORY_LIMIT),
        };
        if let Some(page) = self.recent.history(after, limit) {
            // Answered from memory, at once. The others hear of the joiner
            // first (in a small room), so its member list includes itself
            // and no presence frame about itself follows.
            let id = client.id();
            self.members.add_loading(client, self.last_broadcast);
            if presence_delay(self.members.len()).is_zero() {
                self.members.flush_presence();
            }
            self.on_history(id, Ok(page));
            return;
        }
        let query = HistoryQuery {
            after,
            before: Some(self.last_broadcast + 1),
            limit,
        };
        let history: StoreFuture<HistoryPage> = self.store.history(&self.name, query);
        let id = client.id();
        self.pending_history
            .push(Box::pin(async move { (id, history.await) }));
        self.members.add_loading(client, self.last_broadcast);
    }

    fn on_history(&mut self, client: ClientId, result: Result<HistoryPage, StoreError>) {
        let Some(member) = self.members.get(client) else {
            return; // It left while its history loaded.
        };
        match result {
            Ok(page) => {
                // The member list the live members were last told of (and
                // the joiner): the next presence delta continues from it.
                let joined = ServerFrame::Joined {
                    room: self.name.clone(),
                    you: Person::clone(&member.person),
                    members: self.members.announced_with(&member.person),
                    history: page.messages,
                    has_older: page.has_older,
                };
                self.members.finish_loading(client, &joined);
            }
            Err(err) => {
                tracing::error!(room = %self.name, error = %err, "cannot read history for a join");
                let error = RequestError::new(
                    ErrorCode::Unavailable,
                    "the room's history could not be read; join again",
                )
                .about(&self.name, None);
                member.client.deliver(encode(&error.into()));
                self.members.remove(&[client]);
            }
        }
    }

    /// A post's outcome: the one place where a stored message enters the
    /// room's order. Outcomes come in the order of the posts (and so of
    /// their ids), and a committed message is queued for broadcast before
    /// any command that follows is handled.
    fn on_written(&mut self, written: Written) {
        let Written {
            author,
            nonce,
            nonce_key,
            started,
            result,
            reply,
        } = written;
        if let Some(reply) = reply {
            let answer = match &result {
                Ok(posted) => Ok(posted.clone()),
                Err(_) => Err(RequestError::new(
                    ErrorCode::Unavailable,
                    "the message could not be stored; send it again",
                )
                .about(&self.name, nonce.as_ref())),
            };
            let _ = reply.send(answer);
        }
        match result {
            Ok(Posted::New(message)) => {
                self.metrics.message_stored(started.elapsed());
                if let Some(key) = &nonce_key {
                    // Those who repeated it are members: the broadcast
                    // below answers them.
                    self.nonces.stored(key, message.id);
                }
                match &mut self.link {
                    Some(link) => {
                        // Published for the other instances; broadcast here
                        // in id order with what they posted.
                        for message in link.stored(&self.name, message) {
                            self.forward(message, None);
                        }
                    }
                    None => self.forward(message, Some(author)),
                }
            }
            Ok(Posted::Repeat(id)) => {
                // Stored before this room knew its nonce: before a restart,
                // or by another instance.
                self.metrics.duplicate_send();
                tracing::debug!(target: TRACER, room = %self.name, client = author, "repeated send");
                let mut repeaters = vec![author];
                if let Some(key) = &nonce_key {
                    repeaters.extend(self.nonces.stored(key, id));
                }
                for client in repeaters {
                    self.answer_repeat(client, id);
                }
            }
            Err(err) => {
                tracing::error!(room = %self.name, error = %err, "message not stored");
                self.metrics.message_failed();
                let mut told = vec![author];
                if let Some(key) = &nonce_key {
                    told.extend(self.nonces.failed(key));
                }
                let error: ServerFrame = RequestError::new(
                    ErrorCode::Unavailable,
                    "the message could not be stored; send it again",
                )
                .about(&self.name, nonce.as_ref())
                .into();
                let frame = encode(&error);
                for client in told {
                    if let Some(member) = self.members.get(client) {
                        member.client.deliver(frame.clone());
                    }
                }
            }
        }
    }

    /// Broadcasts a committed message, now or with the next batch (see
    /// [`pacing`]). `author` is its author's connection, when on this
    /// instance.
    fn forward(&mut self, message: ChatMessage, author: Option<ClientId>) {
        tracing::debug!(
            target: TRACER,
            room = %self.name,
            id = message.id,
            client = author,
            recipients = self.members.len(),
            "forward"
        );
        self.last_known = self.last_known.max(message.id);
        self.held.push(message);
        if self.pacer.send_now(tokio::time::Instant::now()) {
            self.send_held();
        }
    }

    /// Sends the committed messages held so far to every member, all in
    /// one queued item per member.
    fn send_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let frames: Vec<OutgoingFrame> = self
            .held
            .drain(..)
            .map(|message| {
                self.last_broadcast = message.id;
                let frame = encode(&ServerFrame::Message(message.clone()));
                self.recent.push(message);
                frame
            })
            .collect();
        let deliveries = self.members.len() * frames.len();
        let batch = match <[OutgoingFrame; 1]>::try_from(frames) {
            Ok([frame]) => frame,
            Err(frames) => OutgoingFrame::concat(&frames),
        };
        self.members.fan_out(&batch, Audience::Everyone);
        self.metrics.delivered(deliveries);
        self.pacer
            .sent(tokio::time::Instant::now(), deliveries as u64);
    }

    fn leave(&mut self, client: ClientId) {
        if self.members.get(client).is_some() {
            self.members.remove(&[client]);
        }
    }

    fn typing(&mut self, client: ClientId) {
        let Some(member) = self.members.get(client) else {
            return;
        };
        let frame = encode(&ServerFrame::Typing {
            room: self.name.clone(),
            user_id: member.person.user_id,
            name: member.person.display_name.clone(),
        });
        self.members.fan_out(&frame, Audience::LiveExcept(client));
    }

    /// `user` changed their display name: their members here show it, the
    /// others are told with the next presence delta, and in cluster mode
    /// the broker (and so the other instances) learns it as the room
    /// registers its members again.
    fn rename(&mut self, user: UserId, display_name: &DisplayName) {
        if self.members.rename(user, display_name) {
            self.resync_members();
        }
    }

    /// Applies a change of who may post or be here; a person no longer a
    /// member leaves with every connection they have here.
    fn moderate(&mut self, change: Moderation) {
        self.rules.apply(&change);
        let stays: &dyn Fn(UserId) -> bool = match &change {
            Moderation::Remove { user } => &|member| member != *user,
            Moderation::Resync(members) => &|member| members.contains_key(&member),
            Moderation::Changed { frame, .. } => {
                self.members.fan_out(&encode(frame), Audience::Everyone);
                return;
            }
            Moderation::Mute { .. } => return,
        };
        let leaving: Vec<ClientId> = self
            .members
            .local()
            .filter(|member| !stays(member.person.user_id))
            .map(|member| member.client.id())
            .collect();
        if !leaving.is_empty() {
            tracing::debug!(target: TRACER, room = %self.name, people = leaving.len(), "no longer members: removed from the room");
            self.members.remove(&leaving);
        }
    }

    fn is_idle(&self) -> bool {
        self.link.as_ref().is_none_or(ClusterLink::is_idle)
            && self.held.is_empty()
            && self.members.is_empty()
            && self.pending_writes.is_empty()
            && self.pending_history.is_empty()
            && self.pending_repeats.is_empty()
    }

    /// Leaves the registry if no command is waiting, so that an empty room
    /// costs nothing. Returns false (and the room goes on) otherwise.
    fn try_retire(&self, inbox: &mut mpsc::Receiver<Command>) -> bool {
        {
            let mut rooms = lock_registry(&self.registry);
            // Checked under the registry lock, which every sender takes to
            // get a handle: once unregistered, no one can find this room.
            if !inbox.is_empty() {
                return false;
            }
            self.unregister(&mut rooms);
        }
        self.close_inbox(inbox);
        true
    }

    /// Retires the room whatever its state (used when it cannot start).
    fn retire(&self, inbox: &mut mpsc::Receiver<Command>) {
        self.unregister(&mut lock_registry(&self.registry));
        self.close_inbox(inbox);
    }

    fn unregister(&self, rooms: &mut HashMap<RoomName, RoomEntry>) {
        let is_this_room = |entry: &RoomEntry| Arc::ptr_eq(&entry.member_count, &self.member_count);
        if rooms.get(&self.name).is_some_and(is_this_room) {
            rooms.remove(&self.name);
        }
    }

    /// Closes the inbox and drops what raced into it: a join's dropped
    /// answer tells its sender the room is gone, so it asks the hub again
    /// and gets a fresh room; other commands come only from members, and
    /// there are none.
    fn close_inbox(&self, inbox: &mut mpsc::Receiver<Command>) {
        if let Some(link) = &self.link {
            link.unsubscribe(&self.name);
        }
        inbox.close();
        while inbox.try_recv().is_ok() {}
    }
}

/// The next event of the room's link to the cluster (never without one).
async fn next_link_event(link: &mut Option<ClusterLink>) -> LinkEvent {
    match link {
        Some(link) => link.next().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `due` (never when there is none; the branch is disabled then).
async fn sleep_until_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Who a nonce is remembered for: the author's account, or for an author
/// without one (a message from before accounts) the name's uniqueness key.
/// An account's key starts with a character no name may hold, so the two
/// kinds never meet.
fn author_key(user: Option<UserId>, name: &DisplayName) -> String {
    match user {
        Some(user) => format!("\u{1}{user}"),
        None => name.uniqueness_key(),
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The answer to a request about `room` from a client the room removed
/// (or that retired with the client removed): a slow consumer, or in
/// cluster mode a member the broker lost while its server was cut off.
pub fn no_longer_in(room: &RoomName) -> RequestError {
    RequestError::new(
        ErrorCode::NotJoined,
        "you are no longer in this room; join it again",
    )
    .about(room, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::MessageText;

    /// Message `id` of the lobby, by Ann: what the room's unit tests pass
    /// around.
    pub(super) fn message(id: MessageId) -> ChatMessage {
        ChatMessage {
            room: RoomName::parse("lobby").expect("valid"),
            id,
            name: DisplayName::parse("Ann").expect("valid"),
            user_id: Some(1),
            username: Some(common::Username::parse("ann").expect("valid")),
            text: MessageText::parse(format!("message {id}")).expect("valid"),
            ts: id,
            nonce: None,
        }
    }

    #[test]
    fn presence_waits_longer_in_larger_rooms_up_to_a_limit() {
        assert_eq!(presence_delay(0), Duration::ZERO);
        assert_eq!(presence_delay(999), Duration::ZERO);
        assert_eq!(presence_delay(1_000), PRESENCE_DELAY_PER_THOUSAND);
        assert_eq!(presence_delay(1_001), PRESENCE_DELAY_PER_THOUSAND * 2);
        assert_eq!(presence_delay(5_000), PRESENCE_DELAY_PER_THOUSAND * 5);
        assert_eq!(presence_delay(19_000), PRESENCE_DELAY_PER_THOUSAND * 19);
        assert_eq!(presence_delay(25_000), PRESENCE_MAX_DELAY);
    }
}
