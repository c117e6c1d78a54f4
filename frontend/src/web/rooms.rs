//! What the page asks of the server about the rooms a person belongs to,
//! besides the WebSocket: marking a room read, and leaving one for good.

use super::Client;
use common::RoomName;
use leptos::prelude::*;

impl Client {
    /// The room shown is on screen: marks what it shows read, here at once
    /// and on the server, which tells the person's other tabs and devices.
    /// Nothing is sent when nothing new is shown. A mark that fails is
    /// not tried again: the next message shown marks everything up to it.
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
        let client = *self;
        let room = room.clone();
        leptos::task::spawn_local(async move {
            if let Err(error) = crate::api::mark_read(&room, up_to).await {
                if error.is_signed_out() {
                    client.session_ended();
                }
            }
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
                // Its owner may not leave a room (they archive it, so that
                // it keeps someone who may moderate it): this page stops
                // showing it all the same, as Leave did before the server
                // kept memberships, and says where it stands.
                Err(error) if error.code() == common::ErrorCode::Forbidden => {
                    client.act(|chat| chat.leave_room(&room));
                    client.chat.update(|chat| {
                        chat.set_notice(format!(
                            "you own #{room}, so you stay its member ({}); this page no longer \
                             shows it",
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
