//! What the page asks of the server about the rooms a person belongs to,
//! besides the WebSocket: marking a room read, and leaving one for good.

use super::Client;
use common::{MessageId, RoomName};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// The least time between two read marks sent to the server, in
/// milliseconds (see [`Client::mark_read`]).
pub const READ_MARK_GAP_MS: u32 = 500;

thread_local! {
    /// The newest read mark of each room not sent yet.
    static MARKS: RefCell<BTreeMap<RoomName, MessageId>> = const { RefCell::new(BTreeMap::new()) };
    /// Whether marks are being sent.
    static MARKING: Cell<bool> = const { Cell::new(false) };
}

impl Client {
    /// The room shown is on screen: marks what it shows read, here at once
    /// and on the server, which tells the person's other tabs and devices.
    /// Nothing is sent when nothing new is shown, and at most one mark is
    /// on its way at a time, the next one [`READ_MARK_GAP_MS`] after it
    /// with the newest id by then: a busy room costs one request per gap,
    /// not one per message. A mark that fails is not tried again: the next
    /// one covers it.
    pub fn mark_read(&self, room: &RoomName) {
        // Most calls find nothing to mark: only a mark wakes the page.
        let Some(up_to) = self
            .chat
            .try_update_untracked(|chat| chat.read_mark(room))
            .flatten()
        else {
            return;
        };
        self.chat.notify();
        MARKS.with_borrow_mut(|marks| marks.insert(room.clone(), up_to));
        if MARKING.replace(true) {
            return;
        }
        let client = *self;
        leptos::task::spawn_local(async move {
            while let Some((room, up_to)) = MARKS.with_borrow_mut(BTreeMap::pop_first) {
                if let Err(error) = crate::api::mark_read(&room, up_to).await {
                    if error.is_signed_out() {
                        client.session_ended();
                    }
                }
                super::sleep(READ_MARK_GAP_MS).await;
            }
            MARKING.set(false);
        });
    }

    /// Leaves a room for good, on every device: once the server agrees,
    /// the page stops following it (the server tells the person's other
    /// connections). Any other refusal is shown in the room, in the
    /// server's words.
    pub fn leave(&self, room: RoomName) {
        let client = *self;
        leptos::task::spawn_local(async move {
            match crate::api::leave_room(&room).await {
                Ok(()) => client.act(|chat| chat.leave_room(&room)),
                // Not a member (any more): the page forgets it all the same.
                Err(error) if error.code() == common::ErrorCode::NotMember => {
                    client.act(|chat| chat.leave_room(&room));
                }
                // Some members may not leave (a room's owner archives it
                // instead, so that it keeps someone who may moderate it; a
                // direct conversation's people are fixed): this page stops
                // showing it all the same, as Leave did before the server
                // kept memberships, and says where it stands.
                Err(error) if error.code() == common::ErrorCode::Forbidden => {
                    client.act(|chat| chat.leave_room(&room));
                    client.chat.update(|chat| {
                        chat.set_notice(format!(
                            "you stay a member of #{room} ({}); this page no longer shows it",
                            error.error.message
                        ));
                    });
                }
                Err(error) if error.is_signed_out() => client.session_ended(),
                Err(error) => client.chat.update(|chat| {
                    chat.room_notice(&room, crate::account_forms::explain(&error));
                }),
            }
        });
    }
}

/// Whether the page is hidden (another tab shown, the window minimized):
/// what comes in then is not read.
pub fn page_hidden() -> bool {
    document().hidden()
}
