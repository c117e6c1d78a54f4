//! The Lua scripts the broker runs. Redis runs a script alone, start to
//! end, so each is one atomic step of the whole cluster: no lock, no
//! consensus of our own.

use redis::Script;
use std::sync::LazyLock;

/// Posts one message to a room, or finds the one its nonce already made.
///
/// In one atomic step: forgets nonces older than the de-duplication
/// window (a bounded number per call); if the author's nonce is known,
/// returns `{0, original id}`; otherwise takes the room's next id, keeps
/// the room's timestamps from going backwards, appends the message to the
/// room's log (a stream whose entry ids are the message ids), remembers
/// the nonce, marks the room active, and publishes the message on the
/// room's channel, then returns `{1, id, ts}`.
///
/// Because scripts run one at a time, the ids of a room increase by one
/// with each message and every instance receives the publications in id
/// order: the one order everybody sees.
///
/// KEYS: meta (hash: seq, ts), log (stream), nonces (hash: key → id),
/// nonce times (sorted set: key by ts), rooms (sorted set: room by ts).
/// ARGV: room, name, name's uniqueness key, text, nonce ('' for none),
/// now (ms), de-duplication window (ms), channel, most nonces to forget.
pub(super) static POST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local nonce = ARGV[5]
local field = false
if nonce ~= '' then
  field = ARGV[3] .. '\n' .. nonce
  local cutoff = tonumber(ARGV[6]) - tonumber(ARGV[7])
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[9]))
  if #expired > 0 then
    redis.call('HDEL', KEYS[3], unpack(expired))
    redis.call('ZREM', KEYS[4], unpack(expired))
  end
  local seen = redis.call('HGET', KEYS[3], field)
  if seen then
    return {0, tonumber(seen)}
  end
end
local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local ts = tonumber(ARGV[6])
local last_ts = tonumber(redis.call('HGET', KEYS[1], 'ts') or '0')
if last_ts > ts then ts = last_ts end
redis.call('HSET', KEYS[1], 'ts', ts)
local entry = {'name', ARGV[2], 'text', ARGV[4], 'ts', ts}
local event = {id = id, ts = ts, name = ARGV[2], text = ARGV[4]}
if field then
  table.insert(entry, 'nonce')
  table.insert(entry, nonce)
  event.nonce = nonce
  redis.call('HSET', KEYS[3], field, id)
  redis.call('ZADD', KEYS[4], ts, field)
end
redis.call('XADD', KEYS[2], id .. '-0', unpack(entry))
redis.call('ZADD', KEYS[5], ts, ARGV[1])
redis.call('PUBLISH', ARGV[8], cjson.encode({message = event}))
return {1, id, ts}
",
    )
});

/// The rooms most recently posted to, newest first, each with its last
/// id: `{room, last id, room, last id, …}`.
///
/// KEYS: rooms (sorted set). ARGV: how many, the prefix of meta keys.
pub(super) static RECENT_ROOMS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local rooms = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, room in ipairs(rooms) do
  table.insert(out, room)
  table.insert(out, tonumber(redis.call('HGET', ARGV[2] .. room .. '}:meta', 'seq') or '0'))
end
return out
",
    )
});
