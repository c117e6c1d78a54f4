//! What a room does in cluster mode only: registering joiners in the
//! broker, and what the bus brings (messages in id
//! order, presence of other instances, the broker's loss and return). The
//! room's state and its single-node behaviour are in `room` itself; the
//! link to the broker is `cluster_link`.

use super::cluster_link::{ClusterLink, Retry};
use super::handle::JoinCommand;
use super::Room;
use crate::cluster::{Claim, Resync, RoomEvent};
use crate::hub::members::{encode, Audience};
use crate::store::StoreError;
use common::{ChatMessage, ErrorCode, Person, RequestError, ServerFrame};

impl Room {
    /// Registering a joiner in the broker ended (cluster mode). Each
    /// connection has an entry of its own there, so a registration is
    /// never refused; only an unreachable broker fails it.
    pub(super) fn on_claimed(&mut self, join: JoinCommand, claimed: Result<bool, StoreError>) {
        match claimed {
            Ok(_) => self.admit(join),
            Err(err) => {
                tracing::warn!(room = %self.name, error = %err, "cannot register a joiner in the cluster");
                let error = RequestError::new(
                    ErrorCode::Unavailable,
                    "the server cannot reach the cluster; join again",
                )
                .about(&self.name, None);
                let _ = join.accepted.send(Err(error));
            }
        }
    }

    /// Something the bus brought (cluster mode).
    pub(super) fn on_room_event(&mut self, event: RoomEvent) {
        let Some(link) = &mut self.link else {
            return;
        };
        match event {
            RoomEvent::Message(message) => {
                for message in link.arrived(&self.name, message) {
                    self.forward(message, None);
                }
            }
            RoomEvent::BrokerLost => {
                self.send_held();
                let error: ServerFrame = RequestError::new(
                    ErrorCode::Unavailable,
                    "the server lost its connection to the cluster; messages wait until it is back",
                )
                .about(&self.name, None)
                .into();
                self.members.fan_out(&encode(&error), Audience::Live);
            }
            RoomEvent::BrokerBack => self.on_retry(Retry {
                catch_up: true,
                resync: true,
            }),
            RoomEvent::MembersJoined(_) | RoomEvent::MembersLeft(_) => {
                link.note_presence(&event);
                self.on_remote_presence(event);
            }
        }
    }

    /// Reads missed messages, or registers the members again, or both
    /// (cluster mode): the broker came back, or an attempt failed.
    pub(super) fn on_retry(&mut self, retry: Retry) {
        let Some(link) = &mut self.link else {
            return;
        };
        if retry.catch_up {
            link.catch_up(&self.name);
        }
        if retry.resync {
            self.resync_members();
        }
    }

    /// Registers the room's local members in the broker again, as they are
    /// now (cluster mode; nothing otherwise).
    pub(super) fn resync_members(&mut self) {
        let Some(link) = &mut self.link else {
            return;
        };
        let local = self
            .members
            .local()
            .map(|member| Claim {
                holder: member.client.id(),
                person: Person::clone(&member.person),
            })
            .collect();
        link.resync(&self.name, local);
    }

    /// Members of another instance joined or left (cluster mode); changes
    /// this instance made itself are known already.
    pub(super) fn on_remote_presence(&mut self, event: RoomEvent) {
        let own = self.link.as_ref().map(ClusterLink::instance);
        match event {
            RoomEvent::MembersJoined(change) if Some(change.instance) != own => {
                let members = change
                    .members
                    .into_iter()
                    .map(|tag| (tag.holder, tag.person))
                    .collect();
                self.members.remote_joined(change.instance, members);
            }
            RoomEvent::MembersLeft(change) if Some(change.instance) != own => {
                let holders: Vec<_> = change.members.iter().map(|tag| tag.holder).collect();
                self.members.remote_left(change.instance, &holders);
            }
            _ => {}
        }
    }

    /// Registering the members again ended (cluster mode): members the
    /// broker refused (none, as each connection has its own entry; kept
    /// for safety) are told and removed, and the members of other
    /// instances are as read, with the changes since applied again.
    pub(super) fn on_resynced(
        &mut self,
        result: Result<Resync, StoreError>,
        noted: Vec<RoomEvent>,
    ) {
        let resync = match result {
            Ok(resync) => resync,
            Err(err) => {
                tracing::warn!(room = %self.name, error = %err, "cannot register the room's members with the cluster again; trying again");
                if let Some(link) = &mut self.link {
                    link.retry_later(Retry {
                        catch_up: false,
                        resync: true,
                    });
                }
                return;
            }
        };
        for holder in &resync.refused {
            let Some(member) = self.members.get(*holder) else {
                continue;
            };
            let error = RequestError::new(
                ErrorCode::NotJoined,
                "the cluster could not take you back into this room; join it again",
            )
            .about(&self.name, None);
            member.client.deliver(encode(&error.into()));
        }
        self.members.remove(&resync.refused);
        self.members.replace_remote(resync.remote);
        for event in noted {
            self.on_remote_presence(event);
        }
    }

    /// A read of the log for missed messages ended (cluster mode).
    pub(super) fn on_caught_up(&mut self, read: Result<Vec<ChatMessage>, StoreError>) {
        let Some(link) = &mut self.link else {
            return;
        };
        match read {
            Ok(read) => {
                for message in link.caught_up(&self.name, read) {
                    self.forward(message, None);
                }
            }
            Err(err) => {
                tracing::warn!(room = %self.name, error = %err, "cannot read missed messages; trying again");
                link.retry_later(Retry {
                    catch_up: true,
                    resync: false,
                });
            }
        }
    }
}
