//! The server's side of RFC 6455 over a plain TCP stream: the opening
//! handshake, the client frames it reads and the frames it writes.
//!
//! Why not tungstenite here: chat is fan-out. A room encodes each message
//! once as a complete WebSocket frame ([`OutgoingFrame`], shared bytes) and
//! every member's writer puts those very bytes on its socket, many frames
//! per system call; no per-member framing, copying into a per-socket write
//! buffer, or lock between the halves of a split socket. Reading owns
//! nothing while the client is silent: a connection holds a read buffer
//! only while a frame is arriving. The benchmark (`docs/BENCHMARKS.md`)
//! measures what this is for. The tests talk to this code with
//! tokio-tungstenite, Chromium and the load generator's own client.
//!
//! Not supported, and never negotiated: extensions (permessage-deflate) and
//! subprotocols.
//!
//! - [`handshake`]: the upgrade request, the `101` answer, the TCP stream.
//! - [`decode`]: client frames to messages, with the size limit.
//! - [`frame`]: the frames the server sends.

pub mod decode;
pub mod frame;
pub mod handshake;

pub use decode::{DecodeError, Incoming, MessageDecoder};
pub use frame::OutgoingFrame;
pub use handshake::{NotWebSocket, UpgradeError, UpgradeRequest};
